import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler } from 'express';
import { describeError, redactUrl, type Logger } from './logger.ts';

/**
 * The sidecar's one error vocabulary: every code it throws, in one typed table (its HTTP status
 * and what a client may see of it), one coded error type, one way to read a code off anything
 * thrown, one JSON body, one Express error handler, one sender for HTTP responses and one for raw
 * upgrade sockets.
 *
 * To add a code: add one line to ERRORS, with its `status` and its `client` rule (`true`: the
 * error's own message is written for the client; a string: the client gets this fixed message
 * instead, because the error's own may name a server path, a host or a secret; `false`: the
 * client only ever sees ERR_INTERNAL). Then throw `new SidecarError(code, message)` or a subclass
 * that narrows the code. A code that is not in the table, or an entry without a status, does not
 * type-check.
 */

export interface ErrorKind {
  readonly status: number;
  readonly client: boolean | string;
}

const INTERNAL_MESSAGE = 'Internal sidecar error.';

export const ERRORS = {
  // Requests the client got wrong: its own message tells it how to fix them.
  ERR_BAD_REQUEST: { status: 400, client: true },
  ERR_INVALID_CHAT_ID: { status: 400, client: true },
  ERR_INVALID_FILE_ID: { status: 400, client: true },
  ERR_INVALID_KERNEL_ID: { status: 400, client: true },
  ERR_INVALID_PATH: { status: 400, client: true },
  ERR_UPLOAD_NAME_NOT_PORTABLE: { status: 400, client: true },
  ERR_PATH_OUTSIDE_WORKSPACE: { status: 400, client: true },
  ERR_CHAT_REQUIRED: { status: 400, client: true },
  ERR_KERNEL_ENV_REFUSED: { status: 400, client: true },
  ERR_KERNEL_NOT_PYTHON: { status: 400, client: true },
  // MCP tool calls (answered as tool errors with these codes; statuses for HTTP's sake).
  ERR_MCP_CHAT_MISMATCH: { status: 403, client: true },
  ERR_MCP_RESOURCE_TOO_LARGE: { status: 413, client: true },
  ERR_MCP_BUSY: { status: 429, client: true },
  ERR_MCP_KERNEL_LIMIT: { status: 503, client: true },
  ERR_UNAUTHORIZED: { status: 401, client: true },
  ERR_TOKEN_SCOPE: { status: 403, client: true },
  ERR_HOST_NOT_ALLOWED: { status: 403, client: true },
  ERR_DEMO_CONFIG_FORBIDDEN: { status: 403, client: true },
  ERR_CHAT_NOT_FOUND: { status: 404, client: true },
  ERR_FILE_NOT_FOUND: { status: 404, client: true },
  ERR_NOT_FOUND: { status: 404, client: true },
  ERR_WORKSPACE_CHANGED: { status: 409, client: true },
  ERR_CHAT_OTHER_OWNER: { status: 409, client: true },
  ERR_KERNEL_OTHER_CHAT: { status: 409, client: true },
  // Its message names the workspace's server path.
  ERR_WORKSPACE_OUTSIDE_ROOT: {
    status: 409,
    client: "This chat's workspace is a symlink or lies outside the workspace root: nothing is written into it.",
  },
  ERR_UPLOAD_CONFLICT: { status: 412, client: true },
  ERR_UPLOAD_TOO_LARGE: { status: 413, client: true },
  ERR_QUOTA_EXCEEDED: { status: 413, client: true },
  ERR_BODY_TOO_LARGE: { status: 413, client: true },
  ERR_RANGE_NOT_SATISFIABLE: { status: 416, client: true },
  ERR_PREVIEW_TOO_LARGE: { status: 413, client: true },
  ERR_PREVIEW_UNZIPPED_TOO_LARGE: { status: 413, client: true },
  ERR_PREVIEW_TOO_MANY_ROWS: { status: 413, client: true },
  ERR_PREVIEW_TOO_MANY_COLUMNS: { status: 413, client: true },
  ERR_PREVIEW_TOO_MANY_CELLS: { status: 413, client: true },
  ERR_PREVIEW_ANSWER_TOO_LARGE: { status: 413, client: true },
  ERR_PREVIEW_TIMEOUT: { status: 422, client: true },
  ERR_PREVIEW_UNSUPPORTED: { status: 422, client: true },
  ERR_PREVIEW_UNREADABLE: { status: 422, client: true },
  ERR_PREVIEW_BUSY: { status: 503, client: true },
  ERR_WIDGET_NOT_BUILT: { status: 503, client: true },

  // The server's side: the client learns the code, with a fixed message (the error's own may
  // name hosts, ports, paths or the database URL).
  ERR_GATEWAY_FAILED: { status: 502, client: 'The connection to the Jupyter gateway failed.' },
  ERR_GATEWAY_UNREACHABLE: { status: 502, client: 'The Jupyter gateway cannot be reached. Is it running?' },
  ERR_GATEWAY_TIMEOUT: { status: 504, client: 'The Jupyter gateway did not answer in time.' },
  ERR_SIDECAR_CLOSING: { status: 503, client: 'The sidecar is shutting down. Try again shortly.' },
  ERR_STORE_UNAVAILABLE: { status: 503, client: 'The file store (database) is unavailable; try again shortly.' },
  ERR_BLOB_NO_SPACE: { status: 507, client: 'The sidecar has no disk space left.' },
  ERR_BLOB_NOT_FOUND: { status: 500, client: INTERNAL_MESSAGE },
  ERR_KERNEL_VOLUME_CONFIG: {
    status: 500,
    client: "The sidecar's kernel volume settings break Enterprise Gateway's env rules; see its log.",
  },
  ERR_INTERNAL: { status: 500, client: INTERNAL_MESSAGE },

  // Never sent: failures the sidecar handles, logs or stops on. A client sees ERR_INTERNAL.
  ERR_BLOB_WRITE_FAILED: { status: 500, client: false },
  ERR_BLOB_SOURCE: { status: 500, client: false },
  ERR_BLOB_TOO_LARGE: { status: 500, client: false },
  ERR_INVALID_SHA: { status: 500, client: false },
  ERR_SCAN_TIMEOUT: { status: 500, client: false },
  ERR_WALKER_CLOSED: { status: 500, client: false },
  ERR_WATCH_BARRIER_TIMEOUT: { status: 500, client: false },
  ERR_TOO_MANY_FOLDERS: { status: 500, client: false },
  ERR_FILE_SHORTER_THAN_EXPECTED: { status: 500, client: false },
  ERR_RECORD_LOG_ROLLBACK: { status: 500, client: false },
  ERR_RECORD_STORE_CORRUPT: { status: 500, client: false },
  ERR_FRAME_DECODE: { status: 500, client: false },
  // The kernel file transport (--file-transport kernel): named in the file card, never an HTTP answer.
  ERR_TRANSPORT_TIMEOUT: { status: 500, client: false },
  ERR_TRANSPORT_CLOSED: { status: 500, client: false },
  ERR_TRANSPORT_KERNEL_ERROR: { status: 500, client: false },
  ERR_TRANSPORT_PROTOCOL: { status: 500, client: false },
  ERR_TRANSPORT_NO_CHANNEL: { status: 500, client: false },
  ERR_TRANSPORT_NO_HANDLER: { status: 500, client: false },
  ERR_JSON_FIELDS: { status: 500, client: false },
  ERR_DATABASE_URL: { status: 500, client: false },
  ERR_DATABASE_UNREACHABLE: { status: 500, client: false },
  ERR_DATABASE_AUTH: { status: 500, client: false },
  ERR_DATABASE_MISSING: { status: 500, client: false },
  ERR_DATABASE_SCHEMA_TOO_NEW: { status: 500, client: false },
  ERR_DATABASE_START: { status: 500, client: false },
  ERR_CONFIG_AUTH_SECRET_TOO_SHORT: { status: 500, client: false },
  ERR_OPTIONS_ALLOWED_HOSTS: { status: 500, client: false },
  ERR_OPTIONS_ANNOUNCE_FILES: { status: 500, client: false },
  ERR_OPTIONS_ANONYMOUS_CHAT: { status: 500, client: false },
  ERR_OPTIONS_ARGUMENT: { status: 500, client: false },
  ERR_OPTIONS_DATABASE_URL: { status: 500, client: false },
  ERR_OPTIONS_DURATION: { status: 500, client: false },
  ERR_OPTIONS_FILE_TRANSPORT: { status: 500, client: false },
  ERR_OPTIONS_GATEWAY_MISSING: { status: 500, client: false },
  ERR_OPTIONS_GATEWAY_URL: { status: 500, client: false },
  ERR_OPTIONS_HEADER: { status: 500, client: false },
  ERR_OPTIONS_KERNEL_VOLUME: { status: 500, client: false },
  ERR_OPTIONS_LOG_FORMAT: { status: 500, client: false },
  ERR_OPTIONS_LOG_LEVEL: { status: 500, client: false },
  ERR_OPTIONS_MIGRATE_STORE: { status: 500, client: false },
  ERR_OPTIONS_NUMBER: { status: 500, client: false },
  ERR_OPTIONS_PATH: { status: 500, client: false },
  ERR_OPTIONS_SECRET_FILE: { status: 500, client: false },
  ERR_OPTIONS_SECRET_TOO_SHORT: { status: 500, client: false },
  ERR_OPTIONS_SECRET_TWICE: { status: 500, client: false },
  ERR_OPTIONS_TOKEN: { status: 500, client: false },
  ERR_OPTIONS_TRANSFER: { status: 500, client: false },
  ERR_PORT_TAKEN: { status: 500, client: false },
  ERR_OPTIONS_UNKNOWN: { status: 500, client: false },
  ERR_OPTIONS_URL: { status: 500, client: false },
  ERR_OPTIONS_WEBHOOK_SECRET: { status: 500, client: false },
  ERR_OPTIONS_WEBHOOK_RETRY: { status: 500, client: false },
} as const satisfies Readonly<Record<`ERR_${string}`, ErrorKind>>;

