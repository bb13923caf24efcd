import { errorCode } from './errors.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ANNOUNCE_MODES, type AnnounceMode } from './announce/file-card.ts';
import { isValidChatId } from './chats/chat-id.ts';
import { DEFAULT_LINK_TTL_SECONDS } from './links/file-links.ts';
import type { AnonymousChatPolicy } from './chats/chat-assignment.ts';

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
  /** Where records, blobs and the kernel-to-chat memory live (blobs only, with a database). */
  dataDir: string;
  /** postgres://… for several sidecars on one store; null: lowdb files in dataDir. Never logged. */
  databaseUrl: string | null;
  /** Connections each sidecar keeps to the database at most. */
  databasePoolSize: number;
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
  /** A scan of a workspace gives up after this long (ERR_SCAN_TIMEOUT); the next scan finds the rest. */
  scanTimeoutMs: number;
  /** Record files with more than one hard link (the kernel may have linked another chat's or a host file). */
  allowHardLinks: boolean;
  gatewayTimeoutMs: number;
  /** Serve the demo page at /sidecar/demo/. */
  demo: boolean;
  /** What a preview or diff may cost (nulls: the defaults in previews/preview-limits.ts). */
  previews: {
    maxBytes: number | null;
    maxUnzippedBytes: number | null;
    maxRows: number | null;
    maxColumns: number | null;
    maxCells: number | null;
    timeoutMs: number | null;
    concurrency: number | null;
  };
  /** The file card added to an execution's output: off, text/plain only, or text + Markdown + HTML. */
  announceFiles: AnnounceMode;
  /** The sidecar as users' browsers reach it (links); null: the Host each client connected with. */
  publicUrl: URL | null;
  /** Lifetime of a link's capability token; null: never expires. */
  linkTtlSeconds: number | null;
  /** Receiver of one POST per recorded file version; null: no webhooks. */
  webhookUrl: URL | null;
  /** HMAC-SHA256 key for webhook signatures (environment only). */
  webhookSecret: string | null;
  /** A delivery still failing this long after its file was recorded is kept as failed. */
  webhookMaxAgeMs: number;
  /** The sidecar's address as the user's browser reaches it; its host is allowed in Host headers. */
  allowedHosts: string[];
  /** Largest WebSocket frame accepted from either side, in bytes. */
  maxFrameBytes: number;
  /** Bytes of frames received and not yet sent on, across all kernel connections, before reads pause. */
  maxInFlightBytes: number;
  /** Longest a files-API token may live (exp minus iat, or exp minus now), in seconds. */
  tokenMaxLifetimeS: number;
}

export type OptionSource = Record<string, string | undefined>;

interface Spec {
  flag: string;
  env: string;
  help: string;
}

