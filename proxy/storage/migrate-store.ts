import type { KernelChat } from '../chats/kernel-chats.ts';
import { FileKernelChats } from './file-kernel-chats.ts';
import { LowdbRecordStore } from './lowdb-record-store.ts';
import type { Logger } from '../logger.ts';
import { openStores } from './open-stores.ts';

export interface MigrateCounts {
  chats: number;
  /** Records copied now / already there (a second run copies none). */
  records: number;
  recordsAlreadyThere: number;
  owners: number;
  skippedLists: number;
  /** Webhook deliveries still owed (pending or kept as failed), copied with their records. */
  outbox: number;
  /** Chats whose links were revoked. */
  linkRevocations: number;
  kernels: number;
}

/**
 * `generated-files-sidecar migrate-store --from-data-dir DIR --database-url URL`: copies a lowdb
 * install (records, owners, skipped lists, webhook outbox, link revocations, kernel map) into
 * PostgreSQL. Safe to run twice: records are appended through the store's own rule (a record whose
 * bytes equal its path's latest is left out), each outbox entry goes in the same transaction as its
 * record (so it is copied exactly when its record is), and owners, skipped lists, revocations and
 * kernels are set, not added. Blobs stay where they
 * are: point the new sidecars' --data-dir at the same folder.
 */
export async function migrateStore(fromDataDir: string, databaseUrl: string, logger: Logger): Promise<MigrateCounts> {
  const source = new LowdbRecordStore(fromDataDir, { logger });
  const sourceKernels = await FileKernelChats.open(fromDataDir);
  const target = await openStores({ dataDir: fromDataDir, databaseUrl, databasePoolSize: 2 }, logger);
  const counts: MigrateCounts = {
    chats: 0,
    records: 0,
    recordsAlreadyThere: 0,
    owners: 0,
    skippedLists: 0,
    outbox: 0,
    linkRevocations: 0,
    kernels: 0,
  };
  try {
    const owedByRecord = new Map((await source.listOutbox()).map((entry) => [entry.recordId, entry]));
    for (const chatId of await source.listChatIds()) {
      counts.chats++;
      const records = await source.listChat(chatId);
      const there = new Set((await target.store.listChat(chatId)).map((r) => r.id));
      const missing = records.filter((r) => !there.has(r.id));
      counts.recordsAlreadyThere += records.length - missing.length;
      // In the order they were recorded: the store gives each the same version it had.
      const drafts = missing.map(({ version: _version, ...draft }) => draft);
      const appended = await target.store.append(chatId, drafts, (_chatId, records) => {
        const owed = records.flatMap((r) => owedByRecord.get(r.id) ?? []);
        counts.outbox += owed.length;
        return owed;
      });
      counts.records += appended.length;
      const owner = await source.getOwner(chatId);
      if (owner !== null) {
        await target.store.claimOwner(chatId, owner);
        counts.owners++;
      }
      const revokedAt = await source.getLinksRevokedAt(chatId);
      if (revokedAt !== null) {
        await target.store.revokeLinks(chatId, revokedAt);
        counts.linkRevocations++;
      }
      const skipped = await source.listSkipped(chatId);
      if (skipped.length > 0) {
        await target.store.setSkipped(chatId, skipped);
        counts.skippedLists++;
      }
    }
    const kernels: Array<[string, KernelChat]> = await sourceKernels.entries();
    for (const [kernelId, entry] of kernels) {
      await target.kernelChats.set(kernelId, entry);
      counts.kernels++;
    }
    return counts;
  } finally {
    await target.close();
    await source.close();
  }
}
