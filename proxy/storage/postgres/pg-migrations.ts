import type { Pool } from 'pg';
import { DatabaseStartError } from '../store-errors.ts';

/**
 * The schema, as numbered steps applied in order at start. A step is never edited once
 * released: a change is a new step. Public, with SCHEMA_TABLE, as the schema's published
 * history: an operator reads the version a database is at from SCHEMA_TABLE, and a database at
 * any older version is built by applying a prefix of these steps (which is how the upgrade from
 * each version is tested). Each sidecar applies what is missing in one transaction,
 * under an advisory lock, so two sidecars starting at once neither race nor both apply a step.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'chats, file records, file events, kernel chats',
    sql: `
      CREATE TABLE chats (
        chat_id  text PRIMARY KEY,
        owner    text,
        skipped  jsonb  NOT NULL DEFAULT '[]',
        -- The chat's last event seq: events are numbered 1, 2, 3... per chat.
        last_seq bigint NOT NULL DEFAULT 0
      );
      CREATE TABLE file_records (
        chat_id text    NOT NULL REFERENCES chats (chat_id),
        id      text    NOT NULL,
        path    text    NOT NULL,
        version integer NOT NULL,
        sha256  text    NOT NULL,
        -- The seq of the record's file event: the order records were appended in.
        seq     bigint  NOT NULL,
        record  jsonb   NOT NULL,
        PRIMARY KEY (chat_id, id),
        -- Two sidecars can never store the same version of a path twice.
        UNIQUE (chat_id, path, version)
      );
      CREATE INDEX file_records_chat_seq ON file_records (chat_id, seq);
      CREATE TABLE file_events (
        chat_id   text   NOT NULL REFERENCES chats (chat_id),
        seq       bigint NOT NULL,
        type      text   NOT NULL CHECK (type IN ('file', 'skipped')),
        record_id text,
        path      text,
        skipped   jsonb,
        PRIMARY KEY (chat_id, seq)
      );
      CREATE TABLE kernel_chats (
        kernel_id  text PRIMARY KEY,
        chat_id    text NOT NULL,
        owner      text,
        created_at text NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'link revocations, webhook outbox',
    sql: `
      -- ms since the epoch: links of the chat issued before it open nothing. NULL: never revoked.
      ALTER TABLE chats ADD COLUMN links_revoked_at bigint;
      -- One webhook delivery owed per recorded file version, inserted in the record's transaction.
      CREATE TABLE webhook_outbox (
        id              text    PRIMARY KEY,
        chat_id         text    NOT NULL,
        record_id       text    NOT NULL,
        created_at      text    NOT NULL,
        attempts        integer NOT NULL DEFAULT 0,
        -- ms since the epoch; a claim sets it to the end of its lease, so a sidecar that dies
        -- mid-delivery leaves the entry due again when the lease ends.
        next_attempt_at bigint  NOT NULL,
        state           text    NOT NULL CHECK (state IN ('pending', 'failed')),
        last_error      text,
        FOREIGN KEY (chat_id, record_id) REFERENCES file_records (chat_id, id)
      );
      CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE state = 'pending';
    `,
  },
  {
    version: 3,
    name: "each chat's used bytes",
    sql: `
      -- Bytes of every version the chat's records hold, kept by each append: the per-chat quota is
      -- checked against it under the chat's lock, so sidecars sharing the database keep it together.
      ALTER TABLE chats ADD COLUMN used_bytes bigint NOT NULL DEFAULT 0;
      UPDATE chats SET used_bytes = totals.bytes
      FROM (SELECT chat_id, sum((record->>'size')::bigint) AS bytes FROM file_records GROUP BY chat_id) AS totals
      WHERE chats.chat_id = totals.chat_id;
    `,
  },
  {
    version: 4,
    name: "each chat's tool kernel",
    sql: `
      -- The kernel the MCP server started for a chat, found by whichever sidecar a call lands on.
      ALTER TABLE kernel_chats ADD COLUMN tool boolean NOT NULL DEFAULT false;
      CREATE INDEX kernel_chats_tool ON kernel_chats (chat_id, created_at) WHERE tool;
    `,
  },
];

/** Where each applied step is written (version, name, applied_at): what an operator queries for the schema's version. */
export const SCHEMA_TABLE = 'generated_files_schema';
/** pg_advisory_xact_lock key for migrations: any constant unlikely to clash with an application's own. */
const MIGRATION_LOCK = 7_130_411_001;

/** Applies missing steps; refuses a database migrated by a newer sidecar. Returns the version now. */
export async function migrate(pool: Pool): Promise<{ version: number; applied: number[] }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${SCHEMA_TABLE} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM ${SCHEMA_TABLE}`,
    );
    const current = rows[0]?.version ?? 0;
    const known = MIGRATIONS.at(-1)!.version;
    if (current > known) {
      throw new DatabaseStartError(
        'ERR_DATABASE_SCHEMA_TOO_NEW',
        `The database schema is at version ${current}, newer than this sidecar knows (${known}): a newer sidecar migrated it. Upgrade this sidecar; never point an older one at it.`,
      );
    }
    const applied: number[] = [];
    for (const step of MIGRATIONS) {
      if (step.version <= current) continue;
      await client.query(step.sql);
      await client.query(`INSERT INTO ${SCHEMA_TABLE} (version, name) VALUES ($1, $2)`, [step.version, step.name]);
      applied.push(step.version);
    }
    await client.query('COMMIT');
    return { version: Math.max(current, known), applied };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
