#!/usr/bin/env -S node --max-semi-space-size=2
/**
 * Entry point: options from flags and environment, a local Jupyter Server when no gateway is
 * given, the sidecar in front of it, and a clean stop on SIGTERM/SIGINT.
 *
 * `--max-semi-space-size=2` (MB, in the shebang; pass it to node yourself when starting this file
 * another way): under sustained allocation, such as a 1 GiB download, V8 grows its young
 * generation to 2 x 16 MB and keeps it. Capped, a 1 GiB download peaks at ~85 MB RSS instead of
 * ~110 MB, with no loss of throughput measured (BENCHMARKS.md). It cannot be set at run time.
 */
import path from 'node:path';
import { startLocalJupyter, type LocalJupyter } from './local-jupyter.ts';
import { describeError } from './logger.ts';
import { SidecarError } from './errors.ts';
import { gatewayGiven, helpText, OptionsError, parseFlags, resolveOptions, type SidecarOptions } from './options.ts';
import { createSidecar } from './sidecar.ts';
import { createStructuredLogger, defaultLogFormat, type StructuredLogger } from './structured-logger.ts';
import { MCP_PATH } from './mcp/mcp-path.ts';
import { tokenCommand } from './token-command.ts';
import { embedSnippet } from './embed-snippet.ts';
import { API_PREFIX, WIDGET_PATH } from '../contract/files-api.ts';
import { migrateStore } from './storage/migrate-store.ts';
import { DatabaseStartError } from './storage/store-errors.ts';