/** Every option, its flag and its environment variable: the configuration reference in one place. */
export const OPTION_SPECS: Record<string, Spec> = {
  gatewayUrl: {
    flag: 'gateway-url',
    env: 'GATEWAY_URL',
    help: 'Gateway to put the sidecar in front of. Without it a local Jupyter Server is started.',
  },
  host: { flag: 'host', env: 'SIDECAR_HOST', help: 'Address to listen on (default 127.0.0.1).' },
  port: {
    flag: 'port',
    env: 'SIDECAR_PORT',
    help: 'Port to listen on (default 8890; 0 picks a free port, printed at start).',
  },
  workspaceRoot: {
    flag: 'workspace-root',
    env: 'WORKSPACE_ROOT',
    help: 'Folder holding one workspace per chat, as the sidecar sees it (default ./data/workspaces).',
  },
  kernelWorkspaceRoot: {
    flag: 'kernel-workspace-root',
    env: 'KERNEL_WORKSPACE_ROOT',
    help: 'The same folder as the kernel sees it (default: the same path).',
  },
  gatewayRootDir: {
    flag: 'gateway-root-dir',
    env: 'GATEWAY_ROOT_DIR',
    help: "Jupyter Server's root_dir as the kernel sees it (default: the kernel workspace root).",
  },
  dataDir: {
    flag: 'data-dir',
    env: 'DATA_DIR',
    help: 'Records, file copies and kernel memory (default ./data/store).',
  },
  databaseUrl: {
    flag: 'database-url',
    env: 'DATABASE_URL',
    help: 'postgres://user:password@host:port/db: records, events and kernel memory in PostgreSQL, for several sidecars sharing --data-dir on one volume (default: lowdb files in --data-dir). Prefer the variable: a flag shows in ps.',
  },
  databasePoolSize: {
    flag: 'database-pool-size',
    env: 'DATABASE_POOL_SIZE',
    help: 'Connections to PostgreSQL per sidecar, at most (default 10).',
  },
  anonymousChat: {
    flag: 'anonymous-chat',
    env: 'ANONYMOUS_CHAT',
    help: "Kernels created without a chat id: 'per-kernel' (default: a workspace of their own), 'reject', or a fixed chat id.",
  },
  filesSecret: {
    flag: '',
    env: 'FILES_API_SECRET',
    help: 'HS256 secret for files-API tokens (environment only). Unset: the files API is open.',
  },
  filesSecretFile: {
    flag: '',
    env: 'FILES_API_SECRET_FILE',
    help: 'A file holding the files-API secret, instead of FILES_API_SECRET (environment only; a trailing newline is ignored).',
  },
  corsOrigins: {
    flag: 'cors-origins',
    env: 'CORS_ORIGINS',
    help: 'Comma-separated origins allowed to call the files API (or *).',
  },
  trackExtensions: {
    flag: 'track-extensions',
    env: 'TRACK_EXTENSIONS',
    help: 'Comma-separated extensions to track, or * for all (default: office, data, document and image formats).',
  },
  maxFileBytes: {
    flag: 'max-file-mb',
    env: 'MAX_FILE_MB',
    help: 'Files larger than this are reported, not kept (default 512).',
  },
  chatQuotaBytes: {
    flag: 'chat-quota-mb',
    env: 'CHAT_QUOTA_MB',
    help: 'Bytes kept per chat before new files are reported, not kept (default 5120).',
  },
  uploadMaxBytes: { flag: 'upload-max-mb', env: 'UPLOAD_MAX_MB', help: 'Largest upload (default 100).' },
  workspaceMaxAgeDays: {
    flag: 'workspace-max-age-days',
    env: 'WORKSPACE_MAX_AGE_DAYS',
    help: 'Delete workspace files untouched this many days; recorded copies stay downloadable (default: never).',
  },
  watchWorkspaces: {
    flag: 'watch-workspaces',
    env: 'WATCH_WORKSPACES',
    help: 'Watch workspaces on local file systems (inotify) so a scan looks only at touched files; network and FUSE file systems are always walked whole (default on; --no-watch-workspaces to walk every time).',
  },
  workspaceAuditMs: {
    flag: 'workspace-audit-min',
    env: 'WORKSPACE_AUDIT_MIN',
    help: 'A watched workspace is still walked whole at least this often, in minutes (default 10).',
  },
  executionTimeoutMs: {
    flag: 'execution-timeout-s',
    env: 'EXECUTION_TIMEOUT_S',
    help: 'An execution still running after this long is closed for tracking (default 3600).',
  },
  recordWaitMs: {
    flag: 'record-wait-ms',
    env: 'RECORD_WAIT_MS',
    help: 'How long the message that ends an execution waits for its files to be recorded (default 10000).',
  },
  scanTimeoutMs: {
    flag: 'scan-timeout-s',
    env: 'SCAN_TIMEOUT_S',
    help: 'A workspace scan still running after this long gives up; the next one finds the rest (default 120).',
  },
  allowHardLinks: {
    flag: 'allow-hard-links',
    env: 'ALLOW_HARD_LINKS',
    help: "Record files with more than one hard link (default off: the kernel may have linked in another chat's or a host file).",
  },
  gatewayTimeoutMs: {
    flag: 'gateway-timeout-s',
    env: 'GATEWAY_TIMEOUT_S',
    help: 'A gateway that does not answer in this long gets a 504 (default 60).',
  },
  previewMaxBytes: {
    flag: 'preview-max-mb',
    env: 'PREVIEW_MAX_MB',
    help: 'Larger files are not previewed or diffed (413) (default 50).',
  },
  previewMaxUnzippedBytes: {
    flag: 'preview-max-unzipped-mb',
    env: 'PREVIEW_MAX_UNZIPPED_MB',
    help: 'An xlsx or docx unpacking to more is not previewed (413), checked before inflating (default 200).',
  },
  previewMaxRows: {
    flag: 'preview-max-rows',
    env: 'PREVIEW_MAX_ROWS',
    help: 'Tables with more rows are not previewed or diffed (413) (default 1000000).',
  },
  previewMaxColumns: {
    flag: 'preview-max-columns',
    env: 'PREVIEW_MAX_COLUMNS',
    help: 'Tables with more columns are not previewed or diffed (413) (default 16384).',
  },
  previewMaxCells: {
    flag: 'preview-max-cells',
    env: 'PREVIEW_MAX_CELLS',
    help: 'Tables with more cells are not previewed or diffed (413) (default 2000000).',
  },
  previewTimeoutMs: {
    flag: 'preview-timeout-ms',
    env: 'PREVIEW_TIMEOUT_MS',
    help: 'A render still running after this long is stopped (422) (default 10000).',
  },
  previewConcurrency: {
    flag: 'preview-concurrency',
    env: 'PREVIEW_CONCURRENCY',
    help: 'Renders running at once, each on its own worker thread; a few more wait (default 2).',
  },
  demo: {
    flag: 'demo',
    env: 'SIDECAR_DEMO',
    help: 'Serve the demo page at /sidecar/demo/ (default: on with a local Jupyter Server, off otherwise).',
  },
  announceFiles: {
    flag: 'announce-files',
    env: 'ANNOUNCE_FILES',
    help: "File card in the output of an execution that saved files: 'off', 'text' (text/plain) or 'rich' (default: text/plain, text/markdown, text/html).",
  },
  publicUrl: {
    flag: 'public-url',
    env: 'PUBLIC_URL',
    help: "The sidecar's address as users' browsers reach it, e.g. https://files.example.com/: the base of links, and its host is allowed in Host headers (default: links use the Host each client connected with).",
  },
  linkTtlSeconds: {
    flag: 'link-ttl',
    env: 'LINK_TTL',
    help: "Lifetime of a link's token: seconds, or with s/m/h/d (default 7d; 0: never expires). Only with FILES_API_SECRET.",
  },
  webhookUrl: {
    flag: 'webhook-url',
    env: 'WEBHOOK_URL',
    help: 'POST one signed JSON delivery per recorded file version here (at least once, from a durable outbox).',
  },
  webhookSecret: {
    flag: '',
    env: 'WEBHOOK_SECRET',
    help: 'HMAC-SHA256 key for webhook signatures (environment only; required with --webhook-url).',
  },
  webhookMaxAgeMs: {
    flag: 'webhook-max-age',
    env: 'WEBHOOK_MAX_AGE',
    help: 'Deliveries still failing after this long are kept as failed (shown by /sidecar/v1/health): seconds, or with s/m/h/d (default 1d).',
  },
  allowedHosts: {
    flag: 'allowed-hosts',
    env: 'ALLOWED_HOSTS',
    help: 'Comma-separated Host header values allowed besides loopback names and --public-url (host, or host:port). Others get a 403.',
  },
  maxFrameBytes: {
    flag: 'max-frame-mb',
    env: 'MAX_FRAME_MB',
    help: 'Largest kernel WebSocket frame, either direction (default 32). Larger ones close the socket (1009).',
  },
  maxInFlightBytes: {
    flag: 'max-in-flight-mb',
    env: 'MAX_IN_FLIGHT_MB',
    help: 'Frame bytes held across all kernel connections before reads pause (default 256).',
  },
  tokenMaxLifetimeS: {
    flag: 'token-max-lifetime-s',
    env: 'TOKEN_MAX_LIFETIME_S',
    help: 'Files-API tokens valid for longer than this are refused (default 86400: one day).',
  },
};

