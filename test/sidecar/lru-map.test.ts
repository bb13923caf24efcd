import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LruMap } from '../../proxy/lru-map.ts';

describe('LruMap', () => {
  it('get makes a key the most recently used; peek does not', () => {
    const lru = new LruMap<string, number>(2);
    lru.set('a', 1).set('b', 2).set('c', 3);
    assert.equal(lru.get('a'), 1);
    assert.equal(lru.peek('b'), 2);
    assert.deepEqual([...lru.keys()], ['b', 'c', 'a']);
    assert.deepEqual(lru.evict(), [['b', 2]]);
    assert.deepEqual([...lru.keys()], ['c', 'a']);
  });

  it('evict drops only what the caller lets go, oldest first, while over capacity', () => {
    const lru = new LruMap<string, { busy: boolean }>(2);
    lru.set('a', { busy: true }).set('b', { busy: false }).set('c', { busy: false }).set('d', { busy: false });
    const dropped = lru.evict((v) => !v.busy).map(([k]) => k);
    assert.deepEqual(dropped, ['b', 'c']);
    assert.deepEqual([...lru.keys()], ['a', 'd']);
  });

  it('never drops on its own', () => {
    const lru = new LruMap<number, number>(1);
    for (let i = 0; i < 5; i++) lru.set(i, i);
    assert.equal(lru.size, 5);
  });
});
