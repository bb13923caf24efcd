import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ANNOUNCE_MODES, type AnnounceMode } from './announce/file-card.ts';
import type { AnonymousChatPolicy } from './chats/chat-assignment.ts';
import { parseHostHeader } from './allowed-hosts.ts';
import { DEFAULT_TOKEN_MAX_LIFETIME_S } from './api/auth.ts';
import { isValidChatId } from './chats/chat-id.ts';
import { errorCode, SidecarError, type ErrorCode } from './errors.ts';
import { isValidClaimName, isValidSubPath, type KernelVolume } from './gateway/kernel-pod-volume.ts';
import { DEFAULT_PREVIEW_LIMITS } from './previews/preview-limits.ts';
import { DEFAULT_TRANSFER_LIMITS, MAX_UPLOAD_CHUNK_BYTES, TRANSFER_FRAME_MARGIN } from './transport/transfer-limits.ts';
import { DEFAULT_MAX_FILE_BYTES, DEFAULT_QUOTA_BYTES } from './workspace/tracking-policy.ts';

/** A configuration mistake, found once at start, with the fix in its message. */
export class OptionsError extends SidecarError<Extract<ErrorCode, `ERR_OPTIONS_${string}`>> {}

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
  /** Enterprise Gateway on Kubernetes: the claim each kernel pod mounts its own chat's folder of; null: none. */
  kernelVolume: KernelVolume | null;
  /** How files reach the sidecar: a disk both see (`shared`), or the kernel's own channel (`kernel`). */
  fileTransport: FileTransport;
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
  uploadMaxBytes: number;
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
    maxAnswerBytes: number | null;
    maxCellChars: number | null;
    cacheMaxBytes: number | null;
    timeoutMs: number | null;
    concurrency: number | null;
    chatConcurrency: number | null;
    chatQueue: number | null;
    timeoutMemoryMs: number | null;
    workerHeapMb: number | null;
    shownRows: number | null;
    shownColumns: number | null;
    diffListedRows: number | null;
    textBytes: number | null;
    diffTextBytes: number | null;
    maxZipEntries: number | null;
    rememberedTimeouts: number | null;
    workerStartMs: number | null;
  };
  /** What the kernel file transport may cost (nulls: the defaults in transport/transfer-limits.ts). */
  transfer: {
    chunkBytes: number | null;
    bytesPerRequest: number | null;
    requestsInFlight: number | null;
    bytesPerExecution: number | null;
    listingBytes: number | null;
    maxEntries: number | null;
    maxDepth: number | null;
    timeBudgetMs: number | null;
    requestTimeoutMs: number | null;
  };
  /** The file card added to an execution's output: off, text/plain only, or text + Markdown + HTML. */
  announceFiles: AnnounceMode;
  /** The sidecar as users' browsers reach it (links); null: the Host each client connected with. */
  publicUrl: URL | null;
  /** Lifetime of a link's capability token; null: never expires. */
  linkTtlSeconds: number | null;
  /** How far sidecars' clocks may differ: a revocation refuses links stamped up to this long after it. */
  revocationSkewMs: number;
  /** Receiver of one POST per recorded file version; null: no webhooks. */
  webhookUrl: URL | null;
  /** HMAC-SHA256 key for webhook signatures (environment only). */
  webhookSecret: string | null;
  /** A delivery still failing this long after its file was recorded is kept as failed. */
  webhookMaxAgeMs: number;
  /** First retry delay of a failed webhook delivery; doubled after each failure. */
  webhookRetryMinMs: number;
  /** Longest retry delay of a webhook delivery. */
  webhookRetryMaxMs: number;
  /** The sidecar's address as the user's browser reaches it; its host is allowed in Host headers. */
  allowedHosts: string[];
  /** Largest WebSocket frame accepted from either side, in bytes. */
  maxFrameBytes: number;
  /** Bytes of frames received and not yet sent on, across all kernel connections, before reads pause. */
  maxInFlightBytes: number;
  /** Longest a files-API token may live (exp minus iat, or exp minus now), in seconds. */
  tokenMaxLifetimeS: number;
  /** Serve Prometheus metrics at /metrics. */
  metrics: boolean;
  /** Bearer token /metrics asks for (METRICS_TOKEN or METRICS_TOKEN_FILE); null: open. Never logged. */
  metricsToken: string | null;
  /** JSON lines, or readable lines for a person; null: pretty on a terminal, JSON otherwise. */
  logFormat: LogFormat | null;
  logLevel: LogLevel;
  /** Whether log lines carry chat ids (they may identify users' conversations). */
  logChatIds: boolean;
  /** On SIGTERM, how long executions in flight get to finish recording before the sidecar exits. */
  shutdownGraceMs: number;
  /** The MCP server at /mcp (code execution as a tool, per chat). */
  mcp: McpOptions;
  /** Most files a file card names one by one; the rest are counted and linked as one zip. */
  cardMaxFiles: number;
}

/** The MCP server's settings (proxy/mcp/). */
export interface McpOptions {
  enabled: boolean;
  /** Bearer key callers send (MCP_API_KEY or its file); null: files-API tokens only, or loopback only. */
  apiKey: string | null;
  /** The gateway's token for the sidecar's own kernel calls (GATEWAY_TOKEN or its file); null: none sent. */
  gatewayToken: string | null;
  /** Request headers that name the chat, lower case, first found wins. */
  chatHeaders: string[];
  /** A tool call running longer is interrupted. */
  timeoutMs: number;
  /** Calls waiting per chat behind the running one; past it a call is refused as busy. */
  queueLength: number;
  /** A chat's tool kernel unused this long is shut down; null: never. */
  idleMs: number | null;
  /** Tool kernels this sidecar keeps at once. */
  maxKernels: number;
  /** Characters of text output a tool result carries before it is cut to head and tail. */
  outputChars: number;
  /** How long the MCP App's read-only chat token lives, in seconds (kept within --token-max-lifetime-s). */
  appTokenTtlS: number;
}

export type FileTransport = 'shared' | 'kernel';
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type OptionSource = Record<string, string | undefined>;

/** Where a value came from, for its error message: `--port` and `--port 8890`, or `SIDECAR_PORT` and `SIDECAR_PORT=8890`. */
interface Where {
  name: string;
  example: string;
}

/** Turns a given text into the option's value, or throws an OptionsError that names the fix. */
type Parser<T> = (raw: string, where: Where) => T;

/** One option: everything the sidecar, `--help` and README say about it. */
export interface Option<T> {
  /** The command-line flag without `--`; null: environment only (secrets: a flag shows in `ps`). */
  flag: string | null;
  env: string;
  /**
   * The default. A string is written as a user would write it: it goes through `parse` and is shown
   * as is. `{ value, shown }` is a default no setting can spell: off, none, or one that follows from
   * other options or from a constant of the module that owns it (the rules after the table).
   */
  default: string | { value: T; shown: string };
  parse: Parser<T>;
  /** A correct value, quoted in this option's errors. */
  example: string;
  help: string;
}

const KiB = 1024;
const MiB = 1024 * 1024;

const option = <T>(o: Option<T>): Option<T> => o;
const unset = <T>(value: T, shown: string) => ({ value, shown });

// Parsers. Each throws a coded error with an example of a correct setting.

const text: Parser<string> = (raw) => raw;

const bool: Parser<boolean> = (raw) => !/^(0|false|no|off)$/i.test(raw);

const list = (raw: string): string[] =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const positive =
  (scale: number): Parser<number> =>
  (raw, where) => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) {
      throw new OptionsError(
        'ERR_OPTIONS_NUMBER',
        `${where.name} must be a positive number, got ${JSON.stringify(raw)}. Example: ${where.example}`,
      );
    }
    return Math.round(value * scale);
  };