/** Reads `--flag value`, `--flag=value` and `--no-flag`. */
export function parseFlags(argv: readonly string[]): OptionSource {
  const out: OptionSource = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--'))
      throw new OptionsError(
        'ERR_OPTIONS_ARGUMENT',
        `Unexpected argument ${JSON.stringify(arg)}. Options look like --port 8890.`,
      );
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
    throw new OptionsError(
      'ERR_OPTIONS_NUMBER',
      `${name} must be a positive number, got ${JSON.stringify(raw)}. Example: --${OPTION_SPECS[name]!.flag} 10`,
    );
  }
  return Math.round(value * scale);
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90`, `90s`, `15m`, `12h`, `7d` as seconds; `0` allowed when `zero` says so. */
function durationSeconds(name: string, raw: string | undefined, options: { zero: boolean }): number | null | undefined {
  if (raw === undefined || raw === '') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(raw.trim());
  const seconds = match ? Number(match[1]) * DURATION_UNITS[match[2] || 's']! : NaN;
  if (!Number.isFinite(seconds) || (seconds === 0 && !options.zero)) {
    throw new OptionsError(
      'ERR_OPTIONS_DURATION',
      `--${OPTION_SPECS[name]!.flag} takes seconds or a number with s, m, h or d, got ${JSON.stringify(raw)}. Example: --${OPTION_SPECS[name]!.flag} 7d`,
    );
  }
  return seconds === 0 ? null : Math.round(seconds);
}

function httpUrl(name: string, raw: string | undefined, example: string): URL | null {
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OptionsError(
      'ERR_OPTIONS_URL',
      `--${OPTION_SPECS[name]!.flag} ${JSON.stringify(raw)} is not a URL. Example: --${OPTION_SPECS[name]!.flag} ${example}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OptionsError('ERR_OPTIONS_URL', `--${OPTION_SPECS[name]!.flag} must be http(s), got ${url.protocol}`);
  }
  return url;
}

