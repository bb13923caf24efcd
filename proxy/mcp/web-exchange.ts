import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Request, Response } from 'express';

/**
 * Express's request as the Fetch API's, for the SDK's web-standard MCP transport: method, URL and
 * headers (the body is passed to the transport already parsed). No abort signal: the transport
 * never reads one (a call ends by the protocol's own cancellation, an SSE stream when its
 * response closes, below), and a signal the Request follows cost a listener and, on every
 * response's close, a DOMException.
 */
export function webRequestOf(req: Request): globalThis.Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return new globalThis.Request(new URL(req.originalUrl, 'http://sidecar.invalid'), {
    method: req.method,
    headers,
  });
}

/** Writes the transport's answer: a JSON body at once, an SSE stream as it comes (cancelled when the client goes). */
export async function sendWebResponse(answer: globalThis.Response, res: Response): Promise<void> {
  res.status(answer.status);
  answer.headers.forEach((value, name) => res.setHeader(name, value));
  if (!answer.body) {
    res.end();
    return;
  }
  if (!answer.headers.get('content-type')?.startsWith('text/event-stream')) {
    res.end(Buffer.from(await answer.arrayBuffer()));
    return;
  }
  res.flushHeaders();
  const events = Readable.fromWeb(answer.body as WebReadableStream);
  res.once('close', () => events.destroy());
  events.on('error', () => res.destroy());
  events.pipe(res);
}
