import http from 'node:http';
import { Readable } from 'node:stream';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

/** Statuses whose response has no body (the Fetch spec's null body statuses). */
const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * A fetch over node:http with one keep-alive agent and TCP_NODELAY, for the SDK client's `fetch`
 * option: the MCP client's leg on the same footing as the direct arm's `ws` client (Node sockets,
 * one connection kept open, Nagle off), so the bench compares what each path adds rather than
 * two clients' HTTP stacks. JSON answers are read whole, event streams are streamed.
 */
export function nodeHttpFetch(agent = new http.Agent({ keepAlive: true, noDelay: true })): FetchLike {
  return (url, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const request = http.request(
        new URL(url),
        {
          method: init.method ?? 'GET',
          headers: Object.fromEntries(new Headers(init.headers)),
          agent,
          signal: init.signal ?? undefined,
        },
        (res) => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
          }
          const status = res.statusCode ?? 500;
          if (res.headers['content-type']?.startsWith('text/event-stream')) {
            resolve(new Response(Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>, { status, headers }));
            return;
          }
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () =>
            resolve(new Response(NO_BODY.has(status) ? null : Buffer.concat(chunks), { status, headers })),
          );
        },
      );
      request.on('error', reject);
      request.end(typeof init.body === 'string' ? init.body : undefined);
    });
}
