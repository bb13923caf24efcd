import path from 'node:path';
import { isValidChatId } from './chats/chat-id.ts';

/** A configuration mistake, found once at start, with the fix in its message. */
export class OptionsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a kernel created with no chat id gets. */
export type AnonymousChatPolicy = { kind: 'per-kernel' } | { kind: 'reject' } | { kind: 'fixed'; chatId: string };

export interface SidecarOptions {
  /** The gateway (Jupyter Server, Kernel Gateway, Enterprise Gateway). Its path is its base_url. */
  gatewayUrl: URL;
  host: string;
  port: number;
  /** Workspace root as the sidecar sees it. */
  workspaceRoot: string;
  /** Workspace root as the kernel sees it (differs when the kernel runs in a container). */
  kernelWorkspaceRoot: string;
  /** Jupyter Server's root_dir as the kernel sees it: `path` in the kernel body is relative to it. */
  gatewayRootDir: string;
  /** Where records, blobs and the kernel-to-chat memory live. */
  dataDir: string;
  anonymousChat: AnonymousChatPolicy;
  /** HS256 secret for files-API tokens; null leaves the API open (bind to loopback!). */
  filesSecret: string | null;
  corsOrigins: string[];
  /** File extensions to track (lower case, no dot), or ['*']. */
  trackExtensions: string[] | null;
  maxFileBytes: number | null;
  chatQuotaBytes: number | null;
  uploadMaxBytes: number | null;
  /** Workspace files untouched this many days are deleted (their records and copies stay); null: never. */
  workspaceMaxAgeDays: number | null;
  /** Watch local workspaces with inotify so a scan stats only touched paths (full walks stay the fallback). */
  watchWorkspaces: boolean;
  /** A watched workspace is still walked whole at least this often. */
  workspaceAuditMs: number;
  executionTimeoutMs: number;
  recordWaitMs: number;
  gatewayTimeoutMs: number;
  /** Serve the demo page at /sidecar/demo/. */
  demo: boolean;
}

export type OptionSource = Record<string, string | undefined>;

interface Spec {
  flag: string;
  env: string;
  help: string;
}

/** Every option, its flag and its environment variable: the configuration reference in one place. */
export const OPTION_SPECS: Record<string, Spec> = {
  gatewayUrl: { flag: 'gateway-url', env: 'GATEWAY_URL', help: 'Gateway to put the sidecar in front of. Without it a local Jupyter Server is started.' },
  host: { flag: 'host', env: 'SIDECAR_HOST', help: 'Address to listen on (default 127.0.0.1).' },
  port: { flag: 'port', env: 'SIDECAR_PORT', help: 'Port to listen on (default 8890; 0 picks a free port, printed at start).' },
  workspaceRoot: { flag: 'workspace-root', env: 'WORKSPACE_ROOT', help: 'Folder holding one workspace per chat, as the sidecar sees it (default ./data/workspaces).' },
  kernelWorkspaceRoot: { flag: 'kernel-workspace-root', env: 'KERNEL_WORKSPACE_ROOT', help: 'The same folder as the kernel sees it (default: the same path).' },
  gatewayRootDir: { flag: 'gateway-root-dir', env: 'GATEWAY_ROOT_DIR', help: "Jupyter Server's root_dir as the kernel sees it (default: the kernel workspace root)." },
  dataDir: { flag: 'data-dir', env: 'DATA_DIR', help: 'Records, file copies and kernel memory (default ./data/store).' },
  anonymousChat: { flag: 'anonymous-chat', env: 'ANONYMOUS_CHAT', help: "Kernels created without a chat id: 'per-kernel' (default: a workspace of their own), 'reject', or a fixed chat id." },
  filesSecret: { flag: '', env: 'FILES_API_SECRET', help: 'HS256 secret for files-API tokens (environment only). Unset: the files API is open.' },
  corsOrigins: { flag: 'cors-origins', env: 'CORS_ORIGINS', help: 'Comma-separated origins allowed to call the files API (or *).' },
  trackExtensions: { flag: 'track-extensions', env: 'TRACK_EXTENSIONS', help: 'Comma-separated extensions to track, or * for all (default: office, data, document and image formats).' },
  maxFileBytes: { flag: 'max-file-mb', env: 'MAX_FILE_MB', help: 'Files larger than this are reported, not kept (default 512).' },
  chatQuotaBytes: { flag: 'chat-quota-mb', env: 'CHAT_QUOTA_MB', help: 'Bytes kept per chat before new files are reported, not kept (default 5120).' },
  uploadMaxBytes: { flag: 'upload-max-mb', env: 'UPLOAD_MAX_MB', help: 'Largest upload (default 100).' },
  workspaceMaxAgeDays: { flag: 'workspace-max-age-days', env: 'WORKSPACE_MAX_AGE_DAYS', help: 'Delete workspace files untouched this many days; recorded copies stay downloadable (default: never).' },
  watchWorkspaces: { flag: 'watch-workspaces', env: 'WATCH_WORKSPACES', help: 'Watch workspaces on local file systems (inotify) so a scan looks only at touched files; network and FUSE file systems are always walked whole (default on; --no-watch-workspaces to walk every time).' },
  workspaceAuditMs: { flag: 'workspace-audit-min', env: 'WORKSPACE_AUDIT_MIN', help: 'A watched workspace is still walked whole at least this often, in minutes (default 10).' },
  executionTimeoutMs: { flag: 'execution-timeout-s', env: 'EXECUTION_TIMEOUT_S', help: 'An execution still running after this long is closed for tracking (default 3600).' },
  recordWaitMs: { flag: 'record-wait-ms', env: 'RECORD_WAIT_MS', help: 'How long the message that ends an execution waits for its files to be recorded (default 10000).' },
  gatewayTimeoutMs: { flag: 'gateway-timeout-s', env: 'GATEWAY_TIMEOUT_S', help: 'A gateway that does not answer in this long gets a 504 (default 60).' },
  demo: { flag: 'demo', env: 'SIDECAR_DEMO', help: 'Serve the demo page at /sidecar/demo/ (default: on with a local Jupyter Server, off otherwise).' },
};

