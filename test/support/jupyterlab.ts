/**
 * JupyterLab's own client (@jupyterlab/services) pointed at a chat through the sidecar, as a
 * JupyterLab configured with the sidecar's `/chats/{chatId}/` URL would be.
 */
import { KernelManager, ServerConnection } from '@jupyterlab/services';
import WebSocket from 'ws';

export async function jupyterLabKernels(sidecarUrl: string, chat: string, token: string): Promise<KernelManager> {
  const base = `${sidecarUrl}chats/${chat}/`;
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: base,
    wsUrl: base.replace(/^http/, 'ws'),
    token,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    appendToken: true,
  });
  const manager = new KernelManager({ serverSettings });
  await manager.ready;
  return manager;
}
