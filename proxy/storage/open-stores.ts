import { BlobStore, type BlobFs } from './blob-store.ts';
import { InProcessFileEventBus, type FileEventBus } from './file-events.ts';
import { LowdbRecordStore } from './lowdb-record-store.ts';
import type { RecordStore } from './record-store.ts';
import type { KernelChatStore } from '../chats/kernel-chats.ts';
import { FileKernelChats } from './file-kernel-chats.ts';
import type { Logger } from '../logger.ts';

export type StoreBackend = 'lowdb' | 'postgres';

/** The stores a sidecar runs on, opened together from the options. */
export interface OpenedStores {
  backend: StoreBackend;
  store: RecordStore;
  kernelChats: KernelChatStore;
  events: FileEventBus;
  /** Content-addressed copies in `{dataDir}/blobs`: on a volume every sidecar shares when there are several. */
  blobs: BlobStore;
  /** Runs retention on one sidecar at a time; absent for one process. */
  exclusive?: (section: () => Promise<void>) => Promise<boolean>;
  /** For GET /health: 'none' without a database. */
  health(): Promise<'up' | 'down' | 'none'>;
  close(): Promise<void>;
}

export interface StoreOptions {
  dataDir: string;
  /** postgres://…; null: lowdb files in dataDir (one sidecar). */
  databaseUrl: string | null;
  databasePoolSize: number;
  /** The blob store's file-system seam (tests fill the disk through it); the real one by default. */
  blobFs?: Partial<BlobFs>;
}

/**
 * The one place that builds the stores from the options. Without a database URL: lowdb in
 * `dataDir` and an in-process event bus, and node-postgres is never loaded. With one: PostgreSQL
 * for records, owners, skipped lists, events and kernel memory (loaded by dynamic import).
 */
export async function openStores(options: StoreOptions, logger: Logger): Promise<OpenedStores> {
  const blobs = new BlobStore(options.dataDir, { fs: options.blobFs });
  if (options.databaseUrl) {
    const { openPgStores } = await import('./postgres/open-pg-stores.ts');
    const pg = { url: options.databaseUrl, poolSize: options.databasePoolSize, dataDir: options.dataDir };
    return { ...(await openPgStores(pg, logger)), blobs };
  }
  const store = new LowdbRecordStore(options.dataDir, { logger });
  const kernelChats = await FileKernelChats.open(options.dataDir);
  const events = new InProcessFileEventBus();
  return {
    backend: 'lowdb',
    store,
    kernelChats,
    events,
    blobs,
    async health() {
      return 'none';
    },
    async close() {
      await events.close();
      await kernelChats.close();
      await store.close();
    },
  };
}