/** Reads `--flag value`, `--flag=value` and `--no-flag`. */
export function parseFlags(argv: readonly string[]): OptionSource {
  const out: OptionSource = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new OptionsError('ERR_OPTIONS_ARGUMENT', `Unexpected argument ${JSON.stringify(arg)}. Options look like --port 8890.`);
    const eq = arg.indexOf('=');
    if (eq !== -1) out[arg.slice(2, eq)] = arg.slice(eq + 1);
    else if (arg.startsWith('--no-')) out[arg.slice(5)] = 'false';
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) out[arg.slice(2)] = argv[++i];
    else out[arg.slice(2)] = 'true';
  }
  return out;
}

function positiveNumber(name: string, raw: string | undefined, scale: number): number | null {
  if (raw === undefined || raw === '') return null;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new OptionsError('ERR_OPTIONS_NUMBER', `${name} must be a positive number, got ${JSON.stringify(raw)}. Example: --${OPTION_SPECS[name]!.flag} 10`);
  }
  return Math.round(value * scale);
}

function bool(raw: string | undefined): boolean | null {
  if (raw === undefined || raw === '') return null;
  return !/^(0|false|no|off)$/i.test(raw);
}

/**
 * Build the options once, from flags over environment over defaults, and verify them.
 * `gatewayUrl` may be left out here when the caller starts a local gateway and passes `localGateway`.
 */
