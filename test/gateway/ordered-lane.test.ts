import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OrderedLane } from '../../proxy/gateway/ordered-lane.ts';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

test('a step runs at once, on the caller’s stack, while nothing is ahead of it', () => {
  const lane = new OrderedLane((e) => assert.fail(String(e)));
  const ran: number[] = [];
  lane.run(() => void ran.push(1));
  lane.run(() => void ran.push(2));
  assert.deepEqual(ran, [1, 2]);
  assert.equal(lane.idle, true);
});

test('a step that returns a promise holds the ones behind it until it settles, in order', async () => {
  const lane = new OrderedLane((e) => assert.fail(String(e)));
  const ran: string[] = [];
  const snapshot = deferred();
  lane.run(() => {
    ran.push('execute_request');
    return snapshot.promise.then(() => void ran.push('forwarded'));
  });
  lane.run(() => void ran.push('next'));
  const last = deferred();
  lane.run(() => {
    ran.push('last');
    last.resolve();
    return undefined;
  });
  assert.deepEqual(ran, ['execute_request']);
  assert.equal(lane.idle, false);
  snapshot.resolve();
  await last.promise;
  assert.deepEqual(ran, ['execute_request', 'forwarded', 'next', 'last']);
  assert.equal(lane.idle, true);
  lane.run(() => void ran.push('at once again'));
  assert.equal(ran.at(-1), 'at once again');
});

test('a step that throws or rejects is reported, and the steps behind it still run', async () => {
  const errors: string[] = [];
  const lane = new OrderedLane((e) => errors.push((e as Error).message));
  const ran: string[] = [];
  lane.run(() => {
    throw new Error('sync');
  });
  lane.run(() => void ran.push('after sync'));
  const failing = deferred();
  lane.run(() => failing.promise);
  const done = deferred();
  lane.run(() => {
    ran.push('after rejection');
    done.resolve();
    return undefined;
  });
  failing.reject(new Error('async'));
  await done.promise;
  assert.deepEqual(errors, ['sync', 'async']);
  assert.deepEqual(ran, ['after sync', 'after rejection']);
});

test('a step given while one runs (from inside it) waits its turn', () => {
  const lane = new OrderedLane((e) => assert.fail(String(e)));
  const ran: string[] = [];
  lane.run(() => {
    lane.run(() => void ran.push('inner'));
    ran.push('outer');
    return undefined;
  });
  assert.deepEqual(ran, ['outer', 'inner']);
});