export type ErrorCode = keyof typeof ERRORS;

/** Codes whose message may name a path, a host or a secret: never sent as they are. */
type ClientCode = { [C in ErrorCode]: (typeof ERRORS)[C]['client'] extends true ? C : never }[ErrorCode];

/** An error with a stable code from ERRORS. Its status and what a client sees of it come from there. */
export class SidecarError<Code extends ErrorCode = ErrorCode> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }
}

/** The `code` of anything thrown (errno names, SQLSTATEs, our codes), or undefined. */
export function errorCode(error: unknown): string | undefined {
  return error && typeof error === 'object' && 'code' in error && error.code !== undefined && error.code !== null
    ? String(error.code)
    : undefined;
}

/** Is this one of the sidecar's codes? (Errno names, SQLSTATEs and the rest are not.) */
export function isKnownCode(code: string | undefined): code is ErrorCode {
  return code !== undefined && Object.hasOwn(ERRORS, code);
}

/** The HTTP status of a code; anything not in the table is a 500. */
export function statusForCode(code: string): number {
  return isKnownCode(code) ? ERRORS[code].status : 500;
}

export interface ClientReply {
  status: number;
  code: ErrorCode;
  message: string;
  /** The server's fault: log it. */
  logged: boolean;
}

/**
 * What a client is told about anything thrown, by the table's `client` rule: the code and the
 * error's own message, the code and a fixed message, or ERR_INTERNAL.
 */
