/**
 * The PostgreSQL stores on a real, throwaway cluster: the RecordStore contract, migrations
 * (idempotent, two at once, a newer schema refused), start-up errors without the password,
 * the LISTEN/NOTIFY bus, retention's lock, migrate-store from a lowdb install, and webhook
 * deliveries claimed by two sidecars.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { LowdbRecordStore } from '../../../proxy/storage/lowdb-record-store.ts';
import { FileKernelChats } from '../../../proxy/storage/file-kernel-chats.ts';
import { FileLinks } from '../../../proxy/links/file-links.ts';
import { quietLogger } from '../../../proxy/logger.ts';
import { openStores, type OpenedStores } from '../../../proxy/storage/open-stores.ts';
import { migrateStore } from '../../../proxy/storage/migrate-store.ts';
import { MIGRATIONS, SCHEMA_TABLE } from '../../../proxy/storage/postgres/pg-migrations.ts';
import { KernelChatSpool } from '../../../proxy/storage/postgres/kernel-chat-spool.ts';
import { KERNEL_SPOOL_FOLDER } from '../../../proxy/storage/postgres/open-pg-stores.ts';
import type { RecordStore } from '../../../proxy/storage/record-store.ts';
import { WebhookDispatcher } from '../../../proxy/webhooks/webhook-dispatcher.ts';
import { DELIVERY_HEADER } from '../../../proxy/webhooks/webhook-signature.ts';
import { startTestPostgres, TEST_PASSWORD, type TestPostgres } from '../../support/postgres.ts';
import { writeLegacyInstall } from '../../support/legacy-lowdb-install.ts';
import { waitFor } from '../../reliability/reliability-helpers.ts';
import { describeKernelChatStoreContract } from '../../support/kernel-chat-store-contract.ts';
import type { KernelChatStore } from '../../../proxy/chats/kernel-chats.ts';
import { describeRecordStoreContract, fakeRecord, outboxFor } from '../../support/record-store-contract.ts';

let cluster: TestPostgres;
let base: string;
let dbCount = 0;
const opened: OpenedStores[] = [];

before(async () => {
  cluster = await startTestPostgres();
  base = await mkdtemp(path.join(tmpdir(), 'pg-store-test-'));
});
after(async () => {
  for (const stores of opened) await stores.close();
  await cluster?.destroy();
  await rm(base, { recursive: true, force: true });
});

/** The database each contract store was opened on, so that it can be opened again. */
const databaseOf = new WeakMap<RecordStore, string>();

async function freshStores(url?: string): Promise<OpenedStores> {
  url ??= await cluster.createDatabase(`t${++dbCount}`);
  const stores = await openStores(
    { dataDir: path.join(base, `d${dbCount}`), databaseUrl: url, databasePoolSize: 4 },
    quietLogger,
  );
  databaseOf.set(stores.store, url);
  opened.push(stores);
  return stores;
}

describeRecordStoreContract(
  'PgRecordStore',
  async () => (await freshStores()).store,
  async (closed) => (await freshStores(databaseOf.get(closed))).store,
);

/** The data dir and database each kernel memory was opened on, so that it can be opened again. */
const openedOn = new WeakMap<KernelChatStore, string>();

describeKernelChatStoreContract(
  'PgKernelChats',
  async () => {
    const { kernelChats, store } = await freshStores();
    openedOn.set(kernelChats, databaseOf.get(store)!);
    return kernelChats;
  },
  async (closed) => (await freshStores(openedOn.get(closed))).kernelChats,
);

