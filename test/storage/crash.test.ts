import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { BlobStore } from '../../proxy/storage/blob-store.ts';
import { LowdbRecordStore } from '../../proxy/storage/lowdb-record-store.ts';

const writer = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

describe('crash safety', () => {
  let base = '';
  after(() => rm(base, { recursive: true, force: true }));

  it('kill -9 in the middle of a recording burst (logs compacted often) leaves every chat readable, and no record without its blob', async () => {
    base = await mkdtemp(path.join(tmpdir(), 'crash-test-'));
    const dataDir = path.join(base, 'data');
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dataDir, path.join(base, 'ws'), '8192'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    // Kill once enough batches were recorded, at a moment that is not lined up with anything.
    await new Promise<void>((resolve, reject) => {
      let lines = 0;
      child.stdout.on('data', (chunk: Buffer) => {
        lines += chunk.toString().split('\n').length - 1;
        if (lines >= 150) resolve();
      });
      child.on('exit', () => reject(new Error(`writer exited early: ${stderr}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');

    const recordsDir = path.join(dataDir, 'records');
    const names = await readdir(recordsDir);
    assert.ok(
      names.some((name) => name.endsWith('.json') && !name.startsWith('.')),
      `some chat was compacted into a snapshot: ${names.join(' ')}`,
    );
    const warnings: string[] = [];
    const store = new LowdbRecordStore(dataDir, {
      logger: { ...console, warn: (line: string) => warnings.push(line) },
    });
    const chatIds = await store.listChatIds();
    assert.equal(chatIds.length, 5);
    const blobs = new BlobStore(dataDir);
    let records = 0;
    for (const chatId of chatIds) {
      const versions = new Set<string>();
      for (const record of await store.listChat(chatId)) {
        records++;
        const key = `${record.path}@${record.version}`;
        assert.ok(!versions.has(key), `${chatId}: ${key} recorded twice`);
        versions.add(key);
        const bytes = await readFile(blobs.pathFor(record.sha256));
        assert.equal(createHash('sha256').update(bytes).digest('hex'), record.sha256);
        assert.equal(bytes.byteLength, record.size);
      }
    }
    assert.ok(records >= 150);
    // A kill almost always lands between whole writes; one that cut a line short is dropped, with a warning.
    assert.ok(
      warnings.every((line) => line.includes('torn last line')),
      warnings.join('\n'),
    );
  });
});