export function clientReplyFor(error: unknown): ClientReply {
  const code = errorCode(error);
  if (!isKnownCode(code) || ERRORS[code].client === false)
    return { status: 500, code: 'ERR_INTERNAL', message: INTERNAL_MESSAGE, logged: true };
  const { status, client } = ERRORS[code];
  if (client === true && error instanceof Error) return { status, code, message: error.message, logged: status >= 500 };
  return { status, code, message: typeof client === 'string' ? client : INTERNAL_MESSAGE, logged: status >= 500 };
}

/**
 * The JSON error body: `{ error: { code, message } }`. On Jupyter's own routes (passthrough,
 * kernels, channels) it also carries a top-level `message`, which Jupyter clients
 * (`@jupyterlab/services`' ResponseError) read from a Jupyter Server error.
 */
function errorBody(code: string, message: string, jupyter: boolean | undefined): string {
  return JSON.stringify(jupyter ? { error: { code, message }, message } : { error: { code, message } });
}

/**
 * A refusal the sidecar writes itself: a code whose message is written for the client, with that
 * message, or any other code, which gets the fixed message the table gives it.
 */
export type ErrorReply = (
  { code: ClientCode; message: string } | { code: Exclude<ErrorCode, ClientCode>; message?: undefined }
) &
  SendOptions;