const port: Parser<number> = (raw, where) => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new OptionsError(
      'ERR_OPTIONS_NUMBER',
      `${where.name} must be a whole number from 0 to 65535, got ${JSON.stringify(raw)}. Example: ${where.example}`,
    );
  }
  return value;
};

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90`, `90s`, `15m`, `12h`, `7d` as seconds; `0` where `zero` allows it. */
function seconds(raw: string, where: Where, zero: boolean): number {
  const match = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(raw.trim());
  const value = match ? Number(match[1]) * DURATION_UNITS[match[2] || 's']! : NaN;
  if (!Number.isFinite(value) || (value === 0 && !zero)) {
    throw new OptionsError(
      'ERR_OPTIONS_DURATION',
      `${where.name} takes seconds or a number with s, m, h or d, got ${JSON.stringify(raw)}. Example: ${where.example}`,
    );
  }
  return Math.round(value);
}

const durationMs: Parser<number> = (raw, where) => seconds(raw, where, false) * 1000;

/** `250ms`, or a duration as above, as milliseconds (more than 0). */
const delayMs: Parser<number> = (raw, where) => {
  const ms = /^(\d+(?:\.\d+)?)\s*ms$/.exec(raw.trim());
  if (!ms) return durationMs(raw, where);
  const value = Math.round(Number(ms[1]));
  if (value <= 0) {
    throw new OptionsError(
      'ERR_OPTIONS_DURATION',
      `${where.name} must be more than 0 ms, got ${JSON.stringify(raw)}. Example: ${where.example}`,
    );
  }
  return value;
};

/** A duration as above, as milliseconds; `0` allowed. */
const durationOrZeroMs: Parser<number> = (raw, where) => seconds(raw, where, true) * 1000;

/** A lifetime in seconds; `0`: never expires (null). */
const lifetime: Parser<number | null> = (raw, where) => seconds(raw, where, true) || null;

const httpUrl =
  (code: OptionsError['code'], { folder }: { folder: boolean }): Parser<URL> =>
  (raw, where) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new OptionsError(code, `${where.name} ${JSON.stringify(raw)} is not a URL. Example: ${where.example}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new OptionsError(code, `${where.name} must be http(s), got ${url.protocol}. Example: ${where.example}`);
    }
    return folder ? asFolder(url) : url;
  };

const anonymousChat: Parser<AnonymousChatPolicy> = (raw, where) => {
  if (raw === 'per-kernel' || raw === 'reject') return { kind: raw };
  if (isValidChatId(raw)) return { kind: 'fixed', chatId: raw };
  throw new OptionsError(
    'ERR_OPTIONS_ANONYMOUS_CHAT',
    `${where.name} takes per-kernel, reject or a chat id, got ${JSON.stringify(raw)}. Example: ${where.example}`,
  );
};

const announceMode: Parser<AnnounceMode> = (raw, where) => {
  if (!(ANNOUNCE_MODES as readonly string[]).includes(raw)) {
    throw new OptionsError(
      'ERR_OPTIONS_ANNOUNCE_FILES',
      `${where.name} takes off, text or rich, got ${JSON.stringify(raw)}. Example: ${where.example}`,
    );
  }
  return raw as AnnounceMode;
};

const kernelPath: Parser<string> = (raw, where) => {
  if (!path.posix.isAbsolute(raw)) {
    throw new OptionsError(
      'ERR_OPTIONS_PATH',
      `${where.name} must be absolute as the kernel sees it, got ${JSON.stringify(raw)}. Example: ${where.example}`,
    );
  }
  return raw;
};

const fileTransport: Parser<FileTransport> = (raw, where) => {
  if (raw !== 'shared' && raw !== 'kernel') {
    throw new OptionsError(
      'ERR_OPTIONS_FILE_TRANSPORT',
      `${where.name} takes shared or kernel, got ${JSON.stringify(raw)}. Example: ${where.example}`,
    );
  }
  return raw;
};

const claimName: Parser<string> = (raw, where) => {
  if (!isValidClaimName(raw)) {
    throw new OptionsError(
      'ERR_OPTIONS_KERNEL_VOLUME',
      `${where.name} must be a Kubernetes claim name (lower-case letters, digits, '-' and '.'), got ${JSON.stringify(raw)}. Example: ${where.example}`,
    );
  }
  return raw;
};

const subPath: Parser<string> = (raw, where) => {
  const trimmed = raw.replace(/\/+$/, '');
  if (!isValidSubPath(trimmed)) {
    throw new OptionsError(
      'ERR_OPTIONS_KERNEL_VOLUME',
      `${where.name} must be a relative path inside the claim (no '..', no leading '/', no $ or control characters), got ${JSON.stringify(raw)}. Example: ${where.example}`,
    );
  }
  return trimmed;
};

/** The raw URL is never echoed: it holds a password. */
const postgresUrl: Parser<string> = (raw, where) => {
  if (!/^postgres(ql)?:\/\//.test(raw)) {
    throw new OptionsError(
      'ERR_OPTIONS_DATABASE_URL',
      `${where.name} must be a postgres:// URL. Example: ${where.example}`,
    );
  }
  return raw;
};

const oneOf =
  <T extends string>(code: OptionsError['code'], values: readonly T[]): Parser<T> =>
  (raw, where) => {
    if (!(values as readonly string[]).includes(raw)) {
      throw new OptionsError(
        code,
        `${where.name} takes ${values.join(', ')}, got ${JSON.stringify(raw)}. Example: ${where.example}`,
      );
    }
    return raw as T;
  };
/** Minutes as ms; `0`: never (null). */
const minutesOrNever: Parser<number | null> = (raw, where) => {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new OptionsError(
      'ERR_OPTIONS_NUMBER',
      `${where.name} must be a number of minutes (0: never), got ${JSON.stringify(raw)}. Example: ${where.example}`,
    );
  }
  return value === 0 ? null : Math.round(value * 60_000);
};

/** HTTP header names, lower-cased (Node gives them so). */
const headerNames: Parser<string[]> = (raw, where) => {
  const names = list(raw).map((h) => h.toLowerCase());
  if (names.length === 0 || names.some((h) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(h))) {
    throw new OptionsError(
      'ERR_OPTIONS_HEADER',
      `${where.name} takes header names, comma-separated, got ${JSON.stringify(raw)}. Example: ${where.example}`,
    );
  }
  return names;
};

const extensions: Parser<string[]> = (raw) => list(raw).map((e) => e.replace(/^\./, '').toLowerCase());

const hosts: Parser<string[]> = (raw, where) =>
  checkAllowedHosts(
    list(raw).map((h) => h.toLowerCase()),
    where,
  );

/**
 * Every option, once: flag, environment variable, default, parser and help. `resolveOptions`
 * reads it, `helpText()` prints it, and test/sidecar/readme-options.test.ts holds README's
 * configuration table to it. Keys are SidecarOptions fields (`preview*` fill `previews`, `transfer*` fill `transfer`).
 */
