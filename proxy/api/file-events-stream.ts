import type { Request, Response } from 'express';
import type { FileEventBus } from '../storage/file-events.ts';
import type { RecordStore } from '../storage/record-store.ts';
import type { Logger } from '../logger.ts';
import { describeError } from '../logger.ts';
import { summarizePath } from './file-summary.ts';
import type { FileEventName } from '../../contract/files-api.ts';

const SSE_HEARTBEAT_MS = 15_000;
/** Events read from the store at a time while catching up. */
const CATCH_UP_BATCH = 500;

/** The event id a reconnecting client sends (EventSource: the Last-Event-ID header), or `?lastEventId=`. */
function lastEventIdOf(req: Request): number | null {
  const raw =
    req.get('last-event-id') ?? (typeof req.query.lastEventId === 'string' ? req.query.lastEventId : undefined);
  if (raw === undefined || !/^\d{1,15}$/.test(raw.trim())) return null;
  return Number(raw.trim());
}

/**
 * Server-sent events for one chat: `file` (a FileSummary) and `skipped` (a SkippedFile), each
 * with `id:` its per-chat event seq, a comment heartbeat so proxies keep the connection, and
 * every listener removed on close. Events are read from the store, not taken from the signal,
 * so a client that reconnects with Last-Event-ID (to this sidecar or another on the same
 * store) gets every event after it, once, in order.
 */
export function streamFileEvents(
  req: Request,
  res: Response,
  chatId: string,
  deps: { events: FileEventBus; store: RecordStore; logger: Logger; heartbeatMs?: number },
): void {
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  res.write('retry: 5000\n: connected\n\n');

  const send = (seq: number, event: FileEventName, data: unknown) => {
    if (!res.writableEnded) res.write(`id: ${seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  let closed = false;
  /** The last seq sent; null until known (the chat's latest, for a client that sent no id). */
  let lastSent: number | null = lastEventIdOf(req);
  // One reader at a time, so events go out in order and none twice.
  let queue: Promise<void> = Promise.resolve();
  const catchUp = (signal: { seq: number } | null) => {
    queue = queue.then(async () => {
      try {
        lastSent ??= await deps.store.lastEventSeq(chatId);
        if (signal && signal.seq <= lastSent) return;
        for (;;) {
          if (closed) return;
          const events = await deps.store.eventsAfter(chatId, lastSent, CATCH_UP_BATCH);
          if (events.length === 0) return;
          const records = events.some((e) => e.type === 'file') ? await deps.store.listChat(chatId) : [];
          for (const event of events) {
            if (event.type === 'skipped') send(event.seq, 'skipped', event.skipped);
            else send(event.seq, 'file', summarizePath(records, event.path));
            lastSent = event.seq;
          }
          if (events.length < CATCH_UP_BATCH) return;
        }
      } catch (error) {
        // The store is away (PostgreSQL restarting): the next signal, or the bus's reconnect, retries from lastSent.
        deps.logger.warn(`[files-api] events for chat ${chatId} not sent: ${describeError(error)}`);
      }
    });
  };
  const unsubscribe = deps.events.on(chatId, catchUp);
  catchUp(null);
  const heartbeat = setInterval(() => {
    if (!res.writableEnded) res.write(': heartbeat\n\n');
  }, deps.heartbeatMs ?? SSE_HEARTBEAT_MS);
  heartbeat.unref();

  const close = () => {
    closed = true;
    clearInterval(heartbeat);
    unsubscribe();
  };
  req.on('close', close);
  res.on('close', close);
  // Gone already, during the route's awaits (auth, the store): 'close' will not come again.
  if (req.destroyed || res.destroyed) close();
}
