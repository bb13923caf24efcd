import type { Request, Response } from 'express';
import type { FileEvents } from '../artifacts/file-events.ts';
import type { RecordStore } from '../artifacts/record-store.ts';
import type { Logger } from '../logger.ts';
import { describeError } from '../logger.ts';
import { summarizePath } from './file-summary.ts';
import type { FileEventName } from './files-api-types.ts';

export const SSE_HEARTBEAT_MS = 15_000;

/**
 * Server-sent events for one chat: `file` (a FileSummary) and `skipped` (a SkippedFile), a
 * comment heartbeat so proxies keep the connection, and every listener removed on close.
 */
export function streamFileEvents(
  req: Request,
  res: Response,
  chatId: string,
  deps: { events: FileEvents; store: RecordStore; logger: Logger; heartbeatMs?: number },
): void {
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  res.write('retry: 5000\n: connected\n\n');

  const send = (event: FileEventName, data: unknown) => {
    if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  // Events are sent in the order they happened, even though a file summary takes a store read.
  let queue: Promise<void> = Promise.resolve();
  const unsubscribe = deps.events.on(chatId, (event) => {
    queue = queue.then(async () => {
      try {
        if (event.type === 'skipped') send('skipped', event.skipped);
        else send('file', summarizePath(await deps.store.listChat(chatId), event.record.path));
      } catch (error) {
        deps.logger.warn(`[files-api] event for chat ${chatId} not sent: ${describeError(error)}`);
      }
    });
  });
  const heartbeat = setInterval(() => {
    if (!res.writableEnded) res.write(': heartbeat\n\n');
  }, deps.heartbeatMs ?? SSE_HEARTBEAT_MS);
  heartbeat.unref();

  const close = () => {
    clearInterval(heartbeat);
    unsubscribe();
  };
  req.on('close', close);
  res.on('close', close);
}
