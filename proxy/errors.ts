import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The sidecar's one error vocabulary: a coded error type, one way to read a code off anything
 * thrown, one table from code to HTTP status, one JSON body and one sender (for HTTP responses
 * and for raw upgrade sockets). Anything without a code in the table is a 500.
 */

/** An error with a stable code. Its message is written for whoever receives it. */
export class SidecarError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  get status(): number {
    return statusForCode(this.code);
  }
}

/** The `code` of anything thrown (errno names, SQLSTATEs, our codes), or undefined. */
export function errorCode(error: unknown): string | undefined {
  return error && typeof error === 'object' && 'code' in error && error.code !== undefined && error.code !== null
    ? String(error.code)
    : undefined;
}

/** Every code sent to a client, with its status. Codes not listed are 500. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  ERR_BAD_REQUEST: 400,
  ERR_INVALID_CHAT_ID: 400,
  ERR_INVALID_FILE_ID: 400,
  ERR_INVALID_KERNEL_ID: 400,
  ERR_INVALID_PATH: 400,
  ERR_PATH_OUTSIDE_WORKSPACE: 400,
  ERR_CHAT_REQUIRED: 400,
  ERR_MCP_CHAT_MISMATCH: 403,
  ERR_MCP_BUSY: 429,
  ERR_MCP_RESOURCE_TOO_LARGE: 413,
  ERR_MCP_KERNEL_LIMIT: 503,
  ERR_UNAUTHORIZED: 401,
  ERR_TOKEN_SCOPE: 403,
  ERR_HOST_NOT_ALLOWED: 403,
  ERR_DEMO_CONFIG_FORBIDDEN: 403,
  ERR_CHAT_NOT_FOUND: 404,
  ERR_FILE_NOT_FOUND: 404,
  ERR_NOT_FOUND: 404,
  ERR_WORKSPACE_OUTSIDE_ROOT: 409,
  ERR_WORKSPACE_CHANGED: 409,
  ERR_CHAT_OTHER_OWNER: 409,
  ERR_KERNEL_OTHER_CHAT: 409,
  ERR_UPLOAD_CONFLICT: 412,
  ERR_UPLOAD_TOO_LARGE: 413,
  ERR_QUOTA_EXCEEDED: 413,
  ERR_BODY_TOO_LARGE: 413,
  ERR_RANGE_NOT_SATISFIABLE: 416,
  ERR_PREVIEW_TOO_LARGE: 413,
  ERR_PREVIEW_UNZIPPED_TOO_LARGE: 413,
  ERR_PREVIEW_TOO_MANY_ROWS: 413,
  ERR_PREVIEW_TOO_MANY_COLUMNS: 413,
  ERR_PREVIEW_TOO_MANY_CELLS: 413,
  ERR_PREVIEW_TIMEOUT: 422,
  ERR_PREVIEW_UNSUPPORTED: 422,
  ERR_PREVIEW_UNREADABLE: 422,
  ERR_PREVIEW_BUSY: 503,
  ERR_GATEWAY_FAILED: 502,
  ERR_GATEWAY_UNREACHABLE: 502,
  ERR_GATEWAY_TIMEOUT: 504,
  ERR_SIDECAR_CLOSING: 503,
  ERR_WIDGET_NOT_BUILT: 503,
  ERR_STORE_UNAVAILABLE: 503,
  ERR_BLOB_NO_SPACE: 507,
  ERR_BLOB_NOT_FOUND: 500,
  ERR_INTERNAL: 500,
};

export function statusForCode(code: string): number {
  return STATUS_BY_CODE[code] ?? 500;
}

/** Is this code one the table knows? (Anything else is reported as ERR_INTERNAL.) */
export function isKnownCode(code: string | undefined): code is string {
  return code !== undefined && Object.hasOwn(STATUS_BY_CODE, code);
}

/** Server-side codes whose own messages may name hosts, ports or paths: the client gets these instead. */
const SERVER_MESSAGES: Readonly<Record<string, string>> = {
  ERR_STORE_UNAVAILABLE: 'The file store (database) is unavailable; try again shortly.',
  ERR_BLOB_NO_SPACE: 'The sidecar has no disk space left.',
};

/**
 * What a client is told about anything thrown: a known code below 500 with the error's own
 * message (written for the client), a known server-side code with a fixed message, anything
 * else as ERR_INTERNAL. `logged` says whether it is the server's fault (log it).
 */
export function clientReplyFor(
  error: unknown,
  internalMessage = 'Internal sidecar error.',
): { code: string; message: string; logged: boolean } {
  const known = errorCode(error);
  if (!isKnownCode(known)) return { code: 'ERR_INTERNAL', message: internalMessage, logged: true };
  if (statusForCode(known) < 500 && error instanceof Error)
    return { code: known, message: error.message, logged: false };
  return { code: known, message: SERVER_MESSAGES[known] ?? internalMessage, logged: true };
}

/**
 * The JSON error body: `{ error: { code, message } }`. On Jupyter's own routes (passthrough,
 * kernels, channels) it also carries a top-level `message`, which Jupyter clients
 * (`@jupyterlab/services`' ResponseError) read from a Jupyter Server error.
 */
export function errorBody(code: string, message: string, options: { jupyter?: boolean } = {}): string {
  return JSON.stringify(options.jupyter ? { error: { code, message }, message } : { error: { code, message } });
}

export interface ErrorReply {
  status?: number;
  code: string;
  message: string;
  /** Add Jupyter's top-level `message` (see errorBody). */
  jupyter?: boolean;
  headers?: Record<string, string>;
}

/** Answer an HTTP request with the JSON error (if nothing was sent yet). */
export function sendJsonError(res: ServerResponse, reply: ErrorReply): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(reply.code, reply.message, reply);
  res.writeHead(reply.status ?? statusForCode(reply.code), {
    ...reply.headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Refuse a WebSocket upgrade with the JSON error as a plain HTTP response on the raw socket. */
export function refuseUpgrade(socket: Duplex, reply: ErrorReply): void {
  if (!socket.writable) return void socket.destroy();
  const status = reply.status ?? statusForCode(reply.code);
  const body = errorBody(reply.code, reply.message, reply);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