function bool(raw: string | undefined): boolean | null {
  if (raw === undefined || raw === '') return null;
  return !/^(0|false|no|off)$/i.test(raw);
}

/**
 * The files-API secret, from FILES_API_SECRET or the file FILES_API_SECRET_FILE names (a mounted
 * secret: it is then not in the environment, which any process of the same user can read).
 */
function readSecret(env: OptionSource): string | null {
  const file = env.FILES_API_SECRET_FILE;
  if (!file) return env.FILES_API_SECRET || null;
  if (env.FILES_API_SECRET) {
    throw new OptionsError(
      'ERR_OPTIONS_SECRET_TWICE',
      'Both FILES_API_SECRET and FILES_API_SECRET_FILE are set: unset one of them.',
    );
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const errno = errorCode(error) ?? String(error);
    throw new OptionsError(
      'ERR_OPTIONS_SECRET_FILE',
      `FILES_API_SECRET_FILE ${JSON.stringify(file)} cannot be read (${errno}). Example: FILES_API_SECRET_FILE=/run/secrets/files_api_secret`,
    );
  }
  const secret = text.replace(/\r?\n$/, '');
  if (!secret)
    throw new OptionsError('ERR_OPTIONS_SECRET_FILE', `FILES_API_SECRET_FILE ${JSON.stringify(file)} is empty.`);
  return secret;
}

/**
 * Build the options once, from flags over environment over defaults, and verify them.
 * `gatewayUrl` may be left out here when the caller starts a local gateway and passes `localGateway`.
 */
