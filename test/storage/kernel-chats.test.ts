import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileKernelChats } from '../../proxy/storage/file-kernel-chats.ts';
import { describeKernelChatStoreContract } from '../support/kernel-chat-store-contract.ts';

let base: string;
let count = 0;
before(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'kernel-chats-test-'));
});
after(() => rm(base, { recursive: true, force: true }));

const dataDirOf = new WeakMap<object, string>();

describeKernelChatStoreContract(
  'FileKernelChats',
  async () => {
    const dataDir = path.join(base, `d${++count}`);
    const store = await FileKernelChats.open(dataDir);
    dataDirOf.set(store, dataDir);
    return store;
  },
  (closed) => FileKernelChats.open(dataDirOf.get(closed)!),
);

describe('FileKernelChats on disk', () => {
  it('writes kernels.json whole through a temp file, and a failed write does not stop the next', async () => {
    const dataDir = path.join(base, 'failing');
    const kernels = await FileKernelChats.open(dataDir);
    // The temp file's name taken by a folder: that write fails (EISDIR) before kernels.json is touched.
    const temp = path.join(dataDir, '.kernels.json.tmp');
    await mkdir(temp);
    await assert.rejects(kernels.set('k1', { chatId: 'chat-a', owner: null, createdAt: 'then' }));
    await rm(temp, { recursive: true });
    await kernels.set('k2', { chatId: 'chat-b', owner: null, createdAt: 'then' });
    await kernels.close();
    assert.deepEqual(await readdir(dataDir), ['kernels.json'], 'no temp file is left behind');
    const written = JSON.parse(await readFile(path.join(dataDir, 'kernels.json'), 'utf8'));
    assert.deepEqual(Object.keys(written.kernels).sort(), ['k1', 'k2'], 'the next write holds both pairings');
  });
});