/** `migrate-store --from-data-dir DIR --database-url URL` (or DATABASE_URL): lowdb install → PostgreSQL. */
async function migrateStoreCommand(argv: readonly string[]): Promise<void> {
  const flags = parseFlags(argv);
  const from = flags['from-data-dir'];
  const url = flags['database-url'] ?? process.env.DATABASE_URL;
  if (!from || !url) {
    throw new OptionsError(
      'ERR_OPTIONS_MIGRATE_STORE',
      'Usage: generated-files-sidecar migrate-store --from-data-dir DIR --database-url postgres://… (or DATABASE_URL)',
    );
  }
  const counts = await migrateStore(path.resolve(from), url, console);
  console.info(
    `[migrate-store] ${counts.chats} chats: ${counts.records} records copied (${counts.recordsAlreadyThere} already there), ${counts.owners} owners, ${counts.skippedLists} skipped lists, ${counts.outbox} webhook deliveries owed, ${counts.linkRevocations} link revocations, ${counts.kernels} kernels`,
  );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'migrate-store') return migrateStoreCommand(argv.slice(1));
  if (argv[0] === 'token') return void console.log(await tokenCommand(argv.slice(1), process.env));
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText());
    return;
  }
  const flags = parseFlags(argv);

  let jupyter: LocalJupyter | undefined;
  let options;
  let logger: StructuredLogger;
  const loggerFor = (o: SidecarOptions) =>
    createStructuredLogger({
      format: o.logFormat ?? defaultLogFormat(),
      level: o.logLevel,
      chatIds: o.logChatIds,
    });
  if (gatewayGiven(flags, process.env)) {
    options = resolveOptions(flags, process.env);
    logger = loggerFor(options);
  } else {
    // No gateway: start Debian's Jupyter Server serving the workspace root, on loopback.
    const draft = resolveOptions(flags, process.env, new URL('http://127.0.0.1/'));
    logger = loggerFor(draft);
    logger.info('[sidecar] no --gateway-url: starting a local Jupyter Server…');
    jupyter = await startLocalJupyter({
      rootDir: draft.workspaceRoot,
      token: process.env.JUPYTER_TOKEN,
      log: 'inherit',
    });
    options = resolveOptions(flags, process.env, new URL(jupyter.url));
    options.gatewayRootDir = draft.workspaceRoot;
    // The MCP server's own kernels need the local server's token, which only this process knows.
    options.mcp.gatewayToken ??= jupyter.token;
  }

  if (!options.filesSecret) {
    const exposed = !['127.0.0.1', 'localhost', '::1'].includes(options.host);
    logger.warn(
      `[sidecar] WARNING: FILES_API_SECRET is not set: the files API (${API_PREFIX}) is open to anyone who can reach ${options.host}:${options.port}.` +
        (exposed
          ? ' It is NOT bound to loopback: set FILES_API_SECRET before exposing it.'
          : ' It is bound to loopback only.'),
    );
  }

  if (!options.publicUrl && options.announceFiles !== 'off') {
    logger.info(
      "[sidecar] no --public-url: links in file cards use the Host each client connected with; set --public-url to the address users' browsers reach.",
    );
  }

  const sidecar = await createSidecar(options, {
    logger,
    demoConfig: () => ({ token: jupyter?.token ?? null, apiPrefix: API_PREFIX, widget: WIDGET_PATH }),
  });
  let url: string;
  try {
    url = await sidecar.listen();
  } catch (error) {
    // Nothing of ours may outlive a failed start: the Jupyter Server we started goes too.
    await sidecar.close().catch(() => {});
    await jupyter?.stop();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new SidecarError(
        'ERR_PORT_TAKEN',
        `Port ${options.port} on ${options.host} is taken (another sidecar, or another program). Pick another with --port 8891 (or SIDECAR_PORT=8891), or --port 0 for any free one.`,
      );
    }
    throw error;
  }
  logger.info(
    `[sidecar] gateway ${options.gatewayUrl.origin}${options.gatewayUrl.pathname} (workspaces in ${path.relative(process.cwd(), options.workspaceRoot) || '.'})`,
  );
  logger.info(`[sidecar] listening on ${url} — point your chat app's Jupyter URL here (or at ${url}chats/{chatId}/)`);
  logger.info(`[sidecar] widget: ${new URL(WIDGET_PATH, url)}`);
  if (options.demo) logger.info(`[sidecar] demo: ${new URL('/sidecar/demo/', url)}`);
  logger.info(embedSnippet(url, options));
  if (options.mcp.enabled) {
    const auth = options.mcp.apiKey
      ? 'MCP_API_KEY'
      : options.filesSecret
        ? 'files-API tokens'
        : 'none: loopback callers only (set MCP_API_KEY)';
    logger.info(`[sidecar] MCP: ${new URL(MCP_PATH, url)} (auth: ${auth})`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(
      `[sidecar] ${signal}: no new connections; executions in flight get ${options.shutdownGraceMs} ms to finish`,
    );
    // A last resort, past the grace period and what closing takes (a webhook delivery in progress).
    const force = setTimeout(() => {
      logger.error('[sidecar] shutdown did not finish in time: exiting');
      process.exit(1);
    }, options.shutdownGraceMs + 15_000);
    force.unref();
    let code = 0;
    await sidecar.close({ graceMs: options.shutdownGraceMs }).catch((e) => {
      logger.error(`[sidecar] ${describeError(e)}`);
      code = 1;
    });
    await jupyter?.stop();
    logger.info(`[sidecar] stopped`);
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  jupyter?.process.once('exit', (code) => {
    if (!stopping)
      logger.error(`[sidecar] the local Jupyter Server exited (${code}); the sidecar answers 502 until it is back.`);
  });
}

main().catch((error) => {
  if (error instanceof OptionsError) {
    console.error(`[sidecar] ${error.code}: ${error.message}`);
    process.exit(2);
  }
  if (error instanceof DatabaseStartError || (error instanceof SidecarError && error.code === 'ERR_PORT_TAKEN')) {
    // One line that names the problem; the message never holds the password.
    console.error(`[sidecar] ${error.code}: ${error.message}`);
    process.exit(1);
  }
  console.error(`[sidecar] failed to start: ${describeError(error)}`);
  process.exit(1);
});
