/**
 * What the replayed clients (third-party-clients.ts, open-webui-run.ts) share on the wire: how a
 * kernel socket is opened, and the execute_request they send, which differs between clients only
 * in its header.
 */
import WebSocket from 'ws';

/** Opens a kernel channels socket; rejects on an error or an HTTP answer instead of the upgrade. */
export function openKernelSocket(
  url: string,
  options: { headers?: Record<string, string>; protocols?: string[] } = {},
): Promise<WebSocket> {
  const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers });
  return new Promise<WebSocket>((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

/** An execute_request's content as these clients send it: Jupyter's defaults, `stop_on_error` on. */
export function executeContent(code: string) {
  return { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true };
}

export interface ClientHeader {
  msg_id: string;
  username: string;
  session: string;
  version: string;
  date?: string;
}

/** A legacy (JSON text) execute_request frame with the client's own header fields. */
export function executeRequestText(code: string, header: ClientHeader, channel?: 'shell'): string {
  return JSON.stringify({
    header: { ...header, msg_type: 'execute_request' },
    parent_header: {},
    metadata: {},
    content: executeContent(code),
    ...(channel ? { channel } : {}),
  });
}