export const OPTIONS = {
  gatewayUrl: option({
    flag: 'gateway-url',
    env: 'GATEWAY_URL',
    default: unset<URL | null>(null, 'local Jupyter Server'),
    parse: httpUrl('ERR_OPTIONS_GATEWAY_URL', { folder: true }),
    example: 'http://127.0.0.1:8888',
    help: 'The gateway to put the sidecar in front of; its path is its base_url. Without it a local Jupyter Server is started.',
  }),
  host: option({
    flag: 'host',
    env: 'SIDECAR_HOST',
    default: '127.0.0.1',
    parse: text,
    example: '0.0.0.0',
    help: 'Address to listen on.',
  }),
  port: option({
    flag: 'port',
    env: 'SIDECAR_PORT',
    default: '8890',
    parse: port,
    example: '8890',
    help: 'Port to listen on; 0 picks a free one and prints it.',
  }),
  workspaceRoot: option({
    flag: 'workspace-root',
    env: 'WORKSPACE_ROOT',
    default: './data/workspaces',
    parse: text,
    example: '/srv/workspaces',
    help: 'Folder holding one workspace per chat, as the sidecar sees it.',
  }),
  kernelWorkspaceRoot: option({
    flag: 'kernel-workspace-root',
    env: 'KERNEL_WORKSPACE_ROOT',
    default: unset<string | null>(null, 'same as --workspace-root'),
    parse: kernelPath,
    example: '/mnt/workspaces',
    help: 'The same folder as the kernel sees it (when the kernel runs in a container).',
  }),
  kernelVolumeClaim: option({
    flag: 'kernel-volume-claim',
    env: 'KERNEL_VOLUME_CLAIM',
    default: unset<string | null>(null, 'none'),
    parse: claimName,
    example: 'chat-workspaces',
    help: "Enterprise Gateway on Kubernetes: a read-write-many claim holding --workspace-root; each kernel pod mounts only its chat's folder of it (KERNEL_VOLUMES, KERNEL_VOLUME_MOUNTS, KERNEL_WORKING_DIR).",
  }),
  kernelVolumeSubPath: option({
    flag: 'kernel-volume-sub-path',
    env: 'KERNEL_VOLUME_SUB_PATH',
    default: unset<string>('', "the claim's root"),
    parse: subPath,
    example: 'workspaces',
    help: 'Where --workspace-root lies inside the claim, as a relative path.',
  }),
  fileTransport: option({
    flag: 'file-transport',
    env: 'FILE_TRANSPORT',
    default: 'shared',
    parse: fileTransport,
    example: 'kernel',
    help: "'shared': the sidecar reads the kernel's workspace on a disk both see. 'kernel': no shared disk; files travel over the kernel's own channel (Python kernels; with --kernel-workspace-root /mnt/data each kernel has /mnt/data itself).",
  }),
  transferChunkBytes: option({
    flag: 'transfer-chunk-kb',
    env: 'TRANSFER_CHUNK_KB',
    default: unset<number | null>(null, String(DEFAULT_TRANSFER_LIMITS.chunkBytes / KiB)),
    parse: positive(KiB),
    example: '1024',
    help: '--file-transport kernel: bytes of a file in one binary buffer of a reply from the kernel, and in one upload request.',
  }),
  transferBytesPerRequest: option({
    flag: 'transfer-request-mb',
    env: 'TRANSFER_REQUEST_MB',
    default: unset<number | null>(null, String(DEFAULT_TRANSFER_LIMITS.bytesPerRequest / MiB)),
    parse: positive(MiB),
    example: '4',
    help: '--file-transport kernel: file bytes asked of the kernel in one request (its reply is one WebSocket frame, under --max-frame-mb), held in memory until written; more is refused.',
  }),
  transferRequestsInFlight: option({
    flag: 'transfer-in-flight',
    env: 'TRANSFER_IN_FLIGHT',
    default: unset<number | null>(null, String(DEFAULT_TRANSFER_LIMITS.requestsInFlight)),
    parse: positive(1),
    example: '3',
    help: '--file-transport kernel: read requests asked of the kernel at once; the sidecar holds at most this many times --transfer-request-mb per transfer.',
  }),
  transferBytesPerExecution: option({
    flag: 'transfer-max-mb',
    env: 'TRANSFER_MAX_MB',
    default: unset<number | null>(null, String(DEFAULT_TRANSFER_LIMITS.bytesPerExecution / MiB)),
    parse: positive(MiB),
    example: '512',
    help: '--file-transport kernel: file bytes brought over after one execution; files past it come with a later one (named in the card).',
  }),
  transferListingBytes: option({
    flag: 'transfer-listing-mb',
    env: 'TRANSFER_LISTING_MB',
    default: unset<number | null>(null, String(DEFAULT_TRANSFER_LIMITS.listingBytes / MiB)),
    parse: positive(MiB),
    example: '16',
    help: "--file-transport kernel: bytes of one listing of the kernel's workspace; a larger one is refused.",
  }),
  transferMaxEntries: option({
    flag: 'transfer-max-files',
    env: 'TRANSFER_MAX_FILES',
    default: unset<number | null>(null, String(DEFAULT_TRANSFER_LIMITS.maxEntries)),
    parse: positive(1),
    example: '10000',
    help: "--file-transport kernel: files one listing of the kernel's workspace names at most.",
  }),
  transferMaxDepth: option({
    flag: 'transfer-max-depth',
    env: 'TRANSFER_MAX_DEPTH',
    default: unset<number | null>(null, String(DEFAULT_TRANSFER_LIMITS.maxDepth)),
    parse: positive(1),
    example: '64',
    help: '--file-transport kernel: folder levels a listing goes down.',
  }),
  transferTimeBudgetMs: option({
    flag: 'transfer-budget-s',
    env: 'TRANSFER_BUDGET_S',
    default: unset<number | null>(null, String(DEFAULT_TRANSFER_LIMITS.timeBudgetMs / 1000)),
    parse: positive(1000),
    example: '120',
    help: '--file-transport kernel: how long the whole transfer after one execution may take; then the execution ends with the refusal in its card.',
  }),
  transferRequestTimeoutMs: option({
    flag: 'transfer-timeout-s',
    env: 'TRANSFER_TIMEOUT_S',
    default: unset<number | null>(null, String(DEFAULT_TRANSFER_LIMITS.requestTimeoutMs / 1000)),
    parse: positive(1000),
    example: '30',
    help: '--file-transport kernel: how long one request to the kernel may take.',
  }),
  gatewayRootDir: option({
    flag: 'gateway-root-dir',
    env: 'GATEWAY_ROOT_DIR',
    default: unset<string | null>(null, 'the kernel workspace root'),
    parse: text,
    example: '/home/jovyan',
    help: "Jupyter Server's root_dir as the kernel sees it.",
  }),
  dataDir: option({
    flag: 'data-dir',
    env: 'DATA_DIR',
    default: './data/store',
    parse: text,
    example: '/srv/sidecar-store',
    help: 'Records, file copies and kernel-to-chat memory.',
  }),
  databaseUrl: option({
    flag: 'database-url',
    env: 'DATABASE_URL',
    default: unset<string | null>(null, 'none (lowdb in --data-dir)'),
    parse: postgresUrl,
    example: 'postgres://sidecar:PASSWORD@db:5432/sidecar',
    help: 'postgres://user:password@host:port/db: records, events, link revocations, the webhook outbox and kernel memory in PostgreSQL, for several sidecars. Prefer the variable: a flag shows in ps. Never logged.',
  }),
  databaseUrlFile: option({
    flag: null,
    env: 'DATABASE_URL_FILE',
    default: unset<string | null>(null, 'none'),
    parse: text,
    example: '/run/secrets/database_url',
    help: 'A file holding the database URL instead, so its password is not in the environment (a trailing newline is ignored; not with DATABASE_URL).',
  }),
  databasePoolSize: option({
    flag: 'database-pool-size',
    env: 'DATABASE_POOL_SIZE',
    default: '10',
    parse: positive(1),
    example: '10',
    help: 'Connections to PostgreSQL per sidecar, at most.',
  }),
  anonymousChat: option({
    flag: 'anonymous-chat',
    env: 'ANONYMOUS_CHAT',
    default: 'per-kernel',
    parse: anonymousChat,
    example: 'per-kernel',
    help: "Kernels created without a chat id: 'per-kernel' (a workspace of their own), 'reject', or a fixed chat id.",
  }),
  filesSecret: option({
    flag: null,
    env: 'FILES_API_SECRET',
    default: unset<string | null>(null, 'none (open API)'),
    parse: text,
    example: '$(openssl rand -hex 32)',
    help: 'HS256 secret for files-API tokens, 32 bytes or more. Unset: the files API is open.',
  }),
  filesSecretFile: option({
    flag: null,
    env: 'FILES_API_SECRET_FILE',
    default: unset<string | null>(null, 'none'),
    parse: text,
    example: '/run/secrets/files_api_secret',
    help: 'A file holding the files-API secret instead (a trailing newline is ignored; not with FILES_API_SECRET).',
  }),
  corsOrigins: option({
    flag: 'cors-origins',
    env: 'CORS_ORIGINS',
    default: unset<string[]>([], 'none'),
    parse: list,
    example: 'https://chat.example.com',
    help: 'Comma-separated origins allowed to call the files API (or *).',
  }),
  trackExtensions: option({
    flag: 'track-extensions',
    env: 'TRACK_EXTENSIONS',
    default: unset<string[] | null>(null, 'office, data, document and image formats'),
    parse: extensions,
    example: 'xlsx,csv,png',
    help: 'Comma-separated extensions to record, or * for all.',
  }),
  maxFileBytes: option({
    flag: 'max-file-mb',
    env: 'MAX_FILE_MB',
    default: unset<number | null>(null, String(DEFAULT_MAX_FILE_BYTES / MiB)),
    parse: positive(MiB),
    example: '512',
    help: 'Larger files are reported, not kept.',
  }),
  chatQuotaBytes: option({
    flag: 'chat-quota-mb',
    env: 'CHAT_QUOTA_MB',
    default: unset<number | null>(null, String(DEFAULT_QUOTA_BYTES / MiB)),
    parse: positive(MiB),
    example: '5120',
    help: 'Megabytes kept per chat, all versions counted, before new files are reported, not kept.',
  }),
  uploadMaxBytes: option({
    flag: 'upload-max-mb',
    env: 'UPLOAD_MAX_MB',
    default: '100',
    parse: positive(MiB),
    example: '100',
    help: 'Largest upload. A larger one gets a 413.',
  }),
  workspaceMaxAgeDays: option({
    flag: 'workspace-max-age-days',
    env: 'WORKSPACE_MAX_AGE_DAYS',
    default: unset<number | null>(null, 'never'),
    parse: positive(1),
    example: '30',
    help: 'Delete workspace files untouched this many days; recorded copies stay downloadable.',
  }),
  watchWorkspaces: option({
    flag: 'watch-workspaces',
    env: 'WATCH_WORKSPACES',
    default: 'on',
    parse: bool,
    example: 'off',
    help: 'Watch workspaces on local file systems (inotify) so a scan looks only at touched files; network and FUSE file systems are always walked whole. --no-watch-workspaces walks every time.',
  }),
  workspaceAuditMs: option({
    flag: 'workspace-audit-min',
    env: 'WORKSPACE_AUDIT_MIN',
    default: '10',
    parse: positive(60_000),
    example: '10',
    help: 'A watched workspace is still walked whole at least this often, in minutes.',
  }),
  executionTimeoutMs: option({
    flag: 'execution-timeout-s',
    env: 'EXECUTION_TIMEOUT_S',
    default: '3600',
    parse: positive(1000),
    example: '3600',
    help: 'An execution still running after this long is closed for tracking.',
  }),
  recordWaitMs: option({
    flag: 'record-wait-ms',
    env: 'RECORD_WAIT_MS',
    default: '10000',
    parse: positive(1),
    example: '10000',
    help: 'How long the message that ends an execution waits for its files to be recorded.',
  }),
  scanTimeoutMs: option({
    flag: 'scan-timeout-s',
    env: 'SCAN_TIMEOUT_S',
    default: '120',
    parse: positive(1000),
    example: '120',
    help: 'A workspace scan still running after this long gives up (ERR_SCAN_TIMEOUT); the next one records the rest.',
  }),
  allowHardLinks: option({
    flag: 'allow-hard-links',
    env: 'ALLOW_HARD_LINKS',
    default: 'off',
    parse: bool,
    example: 'on',
    help: "Record files with more than one hard link. Off: such files are skipped unless the sidecar wrote them (the kernel may have linked in another chat's or a host file).",
  }),
  gatewayTimeoutMs: option({
    flag: 'gateway-timeout-s',
    env: 'GATEWAY_TIMEOUT_S',
    default: '60',
    parse: positive(1000),
    example: '60',
    help: 'A gateway that does not answer in this long gets a 504.',
  }),
  previewMaxBytes: option({
    flag: 'preview-max-mb',
    env: 'PREVIEW_MAX_MB',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.maxBytes / MiB)),
    parse: positive(MiB),
    example: '50',
    help: 'Larger files are not previewed or diffed (413 ERR_PREVIEW_TOO_LARGE).',
  }),
  previewMaxUnzippedBytes: option({
    flag: 'preview-max-unzipped-mb',
    env: 'PREVIEW_MAX_UNZIPPED_MB',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.maxUnzippedBytes / MiB)),
    parse: positive(MiB),
    example: '200',
    help: "An xlsx, ods or docx that unpacks to more is not previewed (413 ERR_PREVIEW_UNZIPPED_TOO_LARGE): the zip's declared sizes are checked before anything is inflated, and inflating stops at the cap.",
  }),
  previewMaxRows: option({
    flag: 'preview-max-rows',
    env: 'PREVIEW_MAX_ROWS',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.maxRows)),
    parse: positive(1),
    example: '1000000',
    help: 'Tables with more rows are not previewed or diffed (413).',
  }),
  previewMaxColumns: option({
    flag: 'preview-max-columns',
    env: 'PREVIEW_MAX_COLUMNS',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.maxColumns)),
    parse: positive(1),
    example: '16384',
    help: 'Tables with more columns are not previewed or diffed (413).',
  }),
  previewMaxCells: option({
    flag: 'preview-max-cells',
    env: 'PREVIEW_MAX_CELLS',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.maxCells)),
    parse: positive(1),
    example: '2000000',
    help: 'Tables with more cells are not previewed or diffed (413).',
  }),
  previewMaxAnswerBytes: option({
    flag: 'preview-max-answer-mb',
    env: 'PREVIEW_MAX_ANSWER_MB',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.maxAnswerBytes / MiB)),
    parse: positive(MiB),
    example: '16',
    help: "Largest preview or diff answer (its JSON, made and counted on the render worker before it leaves it); a larger one is refused (413 ERR_PREVIEW_ANSWER_TOO_LARGE). Each cached answer counts in the cache's size too.",
  }),
  previewMaxCellChars: option({
    flag: 'preview-max-cell-chars',
    env: 'PREVIEW_MAX_CELL_CHARS',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.maxCellChars)),
    parse: positive(1),
    example: '1000',
    help: 'Characters of one cell shown in a preview or diff; longer cells are cut and end in …',
  }),
  previewCacheMaxBytes: option({
    flag: 'preview-cache-mb',
    env: 'PREVIEW_CACHE_MB',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.cacheMaxBytes / MiB)),
    parse: positive(MiB),
    example: '512',
    help: 'Rendered previews and diffs kept on disk ({data-dir}/previews, shared by all chats); past it the least recently used are deleted. Entries of deleted files go with retention.',
  }),
  previewTimeoutMs: option({
    flag: 'preview-timeout-ms',
    env: 'PREVIEW_TIMEOUT_MS',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.timeoutMs)),
    parse: positive(1),
    example: '10000',
    help: 'A render still running this long after its worker thread started is stopped, the thread terminated (422 ERR_PREVIEW_TIMEOUT).',
  }),
  previewConcurrency: option({
    flag: 'preview-concurrency',
    env: 'PREVIEW_CONCURRENCY',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.concurrency)),
    parse: positive(1),
    example: '2',
    help: 'Renders at once, all chats together, each on its own worker thread; the rest wait in a queue per chat.',
  }),
  previewChatConcurrency: option({
    flag: 'preview-chat-concurrency',
    env: 'PREVIEW_CHAT_CONCURRENCY',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.chatConcurrency)),
    parse: positive(1),
    example: '1',
    help: "Renders one chat may run at once, so one chat's slow files never hold the whole pool; freed slots go to waiting chats in turn.",
  }),
  previewChatQueue: option({
    flag: 'preview-chat-queue',
    env: 'PREVIEW_CHAT_QUEUE',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.chatQueue)),
    parse: positive(1),
    example: '8',
    help: "Renders one chat may have waiting; past it that chat's new ones get 503 ERR_PREVIEW_BUSY (other chats' queues are their own).",
  }),
  previewTimeoutMemoryMs: option({
    flag: 'preview-timeout-memory-s',
    env: 'PREVIEW_TIMEOUT_MEMORY_S',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.timeoutMemoryMs / 1000)),
    parse: positive(1000),
    example: '600',
    help: 'A preview or diff that ran out of time is remembered this long (by content hash and kind, for every chat) and answered 422 ERR_PREVIEW_TIMEOUT at once instead of being rendered again.',
  }),
  previewWorkerHeapMb: option({
    flag: 'preview-worker-heap-mb',
    env: 'PREVIEW_WORKER_HEAP_MB',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.workerHeapMb)),
    parse: positive(1),
    example: '512',
    help: "Heap of one render worker thread; a render that needs more is stopped (413 ERR_PREVIEW_TOO_LARGE). Renders keep files' unpacked contents on this heap, so the sidecar's memory for previews is about --preview-concurrency times this.",
  }),
  previewRows: option({
    flag: 'preview-rows',
    env: 'PREVIEW_ROWS',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.shownRows)),
    parse: positive(1),
    example: '100',
    help: 'Rows a table preview shows under its header row (all are counted).',
  }),
  previewColumns: option({
    flag: 'preview-columns',
    env: 'PREVIEW_COLUMNS',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.shownColumns)),
    parse: positive(1),
    example: '50',
    help: 'Columns a table preview or diff shows of each row (all are counted; the answer says how many there are).',
  }),
  diffRows: option({
    flag: 'diff-rows',
    env: 'DIFF_ROWS',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.diffListedRows)),
    parse: positive(1),
    example: '200',
    help: 'Changed rows a table diff lists per sheet (all are counted).',
  }),
  previewTextBytes: option({
    flag: 'preview-text-kb',
    env: 'PREVIEW_TEXT_KB',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.textBytes / KiB)),
    parse: positive(KiB),
    example: '256',
    help: 'Kilobytes of a text, code, JSON or Markdown file a preview shows; the rest is cut, and the preview says so.',
  }),
  diffTextBytes: option({
    flag: 'diff-text-mb',
    env: 'DIFF_TEXT_MB',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.diffTextBytes / MiB)),
    parse: positive(MiB),
    example: '4',
    help: 'Text versions larger than this are not diffed (413 ERR_PREVIEW_TOO_LARGE): a line diff is quadratic in the worst case.',
  }),
  previewMaxZipEntries: option({
    flag: 'preview-max-zip-entries',
    env: 'PREVIEW_MAX_ZIP_ENTRIES',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.maxZipEntries)),
    parse: positive(1),
    example: '10000',
    help: 'An xlsx, ods or docx whose zip lists more entries is not previewed (413 ERR_PREVIEW_UNZIPPED_TOO_LARGE); a real workbook has tens.',
  }),
  previewRememberedTimeouts: option({
    flag: 'preview-timeouts-kept',
    env: 'PREVIEW_TIMEOUTS_KEPT',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.rememberedTimeouts)),
    parse: positive(1),
    example: '10000',
    help: 'Renders that ran out of time remembered at once (see --preview-timeout-memory-s); past it the least recently used are forgotten.',
  }),
  previewWorkerStartMs: option({
    flag: 'preview-worker-start-s',
    env: 'PREVIEW_WORKER_START_S',
    default: unset<number | null>(null, String(DEFAULT_PREVIEW_LIMITS.workerStartMs / 1000)),
    parse: positive(1000),
    example: '60',
    help: "A render worker thread that has not loaded in this long is given up (503 ERR_PREVIEW_BUSY): the machine is overloaded, not the file at fault. The render's own time (--preview-timeout-ms) counts from when its worker has loaded.",
  }),
  demo: option({
    flag: 'demo',
    env: 'SIDECAR_DEMO',
    default: unset<boolean | null>(null, 'on with a local Jupyter only'),
    parse: bool,
    example: 'on',
    help: 'Serve the demo page at /sidecar/demo/ (--no-demo: never).',
  }),
  announceFiles: option({
    flag: 'announce-files',
    env: 'ANNOUNCE_FILES',
    default: 'rich',
    parse: announceMode,
    example: 'text',
    help: "The file card in the output of an execution that saved files: 'off', 'text' (text/plain) or 'rich' (plus Markdown and HTML).",
  }),
  publicUrl: option({
    flag: 'public-url',
    env: 'PUBLIC_URL',
    default: unset<URL | null>(null, "the client's Host"),
    parse: httpUrl('ERR_OPTIONS_URL', { folder: true }),
    example: 'https://files.example.com/',
    help: "The sidecar as users' browsers reach it: the base of links, and its host is allowed in Host headers.",
  }),
  linkTtlSeconds: option({
    flag: 'link-ttl',
    env: 'LINK_TTL',
    default: '7d',
    parse: lifetime,
    example: '7d',
    help: "Lifetime of a link's token: seconds, or with s/m/h/d (90, 15m, 12h, 7d; 0: never expires). Only with FILES_API_SECRET.",
  }),
  revocationSkewMs: option({
    flag: 'revocation-skew-s',
    env: 'REVOCATION_SKEW_S',
    default: '30',
    parse: durationOrZeroMs,
    example: '30',
    help: "How far the clocks of sidecars sharing one store may differ, in seconds (or with s/m/h/d; the tokens' own clock tolerance is 30 s). Revoking a chat's links refuses every link stamped before the revocation plus this, so a link minted by a sidecar whose clock is ahead does not outlive the revocation; links minted in the first this-long after a revocation are refused too.",
  }),
  webhookUrl: option({
    flag: 'webhook-url',
    env: 'WEBHOOK_URL',
    default: unset<URL | null>(null, 'none'),
    parse: httpUrl('ERR_OPTIONS_URL', { folder: false }),
    example: 'https://app.example.com/hooks/files',
    help: 'POST one signed JSON delivery per recorded file version here (at least once, from a durable outbox).',
  }),
  webhookSecret: option({
    flag: null,
    env: 'WEBHOOK_SECRET',
    default: unset<string | null>(null, 'none'),
    parse: text,
    example: '$(openssl rand -hex 32)',
    help: 'HMAC-SHA256 key for webhook signatures; required with --webhook-url.',
  }),
  webhookSecretFile: option({
    flag: null,
    env: 'WEBHOOK_SECRET_FILE',
    default: unset<string | null>(null, 'none'),
    parse: text,
    example: '/run/secrets/webhook_secret',
    help: 'A file holding the webhook key instead (a trailing newline is ignored; not with WEBHOOK_SECRET).',
  }),
  webhookMaxAgeMs: option({
    flag: 'webhook-max-age',
    env: 'WEBHOOK_MAX_AGE',
    default: '1d',
    parse: durationMs,
    example: '1d',
    help: 'Deliveries still failing after this long are kept as failed (shown by /sidecar/v1/health): seconds, or with s/m/h/d.',
  }),
  webhookRetryMinMs: option({
    flag: 'webhook-retry-min',
    env: 'WEBHOOK_RETRY_MIN',
    default: '1s',
    parse: delayMs,
    example: '1s',
    help: 'First retry delay of a failed delivery, doubled after each failure (with jitter): milliseconds with ms, or seconds, or with s/m/h/d.',
  }),
  webhookRetryMaxMs: option({
    flag: 'webhook-retry-max',
    env: 'WEBHOOK_RETRY_MAX',
    default: '5m',
    parse: delayMs,
    example: '5m',
    help: 'Longest retry delay of a failed delivery: milliseconds with ms, or seconds, or with s/m/h/d.',
  }),
  allowedHosts: option({
    flag: 'allowed-hosts',
    env: 'ALLOWED_HOSTS',
    default: unset<string[]>([], 'none'),
    parse: hosts,
    example: 'sidecar,sidecar.internal:8890',
    help: 'More Host header values to answer besides loopback names and --public-url, comma-separated: name (any port) or name:port. Others get a 403.',
  }),
  maxFrameBytes: option({
    flag: 'max-frame-mb',
    env: 'MAX_FRAME_MB',
    default: '32',
    parse: positive(MiB),
    example: '32',
    help: 'Largest kernel WebSocket frame, either direction. A larger one closes the socket (1009).',
  }),
  maxInFlightBytes: option({
    flag: 'max-in-flight-mb',
    env: 'MAX_IN_FLIGHT_MB',
    default: '256',
    parse: positive(MiB),
    example: '256',
    help: 'Frame bytes held across all kernel connections before the sidecar stops reading. Execute requests held for a busy kernel (queued behind a running cell) count apart, in half of it: past that, the connections holding the most stop being read until their requests have gone to the kernel.',
  }),
  tokenMaxLifetimeS: option({
    flag: 'token-max-lifetime-s',
    env: 'TOKEN_MAX_LIFETIME_S',
    default: String(DEFAULT_TOKEN_MAX_LIFETIME_S),
    parse: positive(1),
    example: '86400',
    help: 'Files-API tokens valid for longer than this are refused.',
  }),
  cardMaxFiles: option({
    flag: 'card-max-files',
    env: 'CARD_MAX_FILES',
    default: '5',
    parse: positive(1),
    example: '5',
    help: "Files a file card names one by one; a run that wrote more gets their count and one link to the chat's zip.",
  }),
  mcp: option({
    flag: 'mcp',
    env: 'SIDECAR_MCP',
    default: 'off',
    parse: bool,
    example: 'true',
    help: "Serve MCP (Streamable HTTP) at /mcp: an execute_code tool and the chat's files as resources, through the same gateway.",
  }),
  mcpApiKey: option({
    flag: null,
    env: 'MCP_API_KEY',
    default: unset<string | null>(null, 'none (files-API tokens, else loopback only)'),
    parse: text,
    example: '$(openssl rand -hex 32)',
    help: 'Bearer key MCP hosts send. Without it (and without FILES_API_SECRET) /mcp answers loopback callers only.',
  }),
  mcpApiKeyFile: option({
    flag: null,
    env: 'MCP_API_KEY_FILE',
    default: unset<string | null>(null, 'none'),
    parse: text,
    example: '/run/secrets/mcp_api_key',
    help: 'A file holding the MCP key instead (a trailing newline is ignored; not with MCP_API_KEY).',
  }),
  gatewayToken: option({
    flag: null,
    env: 'GATEWAY_TOKEN',
    default: unset<string | null>(null, "the local Jupyter Server's, else none"),
    parse: text,
    example: '$JUPYTER_TOKEN',
    help: "The gateway's token, for the kernels the MCP server starts itself (clients of the Jupyter path send their own).",
  }),
  gatewayTokenFile: option({
    flag: null,
    env: 'GATEWAY_TOKEN_FILE',
    default: unset<string | null>(null, 'none'),
    parse: text,
    example: '/run/secrets/jupyter_token',
    help: "A file holding the gateway's token instead (not with GATEWAY_TOKEN).",
  }),
  mcpChatHeaders: option({
    flag: 'mcp-chat-header',
    env: 'MCP_CHAT_HEADER',
    default: 'X-OpenWebUI-Chat-Id,X-Chat-Id',
    parse: headerNames,
    example: 'X-OpenWebUI-Chat-Id,X-Chat-Id',
    help: "Headers that name the chat of an MCP call, first found wins (else the token's chat, else the MCP session).",
  }),
  mcpTimeoutMs: option({
    flag: 'mcp-timeout-s',
    env: 'MCP_TIMEOUT_S',
    default: '120',
    parse: positive(1000),
    example: '120',
    help: 'An execute_code call running longer is interrupted, and its result says so.',
  }),
  mcpQueueLength: option({
    flag: 'mcp-queue',
    env: 'MCP_QUEUE',
    default: '4',
    parse: positive(1),
    example: '4',
    help: "Calls that may wait behind a chat's running call; more are refused as busy.",
  }),
  mcpIdleMs: option({
    flag: 'mcp-idle-min',
    env: 'MCP_IDLE_MIN',
    default: '30',
    parse: minutesOrNever,
    example: '30',
    help: "A chat's tool kernel unused this many minutes is shut down (its files stay; 0: never).",
  }),
  mcpMaxKernels: option({
    flag: 'mcp-max-kernels',
    env: 'MCP_MAX_KERNELS',
    default: '20',
    parse: positive(1),
    example: '20',
    help: 'Tool kernels this sidecar keeps at once; a new chat past it gets a clear error.',
  }),
  mcpOutputChars: option({
    flag: 'mcp-output-chars',
    env: 'MCP_OUTPUT_CHARS',
    default: '20000',
    parse: positive(1),
    example: '20000',
    help: 'Characters of text a tool result carries; longer output is cut to its head and tail, with a note.',
  }),
  mcpAppTokenTtlS: option({
    flag: 'mcp-app-token-ttl-s',
    env: 'MCP_APP_TOKEN_TTL_S',
    default: '900',
    parse: positive(1),
    example: '900',
    help: 'Life of the read-only chat token a tool result hands the MCP App (the file list inside the host); the App asks for a new one through list_files.',
  }),
  metrics: option({
    flag: 'metrics',
    env: 'METRICS',
    default: 'off',
    parse: bool,
    example: 'on',
    help: "Serve Prometheus metrics at /metrics (the gateway's own /metrics is then not reachable through the sidecar).",
  }),
  metricsToken: option({
    flag: null,
    env: 'METRICS_TOKEN',
    default: unset<string | null>(null, 'none (open)'),
    parse: text,
    example: '$(openssl rand -hex 32)',
    help: 'Bearer token /metrics asks for (Prometheus: authorization.credentials). Unset: /metrics answers anyone who passes the Host check.',
  }),
  metricsTokenFile: option({
    flag: null,
    env: 'METRICS_TOKEN_FILE',
    default: unset<string | null>(null, 'none'),
    parse: text,
    example: '/run/secrets/metrics_token',
    help: 'A file holding the metrics token instead (a trailing newline is ignored; not with METRICS_TOKEN).',
  }),
  logFormat: option({
    flag: 'log-format',
    env: 'LOG_FORMAT',
    default: unset<LogFormat | null>(null, 'pretty on a terminal, else json'),
    parse: oneOf('ERR_OPTIONS_LOG_FORMAT', LOG_FORMATS),
    example: 'json',
    help: 'json: one JSON object per line (level, time, msg, reqId, kernelId, chatId); pretty: readable lines.',
  }),
  logLevel: option({
    flag: 'log-level',
    env: 'LOG_LEVEL',
    default: 'info',
    parse: oneOf('ERR_OPTIONS_LOG_LEVEL', LOG_LEVELS),
    example: 'warn',
    help: 'Lines below this level are not written: debug, info, warn, error or silent.',
  }),
  logChatIds: option({
    flag: 'log-chat-ids',
    env: 'LOG_CHAT_IDS',
    default: 'on',
    parse: bool,
    example: 'off',
    help: "Put the chat id on log lines (chatId). Off: the field is left out and chat ids in messages are replaced by 'chat:…'.",
  }),
  shutdownGraceMs: option({
    flag: 'shutdown-grace-s',
    env: 'SHUTDOWN_GRACE_S',
    default: '8',
    parse: positive(1000),
    example: '25',
    help: "On SIGTERM, executions in flight get this long to finish and be recorded before the sidecar exits; keep it under the container's stop timeout (10 s by default).",
  }),
};

