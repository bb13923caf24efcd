import path from 'node:path';
import type { Pool } from 'pg';
import { describeError, type Logger } from '../../logger.ts';
import type { OpenedStores } from '../open-stores.ts';
import { startErrorOf } from '../store-errors.ts';
import { KernelChatSpool } from './kernel-chat-spool.ts';
import { PgFileEventBus } from './pg-file-event-bus.ts';
import { PgKernelChats } from './pg-kernel-chats.ts';
import { migrate } from './pg-migrations.ts';
import { availabilityOf, createPgPool, query } from './pg-pool.ts';
import { PgRecordStore } from './pg-record-store.ts';

/** Session-level advisory lock key for retention: one sweeping sidecar at a time. */
const RETENTION_LOCK = 7_130_411_002;

/**
 * Kernel pairings made while the database was away, in the data dir every sidecar shares. Part
 * of the data dir's layout (README names it), which every sidecar on the volume, and a tool that
 * reads what a dead sidecar spooled, must agree on: hence exported.
 */
export const KERNEL_SPOOL_FOLDER = 'kernels-pending';

export interface PgStoreOptions {
  url: string;
  poolSize: number;
  /** The data dir every sidecar shares (blobs, the kernel spool). */
  dataDir: string;
}

/**
 * Connects, migrates, starts listening, and writes kernel pairings that sidecars spooled during
 * an outage; any failure becomes one DatabaseStartError line (the password never in it) and
 * closes what was opened.
 */
export async function openPgStores(options: PgStoreOptions, logger: Logger): Promise<Omit<OpenedStores, 'blobs'>> {
  const { url, poolSize } = options;
  let pool: Pool | null = null;
  let events: PgFileEventBus | null = null;
  try {
    pool = await createPgPool({ url, size: poolSize, logger });
    const { applied, version } = await migrate(pool);
    if (applied.length > 0) logger.info(`[store] PostgreSQL schema migrated to version ${version}`);
    events = new PgFileEventBus(pool, url, logger);
    await events.ready;
  } catch (error) {
    await events?.close();
    await pool?.end().catch(() => {});
    throw startErrorOf(error, url);
  }
  const openPool = pool;
  const bus = events;
  const kernels = new PgKernelChats(
    openPool,
    new KernelChatSpool(path.join(options.dataDir, KERNEL_SPOOL_FOLDER)),
    logger,
  );
  // Left by a sidecar that stopped before the database came back (lookups find them meanwhile).
  await kernels
    .flushSpool()
    .catch((error: unknown) => logger.warn(`[store] writing spooled kernel pairings: ${describeError(error)}`));
  return {
    backend: 'postgres',
    store: new PgRecordStore(openPool),
    kernelChats: kernels,
    events: bus,
    async exclusive(section) {
      const client = await openPool.connect();
      let broken = false;
      try {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
          RETENTION_LOCK,
        ]);
        if (!rows[0]?.locked) return false;
        try {
          await section();
          return true;
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK]).catch((error: unknown) => {
            broken = true; // the session ends with the connection, and its lock with it
            logger.warn(`[retention] releasing the retention lock: ${describeError(error)}`);
          });
        }
      } finally {
        client.release(broken);
      }
    },
    async health() {
      try {
        // Through the availability check: while the server is known away, 'down' at once.
        await query(openPool, 'SELECT 1');
        return bus.listening ? 'up' : 'down';
      } catch {
        return 'down';
      }
    },
    async close() {
      availabilityOf(openPool)?.close();
      await kernels.close();
      await bus.close();
      await openPool.end().catch(() => {});
    },
  };
}
