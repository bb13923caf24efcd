/**
 * JupyterLab's own client (@jupyterlab/services) pointed at a chat through the sidecar, as a
 * JupyterLab configured with the sidecar's `/chats/{chatId}/` URL would be.
 */
import { KernelManager, ServerConnection } from '@jupyterlab/services';
import WebSocket from 'ws';

/** ws as @jupyterlab/services calls it, offering no subprotocol: the legacy JSON wire format. */
class LegacyOnlyWebSocket extends WebSocket {
  constructor(url: string, _protocols?: string | string[], options?: WebSocket.ClientOptions) {
    super(url, [], options);
  }
}

/**
 * A KernelManager for one chat. `format` 'v1' is what @jupyterlab/services 7 does by itself (it
 * offers the v1 subprotocol); 'legacy' is a server or client without it.
 */
export async function jupyterLabKernels(
  sidecarUrl: string,
  chat: string,
  token: string,
  format: 'v1' | 'legacy' = 'v1',
): Promise<KernelManager> {
  const base = `${sidecarUrl}chats/${chat}/`;
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: base,
    wsUrl: base.replace(/^http/, 'ws'),
    token,
    WebSocket: (format === 'v1' ? WebSocket : LegacyOnlyWebSocket) as unknown as typeof globalThis.WebSocket,
    appendToken: true,
  });
  const manager = new KernelManager({ serverSettings });
  await manager.ready;
  return manager;
}