type OptionValues = { [K in keyof typeof OPTIONS]: (typeof OPTIONS)[K] extends Option<infer T> ? T : never };

/** Variables the local Jupyter Server (started without --gateway-url) reads: documented here, read by local-jupyter.ts and main.ts. */
export const LOCAL_JUPYTER_VARIABLES: readonly { env: string; shown: string; help: string }[] = [
  { env: 'JUPYTER_TOKEN', shown: 'random', help: "The local Jupyter Server's token." },
  { env: 'JUPYTER_PYTHON', shown: '/usr/bin/python3', help: 'The Python that runs the local Jupyter Server.' },
];

/** The default as --help and README show it. */
export function shownDefault(o: Option<unknown>): string {
  return typeof o.default === 'string' ? o.default : o.default.shown;
}

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

const ENTRIES = Object.entries(OPTIONS) as [keyof typeof OPTIONS, Option<unknown>][];

/** Each option's value: its flag, else its variable, else its default (an empty value counts as unset). */
function readTable(flags: OptionSource, env: OptionSource): OptionValues {
  const known = new Set(ENTRIES.map(([, o]) => o.flag));
  for (const name of Object.keys(flags)) {
    if (!known.has(name))
      throw new OptionsError('ERR_OPTIONS_UNKNOWN', `Unknown option --${name}. Run with --help for the list.`);
  }
  const values: Record<string, unknown> = {};
  for (const [key, o] of ENTRIES) {
    const fromFlag = o.flag === null ? undefined : flags[o.flag];
    const raw = fromFlag ?? env[o.env];
    if (raw !== undefined && raw !== '') {
      const where =
        fromFlag !== undefined
          ? { name: `--${o.flag}`, example: `--${o.flag} ${o.example}` }
          : { name: o.env, example: `${o.env}=${o.example}` };
      values[key] = o.parse(raw, where);
    } else if (typeof o.default === 'string') {
      const where = { name: `the default of ${o.flag ? `--${o.flag}` : o.env}`, example: o.example };
      values[key] = o.parse(o.default, where);
    } else {
      values[key] = o.default.value;
    }
  }
  return values as OptionValues;
}

