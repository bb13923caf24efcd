/**
 * The record store with its calls timed and its failures counted, and what it stores counted:
 * every file version recorded (scans, uploads and restores all append through it), every file
 * newly skipped, and each webhook delivery's age when it leaves the outbox. A Proxy, so every
 * method of the interface (and any added later) is measured without a list to keep in step.
 */
import type { OutboxEntry, RecordStore } from '../storage/record-store.ts';
import type { SidecarMetrics } from './sidecar-metrics.ts';

export function meteredStore(store: RecordStore, metrics: SidecarMetrics, now: () => number = Date.now): RecordStore {
  // Claimed deliveries by id, for the age of the ones removed as delivered (bounded: the claim batch).
  const claimed = new Map<string, number>();
  const observe = (operation: string, result: unknown) => {
    if (operation === 'append') {
      for (const record of result as Awaited<ReturnType<RecordStore['append']>>) {
        metrics.filesRecorded.inc({ source: record.source });
        metrics.bytesRecorded.inc({ source: record.source }, record.size);
      }
    } else if (operation === 'claimOutbox') {
      for (const entry of result as OutboxEntry[]) claimed.set(entry.id, Date.parse(entry.createdAt));
    }
  };
  const observeArgs = (operation: string, args: unknown[]) => {
    if (operation === 'setSkipped') {
      for (const file of (args[2] as Parameters<RecordStore['setSkipped']>[2]) ?? [])
        metrics.filesSkipped.inc({ reason: file.reason });
    } else if (operation === 'updateOutbox') {
      const [, id, entry] = args as Parameters<RecordStore['updateOutbox']>;
      const createdAt = claimed.get(id);
      claimed.delete(id);
      if (entry === null) {
        metrics.webhookDeliveries.inc({ outcome: 'delivered' });
        if (createdAt !== undefined) metrics.webhookDeliveryAge.observe(Math.max(0, now() - createdAt) / 1000);
      } else {
        metrics.webhookDeliveries.inc({ outcome: entry.state === 'failed' ? 'failed' : 'retrying' });
      }
    }
  };

  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'close') return value;
      return (...args: unknown[]) => {
        const stop = metrics.storeSeconds.startTimer({ operation: property });
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (error) {
          stop();
          metrics.storeErrors.inc({ operation: property });
          throw error;
        }
        if (!(result instanceof Promise)) {
          stop();
          return result;
        }
        return result.then(
          (resolved) => {
            stop();
            observe(property, resolved);
            observeArgs(property, args);
            return resolved;
          },
          (error: unknown) => {
            stop();
            metrics.storeErrors.inc({ operation: property });
            throw error;
          },
        );
      };
    },
  });
}
