import type { IncomingMessage } from 'node:http';
import { isJsonContentType } from '@modelcontextprotocol/sdk/shared/mediaType.js';

/** A request body as the MCP transport takes it, or the JSON-RPC error that answers it. */
export type JsonBody =
  | { kind: 'parsed'; value: unknown }
  /** Not JSON by its Content-Type: left unread, for the transport to refuse (415) as it does. */
  | { kind: 'not-json' }
  | { kind: 'refused'; status: number; code: number; message: string };

const refused = (status: number, code: number, message: string): JsonBody => ({
  kind: 'refused',
  status,
  code,
  message,
});

/**
 * Reads a POST body for the SDK's transport (which takes it parsed): UTF-8 JSON (RFC 8259), at
 * most `limitBytes`, not compressed. Too large: 413, by Content-Length before anything is read,
 * else as soon as the bytes pass the limit (reading stops there). Not JSON: the JSON-RPC parse
 * error the transport itself gives. In place of express.json, whose type, charset, encoding and
 * stream layers cost about 0.1 ms a call for what an MCP body never uses.
 */
export function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<JsonBody> {
  if (!isJsonContentType(req.headers['content-type'])) return Promise.resolve({ kind: 'not-json' });
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity')
    return Promise.resolve(
      refused(415, -32000, `Unsupported Content-Encoding: ${encoding}; send the JSON uncompressed.`),
    );
  const tooLarge = refused(413, -32000, `Request body larger than ${limitBytes} bytes.`);
  if (Number(req.headers['content-length']) > limitBytes) return Promise.resolve(tooLarge);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) return void chunks.push(chunk);
      req.off('data', onData).off('end', onEnd).pause();
      resolve(tooLarge);
    };
    const onEnd = () => {
      try {
        resolve({ kind: 'parsed', value: JSON.parse(Buffer.concat(chunks, size).toString('utf8')) });
      } catch {
        resolve(refused(400, -32700, 'Parse error: Invalid JSON'));
      }
    };
    req.on('data', onData).on('end', onEnd);
    // A client that goes away mid-body: nothing waits on it (an answer would reach no one).
    const cut = () => resolve(refused(400, -32700, 'Parse error: the request body did not arrive whole'));
    req.once('error', cut).once('close', cut);
  });
}