/**
 * An option's default value, as resolveOptions gives it: for parts built without the whole
 * options (tests, benches), so they get the same value the sidecar does.
 */
export function defaultOf<K extends keyof typeof OPTIONS>(key: K): OptionValues[K] {
  return readTable({}, {})[key];
}

/** Whether a gateway was given, so the entry point knows to start a local one. */
export function gatewayGiven(flags: OptionSource, env: OptionSource): boolean {
  const { flag, env: variable } = OPTIONS.gatewayUrl;
  return Boolean((flag ? flags[flag] : undefined) ?? env[variable]);
}

/**
 * Build the options once, from flags over environment over defaults, and verify them.
 * `gatewayUrl` may be left out here when the caller starts a local gateway and passes `localGateway`.
 */
export function resolveOptions(flags: OptionSource, env: OptionSource, localGateway?: URL): SidecarOptions {
  const values = readTable(flags, env);
  const {
    gatewayUrl,
    filesSecret,
    filesSecretFile,
    metricsToken,
    metricsTokenFile,
    demo,
    previewMaxBytes,
    previewMaxUnzippedBytes,
    previewMaxRows,
    previewMaxColumns,
    previewMaxCells,
    previewMaxAnswerBytes,
    previewMaxCellChars,
    previewCacheMaxBytes,
    previewTimeoutMs,
    previewConcurrency,
    previewChatConcurrency,
    previewChatQueue,
    previewTimeoutMemoryMs,
    previewWorkerHeapMb,
    previewRows,
    previewColumns,
    diffRows,
    previewTextBytes,
    diffTextBytes,
    previewMaxZipEntries,
    previewRememberedTimeouts,
    previewWorkerStartMs,
    mcp,
    mcpApiKey,
    mcpApiKeyFile,
    gatewayToken,
    gatewayTokenFile,
    webhookSecret,
    webhookSecretFile,
    databaseUrl,
    databaseUrlFile,
    mcpChatHeaders,
    mcpTimeoutMs,
    mcpQueueLength,
    mcpIdleMs,
    mcpMaxKernels,
    mcpOutputChars,
    mcpAppTokenTtlS,
    kernelVolumeClaim,
    kernelVolumeSubPath,
    transferChunkBytes,
    transferBytesPerRequest,
    transferRequestsInFlight,
    transferBytesPerExecution,
    transferListingBytes,
    transferMaxEntries,
    transferMaxDepth,
    transferTimeBudgetMs,
    transferRequestTimeoutMs,
    ...direct
  } = values;
  const webhookKey = secretFromEnvOrFile('WEBHOOK_SECRET', webhookSecret, webhookSecretFile);
  requireWebhookSecret({ ...values, webhookSecret: webhookKey });
  requireTransferWithinFrames(values);
  return {
    ...direct,
    webhookSecret: webhookKey,
    databaseUrl: databaseUrlFile
      ? postgresUrl(secretFromEnvOrFile('DATABASE_URL', databaseUrl, databaseUrlFile)!, {
          name: 'The URL in DATABASE_URL_FILE',
          example: OPTIONS.databaseUrl.example,
        })
      : databaseUrl,
    mcp: {
      enabled: mcp,
      apiKey: secretFromEnvOrFile('MCP_API_KEY', mcpApiKey, mcpApiKeyFile),
      gatewayToken: secretFromEnvOrFile('GATEWAY_TOKEN', gatewayToken, gatewayTokenFile),
      chatHeaders: mcpChatHeaders,
      timeoutMs: mcpTimeoutMs,
      queueLength: mcpQueueLength,
      idleMs: mcpIdleMs,
      maxKernels: mcpMaxKernels,
      outputChars: mcpOutputChars,
      appTokenTtlS: Math.min(mcpAppTokenTtlS, values.tokenMaxLifetimeS),
    },
    ...workspacePaths(values),
    gatewayUrl: gatewayOrLocal(gatewayUrl, localGateway),
    demo: demo ?? (gatewayUrl === null && localGateway !== undefined),
    filesSecret: filesApiSecret(filesSecret, filesSecretFile),
    metricsToken: secretFromEnvOrFile('METRICS_TOKEN', metricsToken, metricsTokenFile),
    kernelVolume: kernelVolumeClaim ? { claimName: kernelVolumeClaim, subPath: kernelVolumeSubPath } : null,
    transfer: {
      chunkBytes: transferChunkBytes,
      bytesPerRequest: transferBytesPerRequest,
      requestsInFlight: transferRequestsInFlight,
      bytesPerExecution: transferBytesPerExecution,
      listingBytes: transferListingBytes,
      maxEntries: transferMaxEntries,
      maxDepth: transferMaxDepth,
      timeBudgetMs: transferTimeBudgetMs,
      requestTimeoutMs: transferRequestTimeoutMs,
    },
    previews: {
      maxBytes: previewMaxBytes,
      maxUnzippedBytes: previewMaxUnzippedBytes,
      maxRows: previewMaxRows,
      maxColumns: previewMaxColumns,
      maxCells: previewMaxCells,
      maxAnswerBytes: previewMaxAnswerBytes,
      maxCellChars: previewMaxCellChars,
      cacheMaxBytes: previewCacheMaxBytes,
      timeoutMs: previewTimeoutMs,
      concurrency: previewConcurrency,
      chatConcurrency: previewChatConcurrency,
      chatQueue: previewChatQueue,
      timeoutMemoryMs: previewTimeoutMemoryMs,
      workerHeapMb: previewWorkerHeapMb,
      shownRows: previewRows,
      shownColumns: previewColumns,
      diffListedRows: diffRows,
      textBytes: previewTextBytes,
      diffTextBytes,
      maxZipEntries: previewMaxZipEntries,
      rememberedTimeouts: previewRememberedTimeouts,
      workerStartMs: previewWorkerStartMs,
    },
  };
}