describe('PostgreSQL migrations and start-up', () => {
  it('migrates once, even when two sidecars start at once, and refuses a newer schema', async () => {
    const url = await cluster.createDatabase('migrations');
    const options = { dataDir: path.join(base, 'm'), databaseUrl: url, databasePoolSize: 2 };
    const both = await Promise.all([openStores(options, quietLogger), openStores(options, quietLogger)]);
    const client = new pg.Client(url);
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT version FROM ${SCHEMA_TABLE} ORDER BY version`);
      assert.deepEqual(
        rows.map((r) => r.version),
        MIGRATIONS.map((m) => m.version),
      );
      for (const stores of both) await stores.close();
      await (await openStores(options, quietLogger)).close(); // a third start applies nothing
      await client.query(`INSERT INTO ${SCHEMA_TABLE} (version, name) VALUES (999, 'from the future')`);
      await assert.rejects(openStores(options, quietLogger), { code: 'ERR_DATABASE_SCHEMA_TOO_NEW' });
    } finally {
      await client.end();
    }
  });

  it("step 3 counts each chat's used bytes from the records a version-2 database already holds", async () => {
    const url = await cluster.createDatabase('from_v2');
    const client = new pg.Client(url);
    await client.connect();
    try {
      await client.query(
        `CREATE TABLE ${SCHEMA_TABLE} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      for (const step of MIGRATIONS.filter((m) => m.version <= 2)) {
        await client.query(step.sql);
        await client.query(`INSERT INTO ${SCHEMA_TABLE} (version, name) VALUES ($1, $2)`, [step.version, step.name]);
      }
      await client.query("INSERT INTO chats (chat_id, last_seq) VALUES ('old', 2), ('empty', 0)");
      for (const [n, size] of [
        [1, 300],
        [2, 45],
      ] as const) {
        const record = { ...fakeRecord('old', n), size, version: 1 };
        await client.query(
          'INSERT INTO file_records (chat_id, id, path, version, sha256, seq, record) VALUES ($1, $2, $3, 1, $4, $5, $6)',
          ['old', record.id, record.path, record.sha256, n, JSON.stringify(record)],
        );
      }
    } finally {
      await client.end();
    }
    const stores = await openStores(
      { dataDir: path.join(base, 'v2'), databaseUrl: url, databasePoolSize: 1 },
      quietLogger,
    );
    opened.push(stores);
    assert.equal(await stores.store.usedBytes('old'), 345);
    assert.equal(await stores.store.usedBytes('empty'), 0);
  });

  it('names a wrong password or an unreachable server in one line, never the password', async () => {
    const wrong = cluster.url.replace(TEST_PASSWORD, 'not-the-password-42');
    const error = await openStores({ dataDir: base, databaseUrl: wrong, databasePoolSize: 1 }, quietLogger).catch(
      (e: Error) => e,
    );
    assert.equal((error as { code?: string }).code, 'ERR_DATABASE_AUTH');
    assert.doesNotMatch((error as Error).message, /not-the-password-42/);
    assert.doesNotMatch((error as Error).message, /\n/);

    const closedPort = `postgres://u:secret-pw@127.0.0.1:1/db`;
    const unreachable = await openStores(
      { dataDir: base, databaseUrl: closedPort, databasePoolSize: 1 },
      quietLogger,
    ).catch((e: Error) => e);
    assert.equal((unreachable as { code?: string }).code, 'ERR_DATABASE_UNREACHABLE');
    assert.doesNotMatch((unreachable as Error).message, /secret-pw/);
  });
});

describe('kernel pairings spooled while PostgreSQL was away', () => {
  it('are written to the database by the next sidecar to start, and found meanwhile', async () => {
    const url = await cluster.createDatabase('spool');
    const dataDir = path.join(base, 'spool');
    // As a sidecar that created a kernel during an outage and stopped before the database came back left it.
    const spool = new KernelChatSpool(path.join(dataDir, KERNEL_SPOOL_FOLDER));
    await spool.put('kernel-during', { chatId: 'chat-during', owner: null, createdAt: 'then' });
    const stores = await openStores({ dataDir, databaseUrl: url, databasePoolSize: 1 }, quietLogger);
    opened.push(stores);
    assert.deepEqual(await spool.list(), []);
    assert.deepEqual(await stores.kernelChats.entries(), [
      ['kernel-during', { chatId: 'chat-during', owner: null, createdAt: 'then' }],
    ]);
    // One spooled by another sidecar while this one runs: a lookup finds it, and it is written back.
    await spool.put('kernel-later', { chatId: 'chat-later', owner: 'alice', createdAt: 'now' });
    assert.equal((await stores.kernelChats.get('kernel-later'))?.chatId, 'chat-later');
    await waitFor('the spool written back', async () => (await spool.list()).length === 0);
    assert.equal((await stores.kernelChats.entries()).length, 2);
  });
});

describe('PostgreSQL that does not answer', () => {
  it('fails the first query after its timeout, every later one at once, until the server answers again', async () => {
    const stores = await freshStores();
    assert.deepEqual(await stores.store.listChat('frozen'), []); // a pooled connection, idle
    await cluster.freeze();
    try {
      const first = await stores.store.listChat('frozen').catch((e: unknown) => e);
      assert.equal((first as { code?: string }).code, 'ERR_STORE_UNAVAILABLE');
      // Not waited out again: the same error, thrown before any connection is tried.
      assert.equal(await stores.store.listChat('frozen').catch((e: unknown) => e), first);
      assert.equal(await stores.store.hasChat('frozen').catch((e: unknown) => e), first);
      assert.equal(await stores.health(), 'down');
    } finally {
      await cluster.thaw();
    }
    await waitFor(
      'queries answered again',
      () =>
        stores.store.listChat('frozen').then(
          () => true,
          () => false,
        ),
      30_000,
      100,
    );
    assert.equal(await stores.health(), 'up');
  });
});

