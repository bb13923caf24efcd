/**
 * A webhook receiver as an app would write one (README): verifies the signature, deduplicates on
 * the signed `deliveryId` in the body (the delivery header is not signed), answers 204. While
 * `failing`, it answers 503 instead and notes when each delivery was tried.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FileRecordedPayload } from '../../proxy/webhooks/webhook-payload.ts';
import { DELIVERY_HEADER, SIGNATURE_HEADER, verifySignature } from '../../proxy/webhooks/webhook-signature.ts';

export class WebhookReceiver {
  readonly deliveries = new Map<string, FileRecordedPayload>();
  duplicates = 0;
  forged = 0;
  /** Deliveries whose (unsigned) delivery header differed from the signed id in the body. */
  headerMismatches = 0;
  /** While set, every verified delivery gets a 503 and its time (performance.now()) is noted. */
  failing = false;
  readonly refusedAt = new Map<string, number[]>();
  readonly #secret: string;
  #server: http.Server | null = null;
  #waiters: Array<() => void> = [];

  constructor(secret: string) {
    this.#secret = secret;
  }

  async listen(port = 0): Promise<number> {
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (!verifySignature(this.#secret, body, req.headers[SIGNATURE_HEADER] as string | undefined)) {
          this.forged++;
          res.writeHead(400).end();
        } else {
          const payload = JSON.parse(body) as FileRecordedPayload;
          const id = payload.deliveryId;
          // The header is not signed: only noted, never trusted.
          if (req.headers[DELIVERY_HEADER] !== id) this.headerMismatches++;
          if (this.failing) {
            this.refusedAt.set(id, [...(this.refusedAt.get(id) ?? []), performance.now()]);
            res.writeHead(503).end();
          } else {
            if (this.deliveries.has(id)) this.duplicates++;
            else this.deliveries.set(id, payload);
            res.writeHead(204).end();
          }
        }
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
    this.#server.listen(port, '127.0.0.1');
    await once(this.#server, 'listening');
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (!this.#server) return;
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server!.close(resolve));
    this.#server = null;
  }

  async waitFor(count: number): Promise<void> {
    await this.until(() => this.deliveries.size >= count);
  }

  /** Resolves once a request has made `done` true. */
  async until(done: () => boolean): Promise<void> {
    while (!done()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}