// Rules that span options or reach beyond one value.

/** Gateway paths and links are resolved against the gateway's and the public URL: each must name a folder. */
function asFolder(url: URL): URL {
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** No --gateway-url: the local Jupyter Server the entry point started, or a coded error. */
function gatewayOrLocal(given: URL | null, localGateway: URL | undefined): URL {
  if (given) return given;
  if (localGateway) return asFolder(localGateway);
  throw new OptionsError(
    'ERR_OPTIONS_GATEWAY_MISSING',
    `No gateway: pass --gateway-url ${OPTIONS.gatewayUrl.example} (or GATEWAY_URL).`,
  );
}

/** The sidecar's folders resolved from the working directory; the kernel's views of them default to the same path. */
function workspacePaths(values: OptionValues) {
  const workspaceRoot = path.resolve(values.workspaceRoot);
  const kernelWorkspaceRoot = values.kernelWorkspaceRoot ?? workspaceRoot;
  return {
    workspaceRoot,
    kernelWorkspaceRoot,
    gatewayRootDir: values.gatewayRootDir ?? kernelWorkspaceRoot,
    dataDir: path.resolve(values.dataDir),
  };
}

/**
 * --file-transport kernel: a read's reply and a listing are one WebSocket frame each (the relay
 * closes the socket on a larger one), and an upload chunk is one message to Jupyter Server,
 * which refuses messages over 10 MiB by default (`websocket_max_message_size`).
 */
function requireTransferWithinFrames(values: OptionValues): void {
  const limits = DEFAULT_TRANSFER_LIMITS;
  const request = values.transferBytesPerRequest ?? limits.bytesPerRequest;
  const listing = values.transferListingBytes ?? limits.listingBytes;
  const largest = Math.max(request, listing);
  if (largest + TRANSFER_FRAME_MARGIN > values.maxFrameBytes)
    throw new OptionsError(
      'ERR_OPTIONS_TRANSFER',
      `--transfer-request-mb (${request / MiB}) and --transfer-listing-mb (${listing / MiB}) must each stay 1 MiB under --max-frame-mb (${values.maxFrameBytes / MiB}): each is one WebSocket frame. Example: --transfer-request-mb ${OPTIONS.transferBytesPerRequest.example}`,
    );
  const chunk = values.transferChunkBytes ?? limits.chunkBytes;
  if (chunk > MAX_UPLOAD_CHUNK_BYTES)
    throw new OptionsError(
      'ERR_OPTIONS_TRANSFER',
      `--transfer-chunk-kb (${chunk / KiB}) is over ${MAX_UPLOAD_CHUNK_BYTES / KiB}: an upload chunk is one message to Jupyter Server, which refuses messages over 10 MiB. Example: --transfer-chunk-kb ${OPTIONS.transferChunkBytes.example}`,
    );
}

function requireWebhookSecret(values: OptionValues): void {
  if (values.webhookRetryMaxMs < values.webhookRetryMinMs) {
    throw new OptionsError(
      'ERR_OPTIONS_WEBHOOK_RETRY',
      `--webhook-retry-max (${values.webhookRetryMaxMs} ms) is shorter than --webhook-retry-min (${values.webhookRetryMinMs} ms). Example: --webhook-retry-min ${OPTIONS.webhookRetryMinMs.example} --webhook-retry-max ${OPTIONS.webhookRetryMaxMs.example}`,
    );
  }
  if (values.webhookUrl && !values.webhookSecret) {
    throw new OptionsError(
      'ERR_OPTIONS_WEBHOOK_SECRET',
      `--webhook-url needs WEBHOOK_SECRET (or WEBHOOK_SECRET_FILE) in the environment, so receivers can verify deliveries. Example: WEBHOOK_SECRET=${OPTIONS.webhookSecret.example}`,
    );
  }
}

/**
 * The files-API secret, from FILES_API_SECRET or the file FILES_API_SECRET_FILE names (a mounted
 * secret: it is then not in the environment, which any process of the same user can read).
 */
function filesApiSecret(secret: string | null, file: string | null): string | null {
  const found = secretFromEnvOrFile('FILES_API_SECRET', secret, file);
  if (found && Buffer.byteLength(found) < 32) {
    throw new OptionsError(
      'ERR_OPTIONS_SECRET_TOO_SHORT',
      `FILES_API_SECRET must be at least 32 bytes (HS256 needs a 256-bit key). Example: FILES_API_SECRET=${OPTIONS.filesSecret.example}`,
    );
  }
  return found;
}

/** A secret from its variable (`NAME`) or from the file `NAME_FILE` names, never both. */
function secretFromEnvOrFile(name: string, secret: string | null, file: string | null): string | null {
  if (file && secret) {
    throw new OptionsError('ERR_OPTIONS_SECRET_TWICE', `Both ${name} and ${name}_FILE are set: unset one of them.`);
  }
  return file ? readSecretFile(`${name}_FILE`, file) : secret;
}

function readSecretFile(variable: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const errno = errorCode(error) ?? String(error);
    throw new OptionsError(
      'ERR_OPTIONS_SECRET_FILE',
      `${variable} ${JSON.stringify(file)} cannot be read (${errno}). Example: ${variable}=/run/secrets/${variable.replace(/_FILE$/, '').toLowerCase()}`,
    );
  }
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) throw new OptionsError('ERR_OPTIONS_SECRET_FILE', `${variable} ${JSON.stringify(file)} is empty.`);
  return secret;
}

/** Host header values: a name or an IP literal, with an optional port (allowed-hosts.ts's one pattern). */
function checkAllowedHosts(hostList: string[], where: Where): string[] {
  for (const host of hostList) {
    if (!parseHostHeader(host)) {
      throw new OptionsError(
        'ERR_OPTIONS_ALLOWED_HOSTS',
        `${where.name} takes host names or host:port, got ${JSON.stringify(host)}. Example: ${where.example}`,
      );
    }
  }
  return hostList;
}

/** What `--help` prints: the table, one option per entry. */
export function helpText(): string {
  const lines = ['Usage: generated-files-sidecar [options]', '', 'Options (flag, environment variable; flags win):'];
  for (const [, o] of ENTRIES) {
    lines.push(
      `  ${(o.flag ? `--${o.flag}` : '').padEnd(28)}${o.env}${o.flag ? '' : ' (environment only)'}`,
      `      ${o.help} Default: ${shownDefault(o)}.`,
    );
  }
  lines.push('', 'For the local Jupyter Server (started without --gateway-url):');
  for (const v of LOCAL_JUPYTER_VARIABLES)
    lines.push(`  ${''.padEnd(28)}${v.env}`, `      ${v.help} Default: ${v.shown}.`);
  return lines.join('\n');
}
