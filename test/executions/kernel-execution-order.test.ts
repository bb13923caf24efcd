import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KernelExecutionOrder, KernelExecutionOrders } from '../../proxy/executions/kernel-execution-order.ts';
import { legacyCodec } from '../../proxy/wire/wire-legacy.ts';

function fromKernel(msgType: string, parent: string, content: Record<string, unknown>) {
  const message = {
    header: { msg_id: `k-${parent}`, msg_type: msgType, session: 'kernel-session' },
    parent_header: { msg_id: parent },
    content,
  };
  return legacyCodec.decode(Buffer.from(JSON.stringify(message)), false);
}

const settledNow = async (promise: Promise<void>) => {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

test('an execution is settled only once it and every one before it are recorded', async () => {
  const order = new KernelExecutionOrder(() => {});
  const a = {};
  const b = {};
  const first = order.add('e1', a, true);
  const second = order.add('e2', b, true);
  assert.equal(order.last(), second);
  order.settle('e2');
  assert.equal(await settledNow(second.settled), false, 'the one before is not recorded yet');
  order.settle('e1');
  assert.equal(await settledNow(first.settled), true);
  assert.equal(await settledNow(second.settled), true);
  assert.equal(order.last(), undefined);
});

test("the kernel's replies say what a held request behind them gets: failed only with stop_on_error", () => {
  const order = new KernelExecutionOrder(() => {});
  const stops = order.add('stops', {}, true);
  const goesOn = order.add('goes-on', {}, false);
  const aborted = order.add('aborted', {}, true);
  const ok = order.add('ok', {}, true);
  order.observe(fromKernel('execute_reply', 'stops', { status: 'error' }));
  order.observe(fromKernel('execute_reply', 'goes-on', { status: 'error' }));
  order.observe(fromKernel('execute_reply', 'aborted', { status: 'aborted' }));
  order.observe(fromKernel('execute_reply', 'ok', { status: 'ok' }));
  order.observe(fromKernel('execute_reply', 'not-ours', { status: 'error' }));
  assert.deepEqual([stops.outcome, goesOn.outcome, aborted.outcome, ok.outcome], ['failed', 'ok', 'aborted', 'ok']);
  assert.equal(stops.replyHeader?.session, 'kernel-session');
});

test('a restart (or death) loses what the kernel held and what waits for it, not what comes after', () => {
  const order = new KernelExecutionOrder(() => {});
  const running = order.add('running', {}, true);
  const held = order.add('held', {}, true);
  order.observe(fromKernel('status', 'whatever', { execution_state: 'restarting' }));
  const after = order.add('after', {}, true);
  assert.deepEqual([running.outcome, held.outcome, after.outcome], ['lost', 'lost', undefined]);
});

test("a kernel's order lives while a connection to it is open or an execution unrecorded", () => {
  const orders = new KernelExecutionOrders();
  const one = orders.join('k1');
  const two = orders.join('k1');
  assert.equal(one.order, two.order, 'every connection to a kernel shares its order');
  assert.notEqual(orders.join('k2').order, one.order);
  one.order.add('e1', {}, true);
  one.leave();
  one.leave();
  two.leave();
  assert.equal(orders.size, 2, 'an execution still unrecorded keeps it');
  two.order.settle('e1');
  assert.equal(orders.size, 1);
  assert.notEqual(orders.join('k1').order, one.order);
});