export interface SendOptions {
  /** Add Jupyter's top-level `message` (see errorBody). */
  jupyter?: boolean;
  headers?: Record<string, string>;
}

function replyOf(reply: ErrorReply): { status: number; code: ErrorCode; message: string } {
  const { status, client } = ERRORS[reply.code];
  return {
    status,
    code: reply.code,
    message: reply.message ?? (typeof client === 'string' ? client : INTERNAL_MESSAGE),
  };
}

const JSON_TYPE = 'application/json; charset=utf-8';

function writeJsonError(
  res: ServerResponse,
  reply: { status: number; code: string; message: string },
  options: SendOptions,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(reply.code, reply.message, options.jupyter);
  res.writeHead(reply.status, {
    ...options.headers,
    'Content-Type': JSON_TYPE,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Answer an HTTP request with the JSON error (if nothing was sent yet; else the response is cut). */
export function sendJsonError(res: ServerResponse, reply: ErrorReply): void {
  writeJsonError(res, replyOf(reply), reply);
}

/** Answer an HTTP request about anything thrown, by clientReplyFor's rule; returns the reply (log it when `logged`). */
export function sendErrorFor(res: ServerResponse, error: unknown, options: SendOptions = {}): ClientReply {
  const reply = clientReplyFor(error);
  writeJsonError(res, reply, options);
  return reply;
}

/** The one place a raw upgrade socket gets an HTTP response written by hand. */
export function writeRawResponse(
  socket: Duplex,
  status: number,
  contentType: string,
  body: Buffer | string,
  statusText = STATUS_CODES[status] ?? 'Error',
): void {
  if (!socket.writable) return void socket.destroy();
  socket.write(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
  );
  socket.end(body);
}

/** Refuse a WebSocket upgrade with the JSON error (Jupyter's shape) as a plain HTTP response on the raw socket. */
export function refuseUpgrade(socket: Duplex, reply: ErrorReply | ClientReply): void {
  const { status, code, message } = 'status' in reply ? reply : replyOf(reply);
  writeRawResponse(socket, status, JSON_TYPE, errorBody(code, message, true));
}

/** Refuse an upgrade for anything thrown, by clientReplyFor's rule; returns the reply (log it when `logged`). */
export function refuseUpgradeFor(socket: Duplex, error: unknown): ClientReply {
  const reply = clientReplyFor(error);
  refuseUpgrade(socket, reply);
  return reply;
}

/**
 * The one Express error handler, for the files API and Jupyter's routes alike (`jupyter`: add the
 * top-level `message` Jupyter clients read). A coded error is answered by errors.ts's table; an
 * Express client error (a body too large, a malformed percent-encoding) with its 4xx kind and a
 * fixed message; anything else is logged and answered 500 ERR_INTERNAL. Never cached.
 */
export function createErrorHandler(options: { logger: Logger; jupyter: boolean }): ErrorRequestHandler {
  const { logger, jupyter } = options;
  return (error: unknown, req, res, _next) => {
    const reply = sendErrorFor(res, asCodedError(error), { jupyter, headers: { 'Cache-Control': 'no-store' } });
    if (reply.logged)
      logger.error(`[sidecar] ${req.method} ${redactUrl(req.originalUrl)} failed: ${describeError(error)}`);
  };
}

/** Express's own client errors (http-errors: a 4xx `status`, no code of ours) as coded errors. */
function asCodedError(error: unknown): unknown {
  if (isKnownCode(errorCode(error))) return error;
  const status = error && typeof error === 'object' && 'status' in error ? Number(error.status) : NaN;
  if (status === 413) return new SidecarError('ERR_BODY_TOO_LARGE', 'The request body is too large.');
  if (status >= 400 && status < 500) return new SidecarError('ERR_BAD_REQUEST', 'The request is malformed.');
  return error;
}