export function resolveOptions(flags: OptionSource, env: OptionSource, localGateway?: URL): SidecarOptions {
  const known = new Set(Object.values(OPTION_SPECS).map((s) => s.flag).filter(Boolean));
  for (const name of Object.keys(flags)) {
    if (!known.has(name)) throw new OptionsError('ERR_OPTIONS_UNKNOWN', `Unknown option --${name}. Run with --help for the list.`);
  }
  const get = (name: keyof typeof OPTION_SPECS): string | undefined => {
    const spec = OPTION_SPECS[name]!;
    return (spec.flag ? flags[spec.flag] : undefined) ?? env[spec.env];
  };

  const rawGateway = get('gatewayUrl');
  let gatewayUrl: URL;
  if (rawGateway) {
    try {
      gatewayUrl = new URL(rawGateway);
    } catch {
      throw new OptionsError('ERR_OPTIONS_GATEWAY_URL', `--gateway-url ${JSON.stringify(rawGateway)} is not a URL. Example: --gateway-url http://127.0.0.1:8888`);
    }
    if (gatewayUrl.protocol !== 'http:' && gatewayUrl.protocol !== 'https:') {
      throw new OptionsError('ERR_OPTIONS_GATEWAY_URL', `--gateway-url must be http(s), got ${gatewayUrl.protocol}`);
    }
  } else if (localGateway) {
    gatewayUrl = localGateway;
  } else {
    throw new OptionsError('ERR_OPTIONS_GATEWAY_MISSING', 'No gateway: pass --gateway-url http://HOST:PORT (or GATEWAY_URL).');
  }
  gatewayUrl.search = '';
  gatewayUrl.hash = '';
  if (!gatewayUrl.pathname.endsWith('/')) gatewayUrl.pathname += '/';

  const rawPort = get('port');
  const port = rawPort === undefined || rawPort === '' ? 8890 : Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new OptionsError('ERR_OPTIONS_NUMBER', `--port must be a whole number from 0 to 65535, got ${JSON.stringify(rawPort)}. Example: --port 8890`);
  }

  const workspaceRoot = path.resolve(get('workspaceRoot') ?? 'data/workspaces');
  const kernelWorkspaceRoot = get('kernelWorkspaceRoot') ?? workspaceRoot;
  if (!path.posix.isAbsolute(kernelWorkspaceRoot)) {
    throw new OptionsError('ERR_OPTIONS_PATH', `--kernel-workspace-root must be absolute as the kernel sees it, got ${JSON.stringify(kernelWorkspaceRoot)}`);
  }
  const gatewayRootDir = get('gatewayRootDir') ?? kernelWorkspaceRoot;

  const rawAnonymous = get('anonymousChat') ?? 'per-kernel';
  let anonymousChat: AnonymousChatPolicy;
  if (rawAnonymous === 'per-kernel' || rawAnonymous === 'reject') anonymousChat = { kind: rawAnonymous };
  else if (isValidChatId(rawAnonymous)) anonymousChat = { kind: 'fixed', chatId: rawAnonymous };
  else throw new OptionsError('ERR_OPTIONS_ANONYMOUS_CHAT', `--anonymous-chat takes per-kernel, reject or a chat id, got ${JSON.stringify(rawAnonymous)}`);

  const secret = env.FILES_API_SECRET || null;
  if (secret && Buffer.byteLength(secret) < 32) {
    throw new OptionsError('ERR_OPTIONS_SECRET_TOO_SHORT', 'FILES_API_SECRET must be at least 32 bytes (HS256 needs a 256-bit key). Example: FILES_API_SECRET=$(openssl rand -hex 32)');
  }
  const list = (raw: string | undefined) => (raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : []);
  const rawExtensions = get('trackExtensions');

  return {
    gatewayUrl,
    host: get('host') ?? '127.0.0.1',
    port,
    workspaceRoot,
    kernelWorkspaceRoot,
    gatewayRootDir,
    dataDir: path.resolve(get('dataDir') ?? 'data/store'),
    anonymousChat,
    filesSecret: secret,
    corsOrigins: list(get('corsOrigins')),
    trackExtensions: rawExtensions ? list(rawExtensions).map((e) => e.replace(/^\./, '').toLowerCase()) : null,
    maxFileBytes: positiveNumber('maxFileBytes', get('maxFileBytes'), 1024 * 1024),
    chatQuotaBytes: positiveNumber('chatQuotaBytes', get('chatQuotaBytes'), 1024 * 1024),
    uploadMaxBytes: positiveNumber('uploadMaxBytes', get('uploadMaxBytes'), 1024 * 1024),
    workspaceMaxAgeDays: positiveNumber('workspaceMaxAgeDays', get('workspaceMaxAgeDays'), 1),
    watchWorkspaces: bool(get('watchWorkspaces')) ?? true,
    workspaceAuditMs: positiveNumber('workspaceAuditMs', get('workspaceAuditMs'), 60_000) ?? 600_000,
    executionTimeoutMs: positiveNumber('executionTimeoutMs', get('executionTimeoutMs'), 1000) ?? 3_600_000,
    recordWaitMs: positiveNumber('recordWaitMs', get('recordWaitMs'), 1) ?? 10_000,
    gatewayTimeoutMs: positiveNumber('gatewayTimeoutMs', get('gatewayTimeoutMs'), 1000) ?? 60_000,
    demo: bool(get('demo')) ?? Boolean(localGateway && !rawGateway),
  };
}

export function helpText(): string {
  const lines = ['Usage: generated-files-sidecar [options]', '', 'Options (flag, environment variable):'];
  for (const spec of Object.values(OPTION_SPECS)) {
    lines.push(`  ${spec.flag ? `--${spec.flag}`.padEnd(26) : ''.padEnd(26)}${spec.env}`, `      ${spec.help}`);
  }
  return lines.join('\n');
}
