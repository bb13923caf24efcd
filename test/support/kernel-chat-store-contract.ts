import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KernelChatStore } from '../../proxy/chats/kernel-chats.ts';

/**
 * The contract every KernelChatStore keeps (the kernel→chat memory): run over the file in
 * test/storage, over PostgreSQL in test/storage/shared. `reopen` opens the same memory again,
 * as a restarted sidecar would, after `closed` was closed.
 */
export function describeKernelChatStoreContract(
  name: string,
  make: () => Promise<KernelChatStore>,
  reopen: (closed: KernelChatStore) => Promise<KernelChatStore>,
): void {
  describe(`${name} contract`, () => {
    it('pairs kernels with chats, finds the newest tool kernel, and keeps every pairing across a restart', async () => {
      const store = await make();
      assert.equal(await store.get('k-none'), undefined);
      await store.set('k1', { chatId: 'chat-a', owner: 'alice', createdAt: '2026-01-01T00:00:00.000Z' });
      await store.set('k2', { chatId: 'chat-a', owner: null, createdAt: '2026-01-02T00:00:00.000Z', tool: true });
      await store.set('k3', { chatId: 'chat-a', owner: null, createdAt: '2026-01-03T00:00:00.000Z', tool: true });
      await store.set('k4', { chatId: 'chat-b', owner: 'bob', createdAt: '2026-01-04T00:00:00.000Z' });
      assert.deepEqual(await store.get('k1'), {
        chatId: 'chat-a',
        owner: 'alice',
        createdAt: '2026-01-01T00:00:00.000Z',
      });
      assert.equal(await store.toolKernelOf('chat-a'), 'k3', 'the newest tool kernel');
      assert.equal(await store.toolKernelOf('chat-b'), undefined, 'a plain kernel is no tool kernel');
      await store.delete('k3');
      await store.delete('k-none');
      assert.equal(await store.get('k3'), undefined);
      assert.equal(await store.toolKernelOf('chat-a'), 'k2');
      await store.close();

      const again = await reopen(store);
      const entries = new Map(await again.entries());
      assert.deepEqual([...entries.keys()].sort(), ['k1', 'k2', 'k4']);
      assert.deepEqual(
        entries.get('k2'),
        { chatId: 'chat-a', owner: null, createdAt: '2026-01-02T00:00:00.000Z', tool: true },
        'entries() keeps the tool flag (migrate-store copies them)',
      );
      assert.deepEqual(await again.get('k4'), {
        chatId: 'chat-b',
        owner: 'bob',
        createdAt: '2026-01-04T00:00:00.000Z',
      });
      assert.equal(await again.toolKernelOf('chat-a'), 'k2');
      await again.close();
    });

    it('keeps a pairing of an id no other kernel shares, and ids that look like object keys', async () => {
      const store = await make();
      assert.equal(await store.get('__proto__'), undefined);
      assert.equal(await store.get('constructor'), undefined);
      await store.set('constructor', { chatId: 'chat-c', owner: null, createdAt: 'then' });
      assert.equal((await store.get('constructor'))?.chatId, 'chat-c');
      await store.close();
    });
  });
}
