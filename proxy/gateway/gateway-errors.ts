import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface GatewayFailure {
  status: 502 | 503 | 504;
  code: string;
  message: string;
}

/** What a network error talking to the gateway means for the client: a pure function, tested from a table. */
export function gatewayFailure(errorCode: string | undefined): GatewayFailure {
  switch (errorCode) {
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
    case 'ERR_GATEWAY_TIMEOUT':
      return { status: 504, code: 'ERR_GATEWAY_TIMEOUT', message: 'The Jupyter gateway did not answer in time.' };
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { status: 502, code: 'ERR_GATEWAY_UNREACHABLE', message: 'The Jupyter gateway cannot be reached. Is it running?' };
    case 'ERR_SIDECAR_CLOSING':
      return { status: 503, code: 'ERR_SIDECAR_CLOSING', message: 'The sidecar is shutting down. Try again shortly.' };
    default:
      return { status: 502, code: 'ERR_GATEWAY_FAILED', message: 'The connection to the Jupyter gateway failed.' };
  }
}

export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message }, message });
}

/** Answer an HTTP request with a JSON error (if nothing was sent yet). */
export function sendJsonError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(code, message);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Refuse a WebSocket upgrade with a plain HTTP response on the raw socket. */
export function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = errorBody(code, message);
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
