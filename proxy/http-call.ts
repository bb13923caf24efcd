import http, { type IncomingHttpHeaders } from 'node:http';

/**
 * The HTTP requests the sidecar makes itself (to the gateway, to webhook receivers, to its own
 * routes for MCP), through node:http, never the global fetch: fetch's first answer compiles
 * undici's WebAssembly parser, which took the idle sidecar from 70 MB RSS to over 100 MB for a
 * moment and left it 5 to 8 MB larger, the first time anything asked for /health.
 */

export interface HttpCallInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The whole call (connect, answer and its body); none: as long as it takes. */
  timeoutMs?: number;
  /** The answer's body is read up to this many bytes (then the call fails); 0: not read at all. */
  maxBodyBytes?: number;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Empty when `maxBodyBytes` was 0. */
  body: Buffer;
}

/** Answers the sidecar reads are small JSON: a gateway's kernel or session, its `/api`. */
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * A call that got no whole answer. `code` is the socket's errno (`ECONNREFUSED`, `ENOTFOUND`…),
 * `ETIMEDOUT` past the time limit, or `EMSGSIZE` for a body over the limit.
 */
export class HttpCallError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'HttpCallError';
    this.code = code;
  }
}

/** `https:` loads TLS only when a URL asks for it (a webhook receiver, a gateway behind TLS). */
async function requestFor(url: URL): Promise<typeof http.request> {
  return url.protocol === 'https:' ? (await import('node:https')).request : http.request;
}

/**
 * One request, answered whole: redirects are not followed (a 3xx is the answer), and the
 * connection is kept alive for the next call to the same host (Node's global agents).
 */
export async function httpCall(url: URL, init: HttpCallInit = {}): Promise<HttpAnswer> {
  const request = await requestFor(url);
  const maxBodyBytes = init.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const headers = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    const req = request(url, { method: init.method ?? 'GET', headers });
    const timer =
      init.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => req.destroy(new HttpCallError('ETIMEDOUT', `${url.origin} did not answer in ${init.timeoutMs} ms`)),
            init.timeoutMs,
          );
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(
        error instanceof HttpCallError
          ? error
          : new HttpCallError(errnoOf(error), `${req.method} ${url.origin}: ${error.message}`, { cause: error }),
      );
    };
    // `on`, not `once`: a socket may fail again after the first error, and that must not go uncaught.
    req.on('error', fail);
    req.once('response', (res) => {
      res.on('error', fail);
      const done = (body: Buffer) => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      };
      if (maxBodyBytes === 0) {
        res.resume();
        res.once('end', () => done(Buffer.alloc(0)));
        return;
      }
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        length += chunk.length;
        if (length > maxBodyBytes) {
          req.destroy(new HttpCallError('EMSGSIZE', `${url.origin} answered more than ${maxBodyBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.once('end', () => done(Buffer.concat(chunks, length)));
    });
    req.end(init.body);
  });
}

function errnoOf(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'ECONNRESET';
}

/** The answer's body as JSON, or null when it is not JSON. */
export function answerJson(answer: HttpAnswer): unknown {
  try {
    return JSON.parse(answer.body.toString('utf8'));
  } catch {
    return null;
  }
}
