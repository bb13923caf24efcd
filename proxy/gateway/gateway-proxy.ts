import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request, RequestHandler, Response } from 'express';
import { createProxyMiddleware, responseInterceptor, type Plugin } from 'http-proxy-middleware';
import { describeError, redactUrl, type Logger } from '../logger.ts';
import { prefixResponseHeaders, sameOriginAsGateway } from './forward-headers.ts';
import { sendJsonError } from '../errors.ts';
import { gatewayFailure } from './gateway-errors.ts';
import { swapIdBack } from './disguised-id.ts';

export interface GatewayProxyOptions {
  gateway: URL;
  timeoutMs: number;
  logger: Logger;
  /** Called with each response from the gateway before it is relayed (kernel deletions, ...). */
  onResponse?: (proxyRes: IncomingMessage, req: Request) => void;
}

/** Set by the chat-prefix middleware: the `/chats/{id}` the client used, to put back on redirects and cookies. */
function chatPrefixOf(res: ServerResponse): string | undefined {
  return (res as Response).locals?.chatPrefix;
}

/**
 * Wiring shared by every proxy to the gateway: same-origin browsers stay same-origin, a silent
 * gateway times out as 504, failures become JSON errors, and no URL (tokens!) reaches a log.
 */
function gatewayPlugin(options: GatewayProxyOptions, body?: (res: ServerResponse) => Buffer | undefined): Plugin {
  return (proxy) => {
    proxy.on('proxyReq', (proxyReq: ClientRequest, req: IncomingMessage, res: ServerResponse) => {
      const rewritten = sameOriginAsGateway(req.headers, options.gateway);
      if (rewritten.origin) proxyReq.setHeader('origin', rewritten.origin);
      if (rewritten.referer) proxyReq.setHeader('referer', rewritten.referer);
      proxyReq.setTimeout(options.timeoutMs, () => {
        proxyReq.destroy(Object.assign(new Error('gateway timeout'), { code: 'ETIMEDOUT' }));
      });
      const replacement = body?.(res);
      if (replacement) {
        // Exactly one framing: the client's chunked body was read whole and is replaced by ours.
        proxyReq.removeHeader('transfer-encoding');
        proxyReq.setHeader('content-type', 'application/json');
        proxyReq.setHeader('content-length', replacement.length);
        proxyReq.write(replacement);
      }
    });
    proxy.on('proxyRes', (proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse) => {
      const prefix = chatPrefixOf(res);
      if (prefix) prefixResponseHeaders(proxyRes.headers, prefix);
      options.onResponse?.(proxyRes, req as Request);
    });
    proxy.on('error', (error: Error & { code?: string }, req: IncomingMessage, target: ServerResponse | Duplex) => {
      const { code } = gatewayFailure(error.code);
      options.logger.warn(`[sidecar] ${req.method} ${redactUrl(req.url)} -> gateway: ${describeError(error)}`);
      if ('writeHead' in target) sendJsonError(target, { code, jupyter: true });
      else target.destroy();
    });
  };
}

function baseProxyOptions(options: GatewayProxyOptions) {
  return {
    target: options.gateway.origin,
    changeOrigin: true,
    xfwd: true,
    ws: false,
    ejectPlugins: true,
  };
}

/** Every Jupyter REST route, passed through as it is. */
export function createRestPassthrough(options: GatewayProxyOptions) {
  return createProxyMiddleware({
    ...baseProxyOptions(options),
    plugins: [gatewayPlugin(options)],
  });
}

/**
 * The kernel-creation call: its JSON body was replaced by the handler before (res.locals.kernelBody),
 * and its response is read to learn the new kernel's id.
 */
export function createKernelCreateProxy(
  options: GatewayProxyOptions,
  onCreated: (status: number, body: Buffer, res: Response) => Promise<void>,
): RequestHandler {
  const middleware = createProxyMiddleware<IncomingMessage, ServerResponse>({
    ...baseProxyOptions(options),
    selfHandleResponse: true,
    plugins: [
      gatewayPlugin(options, (res) => (res as Response).locals.kernelBody),
      (proxy) => {
        proxy.on(
          'proxyRes',
          responseInterceptor(async (buffer, proxyRes, req, res) => {
            // The gateway made the kernel whatever happens here: the client gets its answer. A
            // throw would leave the response unanswered and end the process (the interceptor
            // runs in a stream's 'end' listener).
            try {
              await onCreated(proxyRes.statusCode ?? 0, buffer, res as Response);
            } catch (error) {
              options.logger.error(
                `[sidecar] ${req.method} ${redactUrl(req.url)}: after the gateway answered: ${describeError(error)}`,
              );
            }
            return buffer;
          }),
        );
      },
    ],
  });
  return middleware as unknown as RequestHandler;
}

/** Set on `res.locals.disguise` when a refused request was sent on with an id that cannot exist. */
export interface Disguise {
  fake: string;
  real: string;
}

/**
 * Every call on one kernel or session under a chat, allowed or refused, goes through this one
 * proxy, so both kinds of answer are made the same way, header for header. A refused call comes
 * with its id replaced by one that cannot exist (`res.locals.disguise`); the gateway's answer
 * about that id (its 403 to a client without credentials, its 404 or 400 to one with them) is
 * relayed with the real id put back, exactly what a kernel that does not exist gets.
 */
export function createScopedKernelProxy(options: GatewayProxyOptions): RequestHandler {
  const middleware = createProxyMiddleware<IncomingMessage, ServerResponse>({
    ...baseProxyOptions(options),
    selfHandleResponse: true,
    plugins: [
      gatewayPlugin(options),
      (proxy) => {
        proxy.on(
          'proxyRes',
          responseInterceptor(async (buffer, _proxyRes, _req, res) => {
            const disguise = (res as Response).locals.disguise as Disguise | undefined;
            return disguise ? swapIdBack(buffer, disguise.fake, disguise.real) : buffer;
          }),
        );
      },
    ],
  });
  return middleware as unknown as RequestHandler;
}
