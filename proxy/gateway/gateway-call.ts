import type { IncomingMessage } from 'node:http';
import type { Response } from 'express';
import { describeError, redactUrl, type Logger } from '../logger.ts';
import { errorCode, sendJsonError, SidecarError } from '../errors.ts';
import { gatewayFailure, type GatewayFailureCode } from './gateway-errors.ts';
import { sameOriginAsGateway } from './forward-headers.ts';
import { httpCall } from '../http-call.ts';

/** The gateway's answer to a call the sidecar made itself, read whole (REST answers are small). */
export interface GatewayAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

/** A gateway's lists of kernels and sessions are read whole to be filtered per chat: tens of thousands fit. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** The client's credentials for the gateway, and nothing that belongs to this hop. */
const CLIENT_AUTH_HEADERS = ['authorization', 'cookie', 'x-xsrftoken', 'user-agent'];

/** A gateway call that failed on the network, coded by gatewayFailure() from the errno it met. */
export class GatewayCallError extends SidecarError<GatewayFailureCode> {
  constructor(errno: string | undefined, options: { cause: unknown }) {
    super(gatewayFailure(errno).code, 'The gateway call failed.', options);
  }
}

/**
 * One REST call to the gateway on behalf of `req`, with the client's own credentials (token in
 * the query, Authorization, cookie and XSRF header), so the gateway judges it exactly as it would
 * the client's. `pathAndQuery` is absolute on the gateway's origin (it includes the base path).
 * Throws GatewayCallError when the gateway cannot be reached or does not answer in time.
 */
export async function callGateway(
  gateway: URL,
  req: IncomingMessage,
  pathAndQuery: string,
  init: { method?: string; json?: unknown; raw?: Buffer; contentType?: string; timeoutMs: number },
): Promise<GatewayAnswer> {
  const headers: Record<string, string> = {};
  for (const name of CLIENT_AUTH_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const { origin, referer } = sameOriginAsGateway(req.headers, gateway);
  if (origin) headers.origin = origin;
  else if (req.headers.origin) headers.origin = req.headers.origin;
  if (referer) headers.referer = referer;
  let body: string | Buffer | undefined;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] = 'application/json';
  } else if (init.raw !== undefined) {
    body = init.raw;
    headers['content-type'] = init.contentType ?? 'application/json';
  }
  try {
    const answer = await httpCall(new URL(pathAndQuery, gateway.origin), {
      method: init.method ?? 'GET',
      headers,
      body,
      timeoutMs: init.timeoutMs,
      maxBodyBytes: MAX_ANSWER_BYTES,
    });
    return {
      status: answer.status,
      contentType: answer.headers['content-type'] ?? 'application/json',
      body: answer.body,
    };
  } catch (error) {
    throw new GatewayCallError(errorCode(error), { cause: error });
  }
}

/** A request URL's query (with its `?`), passed on to the gateway with the client's token in it; '' without. */
export function queryOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? '' : url.slice(q);
}

export interface GatewayCallDeps {
  gateway: URL;
  timeoutMs: number;
  logger: Logger;
}

/**
 * callGateway for a route handler: a network failure is logged in one line and answered to the
 * client with its code (502/504), and null is returned, so the handler only stops.
 */
export async function callGatewayOrAnswer(
  deps: GatewayCallDeps,
  req: IncomingMessage,
  res: Response,
  pathAndQuery: string,
  init: Omit<Parameters<typeof callGateway>[3], 'timeoutMs'> = {},
): Promise<GatewayAnswer | null> {
  try {
    return await callGateway(deps.gateway, req, pathAndQuery, { ...init, timeoutMs: deps.timeoutMs });
  } catch (error) {
    if (!(error instanceof GatewayCallError)) throw error;
    deps.logger.warn(`[sidecar] ${req.method} ${redactUrl(req.url)} -> gateway: ${describeError(error.cause)}`);
    sendJsonError(res, { code: error.code, jupyter: true });
    return null;
  }
}