describe('PostgreSQL file-event bus', () => {
  it('carries a signal from one sidecar to another', async () => {
    const url = await cluster.createDatabase('bus');
    const options = { dataDir: path.join(base, 'bus'), databaseUrl: url, databasePoolSize: 2 };
    const a = await openStores(options, quietLogger);
    const b = await openStores(options, quietLogger);
    opened.push(a, b);
    const got = new Promise<unknown>((resolve) => a.events.on('chat-x', resolve));
    await b.events.publish('chat-x', 7);
    assert.deepEqual(await got, { seq: 7 });
  });

  it('runs retention on one sidecar at a time', async () => {
    const url = await cluster.createDatabase('retention');
    const options = { dataDir: path.join(base, 'ret'), databaseUrl: url, databasePoolSize: 2 };
    const a = await openStores(options, quietLogger);
    const b = await openStores(options, quietLogger);
    opened.push(a, b);
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const first = a.exclusive!(async () => {
      entered();
      await holding;
    });
    await inside;
    assert.equal(await b.exclusive!(async () => {}), false, 'the other node skips its sweep');
    release();
    assert.equal(await first, true);
    assert.equal(await b.exclusive!(async () => {}), true, 'and sweeps once the lock is free');
  });
});

describe('migrate-store', () => {
  it('copies a lowdb install into PostgreSQL, and a second run copies nothing twice', async () => {
    const dataDir = path.join(base, 'lowdb-install');
    const lowdb = new LowdbRecordStore(dataDir);
    await lowdb.append(
      'chat-1',
      [fakeRecord('chat-1', 1, { path: 'a.csv' }), fakeRecord('chat-1', 2, { path: 'a.csv' }), fakeRecord('chat-1', 3)],
      outboxFor(7),
    );
    // One delivery made (gone from the outbox), one kept as failed, one still pending.
    await lowdb.updateOutbox('chat-1', 'd-rchat1x1', null);
    const failed = (await lowdb.listOutbox()).find((e) => e.recordId === 'rchat1x2');
    await lowdb.updateOutbox('chat-1', failed!.id, { ...failed!, state: 'failed', attempts: 4, lastError: 'HTTP 500' });
    await lowdb.revokeLinks('chat-2', 1234);
    await lowdb.claimOwner('chat-1', 'alice');
    await lowdb.setSkipped('chat-2', [{ path: 'big.zip', size: 9, reason: 'too-large', at: 'now' }]);
    await lowdb.close();
    const kernels = await FileKernelChats.open(dataDir);
    await kernels.set('kernel-1', { chatId: 'chat-1', owner: 'alice', createdAt: 'then' });
    await kernels.close();

    const url = await cluster.createDatabase('migrate');
    const first = await migrateStore(dataDir, url, quietLogger);
    assert.deepEqual(first, {
      chats: 2,
      records: 3,
      recordsAlreadyThere: 0,
      owners: 1,
      skippedLists: 1,
      outbox: 2,
      linkRevocations: 1,
      kernels: 1,
    });
    const second = await migrateStore(dataDir, url, quietLogger);
    assert.deepEqual(second, {
      chats: 2,
      records: 0,
      recordsAlreadyThere: 3,
      owners: 1,
      skippedLists: 1,
      outbox: 0,
      linkRevocations: 1,
      kernels: 1,
    });

    const stores = await openStores({ dataDir, databaseUrl: url, databasePoolSize: 1 }, quietLogger);
    opened.push(stores);
    assert.deepEqual(
      (await stores.store.listChat('chat-1')).map((r) => [r.path, r.version]),
      [
        ['a.csv', 1],
        ['a.csv', 2],
        ['out/f3.csv', 1],
      ],
    );
    assert.equal(await stores.store.getOwner('chat-1'), 'alice');
    assert.equal((await stores.store.listSkipped('chat-2'))[0]?.path, 'big.zip');
    assert.equal((await stores.kernelChats.get('kernel-1'))?.chatId, 'chat-1');
    const outbox = await stores.store.listOutbox();
    assert.deepEqual(outbox.map((e) => [e.recordId, e.state, e.attempts, e.lastError]).sort(), [
      ['rchat1x2', 'failed', 4, 'HTTP 500'],
      ['rchat1x3', 'pending', 0, null],
    ]);
    assert.equal(await stores.store.getLinksRevokedAt('chat-2'), 1234);
  });
});

