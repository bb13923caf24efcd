import type { ChatData } from './chat-data.ts';
import type { FileRecord } from './file-record.ts';

/**
 * `JSON.parse` makes a new string for every string it reads. A chat's records repeat a few
 * values (chat id, owner, MIME type, format, source, the execution's kernel and message ids),
 * and each file event repeats its record's id and path: pointing them all at one string each
 * takes about a fifth off the heap of a loaded chat (100k records: 65 → 52 MB).
 */
export function shareRepeatedStrings(data: Pick<ChatData, 'records' | 'events'>): void {
  const pool = new Map<string, string>();
  const share = <T extends string>(value: T): T => {
    const known = pool.get(value);
    if (known !== undefined) return known as T;
    pool.set(value, value);
    return value;
  };
  for (const r of data.records) {
    r.chatId = share(r.chatId);
    r.mimeType = share(r.mimeType);
    r.format = share(r.format);
    r.source = share(r.source);
    if (r.owner !== null) r.owner = share(r.owner);
    if (r.execution) {
      r.execution.kernelId = share(r.execution.kernelId);
      r.execution.msgId = share(r.execution.msgId);
    }
  }
  shareEventStrings(data);
}

/** File events come in record order; a chat whose first records have no events (older files) is paired by id. */
function shareEventStrings({ records, events = [] }: Pick<ChatData, 'records' | 'events'>): void {
  let next = 0;
  let byId: Map<string, FileRecord> | null = null;
  for (const event of events) {
    if (event.type !== 'file') continue;
    let record = byId ? byId.get(event.recordId) : records[next];
    if (!byId && record?.id !== event.recordId) {
      byId = new Map(records.map((r) => [r.id, r]));
      record = byId.get(event.recordId);
    }
    next++;
    if (!record) continue;
    event.recordId = record.id;
    event.path = record.path;
  }
}
