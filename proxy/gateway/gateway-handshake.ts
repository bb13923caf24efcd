import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { refuseUpgrade, writeRawResponse } from '../errors.ts';
import { describeError, type Logger } from '../logger.ts';
import { sameOriginAsGateway } from './forward-headers.ts';
import { gatewayFailure } from './gateway-errors.ts';

/** Headers the gateway needs to authenticate the socket, and nothing that belongs to this hop. */
const FORWARDED_HEADERS = [
  'authorization',
  'cookie',
  'x-xsrftoken',
  'user-agent',
  'x-forwarded-for',
  'x-forwarded-proto',
];

export interface DialOptions {
  gateway: URL;
  handshakeTimeoutMs: number;
  maxPayload: number;
}

/**
 * Open the gateway's socket for one client's channels upgrade: the client's path and query under
 * the gateway, its auth headers and offered subprotocols. One upstream session per client
 * connection, stable across that client's reconnects (Jupyter replays buffered output to a
 * reconnect with the same session_id), and never shared between chats.
 */
export function dialGateway(req: IncomingMessage, url: URL, chatId: string, options: DialOptions): WebSocket {
  const offered = (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  return dialGatewayWith(url, chatId, { headers: forwardedHeaders(req, options.gateway), protocols: offered }, options);
}

/** `dialGateway` for a client with no HTTP request: the headers to send and the subprotocols it offers. */
export function dialGatewayWith(
  url: URL,
  chatId: string,
  client: { headers: Record<string, string>; protocols: string[] },
  options: DialOptions,
): WebSocket {
  const clientSession = url.searchParams.get('session_id');
  url.searchParams.set(
    'session_id',
    clientSession
      ? createHash('sha256').update(`${chatId}\u0000${clientSession}`).digest('hex').slice(0, 32)
      : randomUUID(),
  );
  const upstreamUrl = new URL(url.pathname + url.search, options.gateway);
  upstreamUrl.protocol = options.gateway.protocol === 'https:' ? 'wss:' : 'ws:';
  return new WebSocket(upstreamUrl, client.protocols, {
    headers: client.headers,
    perMessageDeflate: false,
    handshakeTimeout: options.handshakeTimeoutMs,
    maxPayload: options.maxPayload,
  });
}

function forwardedHeaders(req: IncomingMessage, gateway: URL): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  // A browser same-origin to the sidecar sends no Origin upstream (Jupyter then allows it);
  // a cross-origin one keeps its Origin for the gateway's allow_origin to judge.
  if (req.headers.origin && !sameOriginAsGateway(req.headers, gateway).origin) headers.origin = req.headers.origin;
  return headers;
}

/** How the gateway's handshake ended, told exactly once. */
export interface HandshakeEnd {
  /** The client heard the gateway's refusal (its HTTP status), or a 5xx of ours (0), or left first (0). */
  failed(status: number): void;
  /** The gateway accepted; the client's socket still waits for its answer. */
  opened(): void;
}

/** A network failure of the gateway's handshake, logged in one line, as the client is to hear it. */
function handshakeFailure(
  error: Error & { code?: string },
  context: { kernelId: string; logger: Logger },
): ReturnType<typeof gatewayFailure> {
  const code = /timed out/i.test(error.message) ? 'ETIMEDOUT' : error.code;
  // ws's handshake timeout has no code: give it one, so it is logged in one line like the others.
  const known = code && !error.code ? { code, message: error.message } : error;
  context.logger.warn(`[sidecar] kernel ${context.kernelId} channels -> gateway: ${describeError(known)}`);
  return gatewayFailure(code);
}

/**
 * The gateway's answer for a client inside this process: null once the socket is open, else the
 * status that client is to hear (the gateway's refusal, or a 5xx of ours for a network failure).
 */
export function gatewayAnswer(
  upstream: WebSocket,
  context: { kernelId: string; logger: Logger },
): Promise<number | null> {
  return new Promise((resolve) => {
    let answered = false;
    const answer = (status: number | null) => {
      if (!answered) resolve(status);
      answered = true;
    };
    upstream.once('unexpected-response', (_request, response) => {
      answer(response.statusCode ?? 502);
      response.resume();
      upstream.terminate();
    });
    upstream.once('error', (error: Error & { code?: string }) => {
      if (!answered) answer(handshakeFailure(error, context).status);
    });
    upstream.once('open', () => answer(null));
  });
}

/**
 * Wait for the gateway's answer and pass a refusal on to the client: the gateway's own HTTP answer
 * byte for byte, or our coded 5xx for a network failure (logged in one line). A client that leaves
 * first ends the attempt.
 */
export function awaitHandshake(
  upstream: WebSocket,
  socket: Duplex,
  context: { kernelId: string; logger: Logger },
  end: HandshakeEnd,
): void {
  let settled = false;
  const settle = () => {
    const first = !settled;
    settled = true;
    return first;
  };
  const abandon = () => {
    if (!settle()) return;
    upstream.terminate();
    end.failed(0);
  };
  socket.once('close', abandon);

  upstream.once('unexpected-response', (_request, response) => {
    settle();
    const status = response.statusCode ?? 502;
    end.failed(status);
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => {
      const contentType = response.headers['content-type'] ?? 'text/plain';
      writeRawResponse(socket, status, contentType, Buffer.concat(chunks), response.statusMessage ?? '');
      upstream.terminate();
    });
    response.on('error', () => socket.destroy());
  });
  upstream.once('error', (error: Error & { code?: string }) => {
    if (!settle()) return;
    end.failed(0);
    refuseUpgrade(socket, { code: handshakeFailure(error, context).code });
  });
  upstream.once('open', () => {
    settle();
    socket.off('close', abandon);
    end.opened();
  });
}