describe('migrate-store from chat files in the one-file-per-chat format', () => {
  it('copies them as the earlier sidecars left them', async () => {
    const dataDir = path.join(base, 'legacy-install');
    await writeLegacyInstall(dataDir);
    const url = await cluster.createDatabase('migrate_legacy');
    assert.deepEqual(await migrateStore(dataDir, url, quietLogger), {
      chats: 2,
      records: 3,
      recordsAlreadyThere: 0,
      owners: 1,
      skippedLists: 1,
      outbox: 1,
      linkRevocations: 1,
      kernels: 0,
    });
    const stores = await openStores({ dataDir, databaseUrl: url, databasePoolSize: 1 }, quietLogger);
    opened.push(stores);
    assert.deepEqual(
      (await stores.store.listChat('oldest')).map((r) => [r.path, r.version]),
      [
        ['a.csv', 1],
        ['out/f2.csv', 1],
      ],
    );
    assert.equal(await stores.store.getOwner('oldest'), 'bob');
    assert.equal(await stores.store.getLinksRevokedAt('recent'), 1234);
    assert.deepEqual(
      (await stores.store.listOutbox()).map((e) => e.id),
      ['d-rrecentx3'],
    );
  });
});

describe('webhook deliveries from two sidecars on one database', () => {
  it('delivers each owed delivery once, and takes over what a dead sidecar had claimed', async () => {
    const url = await cluster.createDatabase('webhooks');
    const options = { databaseUrl: url, databasePoolSize: 4 };
    const [a, b] = [
      await openStores({ ...options, dataDir: path.join(base, 'wa') }, quietLogger),
      await openStores({ ...options, dataDir: path.join(base, 'wb') }, quietLogger),
    ];
    opened.push(a, b);
    const received: string[] = [];
    let wake = () => {};
    const receiver = http.createServer((req, res) => {
      received.push(req.headers[DELIVERY_HEADER] as string);
      req.resume().on('end', () => res.writeHead(204).end());
      wake();
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise<void>((resolve) => (wake = resolve));
    };
    const dispatcher = (stores: OpenedStores) =>
      new WebhookDispatcher({
        url: new URL(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`),
        secret: 'webhook-secret',
        store: stores.store,
        links: new FileLinks({ secret: null, ttlSeconds: 0 }),
        linkBase: () => new URL('http://files.example.test/'),
        maxAgeMs: 60_000,
        backoff: { minMs: 50, maxMs: 50 },
        pollMs: 50,
      });
    const [da, db] = [dispatcher(a), dispatcher(b)];
    try {
      // Records written through both sidecars, each with its delivery, before either delivers.
      for (let n = 0; n < 10; n++) {
        await a.store.append(`chat${n % 3}`, [fakeRecord(`chat${n % 3}`, n)], (chatId, records) =>
          da.entriesFor(chatId, records),
        );
        await b.store.append(`chat${n % 3}`, [fakeRecord(`chat${n % 3}`, 100 + n)], (chatId, records) =>
          db.entriesFor(chatId, records),
        );
      }
      // A third sidecar claimed two and died before sending them: they come back when its lease ends.
      const now = Date.now();
      const abandoned = await a.store.claimOutbox(now, now + 300, 2);
      assert.equal(abandoned.length, 2);
      await Promise.all([da.start(), db.start()]);
      await until(() => received.length >= 20);
      assert.deepEqual(new Set(received).size, 20, 'every delivery arrived');
      assert.ok(
        abandoned.every((e) => received.includes(e.id)),
        "the dead sidecar's claims were delivered by the others",
      );
      // Stopped, nothing is in flight: a duplicate would have arrived by now.
      await Promise.all([da.stop(), db.stop()]);
      assert.equal(received.length, 20, 'none delivered twice');
      const [ha, hb] = await Promise.all([da.health(), db.health()]);
      assert.equal(ha.delivered + hb.delivered, 20);
      assert.deepEqual(await a.store.outboxSummary(), { pending: 0, failed: 0, nextAttemptAt: null });
    } finally {
      await Promise.all([da.stop(), db.stop()]);
      receiver.closeAllConnections();
      receiver.close();
    }
  });
});
