/**
 * Counts what flows on clients' upgraded sockets (kernel channels and other WebSockets) and which
 * kernels have a channel open, from the raw sockets the server hands to the upgrade handler: the
 * relay itself is not touched. Bytes of closed sockets are added up when they close; open ones are
 * read when Prometheus scrapes.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

const CHANNELS = /\/api\/kernels\/([^/?#]+)\/channels(?:[?#]|$)/;

export class UpgradeMeter {
  readonly #open = new Set<Socket>();
  readonly #kernels = new Map<string, number>();
  #closedFromClients = 0;
  #closedToClients = 0;

  track(req: IncomingMessage, duplex: Duplex): void {
    const socket = duplex as Socket;
    if (socket.destroyed) return;
    const kernelId = CHANNELS.exec(req.url ?? '')?.[1];
    this.#open.add(socket);
    if (kernelId) this.#kernels.set(kernelId, (this.#kernels.get(kernelId) ?? 0) + 1);
    socket.once('close', () => {
      this.#open.delete(socket);
      this.#closedFromClients += socket.bytesRead;
      this.#closedToClients += socket.bytesWritten;
      if (!kernelId) return;
      const left = (this.#kernels.get(kernelId) ?? 1) - 1;
      if (left > 0) this.#kernels.set(kernelId, left);
      else this.#kernels.delete(kernelId);
    });
  }

  /** Distinct kernels with a channels socket open (one refused a moment ago may still count until its socket closes). */
  liveKernels(): number {
    return this.#kernels.size;
  }

  bytes(): { fromClients: number; toClients: number } {
    let fromClients = this.#closedFromClients;
    let toClients = this.#closedToClients;
    for (const socket of this.#open) {
      fromClients += socket.bytesRead;
      toClients += socket.bytesWritten;
    }
    return { fromClients, toClients };
  }
}