export function resolveOptions(flags: OptionSource, env: OptionSource, localGateway?: URL): SidecarOptions {
  const known = new Set(
    Object.values(OPTION_SPECS)
      .map((s) => s.flag)
      .filter(Boolean),
  );
  for (const name of Object.keys(flags)) {
    if (!known.has(name))
      throw new OptionsError('ERR_OPTIONS_UNKNOWN', `Unknown option --${name}. Run with --help for the list.`);
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
      throw new OptionsError(
        'ERR_OPTIONS_GATEWAY_URL',
        `--gateway-url ${JSON.stringify(rawGateway)} is not a URL. Example: --gateway-url http://127.0.0.1:8888`,
      );
    }
    if (gatewayUrl.protocol !== 'http:' && gatewayUrl.protocol !== 'https:') {
      throw new OptionsError('ERR_OPTIONS_GATEWAY_URL', `--gateway-url must be http(s), got ${gatewayUrl.protocol}`);
    }
  } else if (localGateway) {
    gatewayUrl = localGateway;
  } else {
    throw new OptionsError(
      'ERR_OPTIONS_GATEWAY_MISSING',
      'No gateway: pass --gateway-url http://HOST:PORT (or GATEWAY_URL).',
    );
  }
  gatewayUrl.search = '';
  gatewayUrl.hash = '';
  if (!gatewayUrl.pathname.endsWith('/')) gatewayUrl.pathname += '/';

  const rawPort = get('port');
  const port = rawPort === undefined || rawPort === '' ? 8890 : Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new OptionsError(
      'ERR_OPTIONS_NUMBER',
      `--port must be a whole number from 0 to 65535, got ${JSON.stringify(rawPort)}. Example: --port 8890`,
    );
  }

  const workspaceRoot = path.resolve(get('workspaceRoot') ?? 'data/workspaces');
  const kernelWorkspaceRoot = get('kernelWorkspaceRoot') ?? workspaceRoot;
  if (!path.posix.isAbsolute(kernelWorkspaceRoot)) {
    throw new OptionsError(
      'ERR_OPTIONS_PATH',
      `--kernel-workspace-root must be absolute as the kernel sees it, got ${JSON.stringify(kernelWorkspaceRoot)}`,
    );
  }
  const gatewayRootDir = get('gatewayRootDir') ?? kernelWorkspaceRoot;

  const rawAnonymous = get('anonymousChat') ?? 'per-kernel';
  let anonymousChat: AnonymousChatPolicy;
  if (rawAnonymous === 'per-kernel' || rawAnonymous === 'reject') anonymousChat = { kind: rawAnonymous };
  else if (isValidChatId(rawAnonymous)) anonymousChat = { kind: 'fixed', chatId: rawAnonymous };
  else
    throw new OptionsError(
      'ERR_OPTIONS_ANONYMOUS_CHAT',
      `--anonymous-chat takes per-kernel, reject or a chat id, got ${JSON.stringify(rawAnonymous)}`,
    );

  const secret = readSecret(env);
  if (secret && Buffer.byteLength(secret) < 32) {
    throw new OptionsError(
      'ERR_OPTIONS_SECRET_TOO_SHORT',
      'FILES_API_SECRET must be at least 32 bytes (HS256 needs a 256-bit key). Example: FILES_API_SECRET=$(openssl rand -hex 32)',
    );
  }
  const announceFiles = (get('announceFiles') ?? 'rich') as AnnounceMode;
  if (!ANNOUNCE_MODES.includes(announceFiles)) {
    throw new OptionsError(
      'ERR_OPTIONS_ANNOUNCE_FILES',
      `--announce-files takes off, text or rich, got ${JSON.stringify(announceFiles)}`,
    );
  }
  const publicUrl = httpUrl('publicUrl', get('publicUrl'), 'https://files.example.com/');
  if (publicUrl) {
    // Links are resolved against it: it must name a folder.
    publicUrl.search = '';
    publicUrl.hash = '';
    if (!publicUrl.pathname.endsWith('/')) publicUrl.pathname += '/';
  }
  const linkTtl = durationSeconds('linkTtlSeconds', get('linkTtlSeconds'), { zero: true });
  const webhookUrl = httpUrl('webhookUrl', get('webhookUrl'), 'https://app.example.com/hooks/files');
  const webhookSecret = env.WEBHOOK_SECRET || null;
  if (webhookUrl && !webhookSecret) {
    throw new OptionsError(
      'ERR_OPTIONS_WEBHOOK_SECRET',
      '--webhook-url needs WEBHOOK_SECRET in the environment, so receivers can verify deliveries. Example: WEBHOOK_SECRET=$(openssl rand -hex 32)',
    );
  }
  const webhookMaxAge = durationSeconds('webhookMaxAgeMs', get('webhookMaxAgeMs'), { zero: false });
  const databaseUrl = get('databaseUrl') || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new OptionsError(
      'ERR_OPTIONS_DATABASE_URL',
      'DATABASE_URL must be a postgres:// URL. Example: DATABASE_URL=postgres://sidecar:PASSWORD@db:5432/sidecar',
    );
  }
  const databasePoolSize = positiveNumber('databasePoolSize', get('databasePoolSize'), 1) ?? 10;

  const list = (raw: string | undefined) =>
    raw
      ? raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [];
  const rawExtensions = get('trackExtensions');

  const allowedHosts = list(get('allowedHosts')).map((h) => h.toLowerCase());
  for (const host of allowedHosts) {
    if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/.test(host)) {
      throw new OptionsError(
        'ERR_OPTIONS_ALLOWED_HOSTS',
        `--allowed-hosts takes host names or host:port, got ${JSON.stringify(host)}. Example: --allowed-hosts sidecar,sidecar.internal:8890`,
      );
    }
  }

  return {
    gatewayUrl,
    host: get('host') ?? '127.0.0.1',
    port,
    workspaceRoot,
    kernelWorkspaceRoot,
    gatewayRootDir,
    dataDir: path.resolve(get('dataDir') ?? 'data/store'),
    databaseUrl,
    databasePoolSize,
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
    scanTimeoutMs: positiveNumber('scanTimeoutMs', get('scanTimeoutMs'), 1000) ?? 120_000,
    allowHardLinks: bool(get('allowHardLinks')) ?? false,
    gatewayTimeoutMs: positiveNumber('gatewayTimeoutMs', get('gatewayTimeoutMs'), 1000) ?? 60_000,
    demo: bool(get('demo')) ?? Boolean(localGateway && !rawGateway),
    previews: {
      maxBytes: positiveNumber('previewMaxBytes', get('previewMaxBytes'), 1024 * 1024),
      maxUnzippedBytes: positiveNumber('previewMaxUnzippedBytes', get('previewMaxUnzippedBytes'), 1024 * 1024),
      maxRows: positiveNumber('previewMaxRows', get('previewMaxRows'), 1),
      maxColumns: positiveNumber('previewMaxColumns', get('previewMaxColumns'), 1),
      maxCells: positiveNumber('previewMaxCells', get('previewMaxCells'), 1),
      timeoutMs: positiveNumber('previewTimeoutMs', get('previewTimeoutMs'), 1),
      concurrency: positiveNumber('previewConcurrency', get('previewConcurrency'), 1),
    },
    announceFiles,
    publicUrl,
    linkTtlSeconds: linkTtl === undefined ? DEFAULT_LINK_TTL_SECONDS : linkTtl,
    webhookUrl,
    webhookSecret,
    webhookMaxAgeMs: (webhookMaxAge ?? 86_400) * 1000,
    allowedHosts,
    maxFrameBytes: positiveNumber('maxFrameBytes', get('maxFrameBytes'), 1024 * 1024) ?? 32 * 1024 * 1024,
    maxInFlightBytes: positiveNumber('maxInFlightBytes', get('maxInFlightBytes'), 1024 * 1024) ?? 256 * 1024 * 1024,
    tokenMaxLifetimeS: positiveNumber('tokenMaxLifetimeS', get('tokenMaxLifetimeS'), 1) ?? 86_400,
  };
}

export function helpText(): string {
  const lines = ['Usage: generated-files-sidecar [options]', '', 'Options (flag, environment variable):'];
  for (const spec of Object.values(OPTION_SPECS)) {
    lines.push(`  ${spec.flag ? `--${spec.flag}`.padEnd(26) : ''.padEnd(26)}${spec.env}`, `      ${spec.help}`);
  }
  return lines.join('\n');
}
