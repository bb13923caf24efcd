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
import type { ChatData } from '../../proxy/storage/chat-data.ts';

const writer = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

describe('crash safety', () => {
  let base = '';
  after(() => rm(base, { recursive: true, force: true }));

  it('kill -9 in the middle of a recording burst leaves valid JSON and no record without its blob', async () => {
    base = await mkdtemp(path.join(tmpdir(), 'crash-test-'));
    const dataDir = path.join(base, 'data');
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dataDir, path.join(base, 'ws')], {
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
    const files = (await readdir(recordsDir)).filter((name) => name.endsWith('.json') && !name.startsWith('.'));
    assert.ok(files.length >= 1);
    const blobs = new BlobStore(dataDir);
    let records = 0;
    for (const name of files) {
      const data = JSON.parse(await readFile(path.join(recordsDir, name), 'utf8')) as ChatData;
      for (const record of data.records) {
        records++;
        const bytes = await readFile(blobs.pathFor(record.sha256));
        assert.equal(createHash('sha256').update(bytes).digest('hex'), record.sha256);
        assert.equal(bytes.byteLength, record.size);
      }
    }
    assert.ok(records > 0);
    // A fresh store opens every chat.
    const store = new LowdbRecordStore(dataDir);
    for (const chatId of await store.listChatIds()) await store.listChat(chatId);
  });
});
