import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecutionEndReason, ExecutionObserver } from '../../proxy/artifacts/file-record.ts';
import { ExecutionTracker } from '../../proxy/executions/execution-tracker.ts';
import { legacyCodec } from '../../proxy/gateway/wire-legacy.ts';
import { quietLogger } from '../../proxy/logger.ts';

function frame(msgType: string, parent: string, content: Record<string, unknown> = {}) {
  return legacyCodec.decode(Buffer.from(JSON.stringify({ header: { msg_id: 'x', msg_type: msgType }, parent_header: { msg_id: parent }, content })), false);
}

function tracker(timeoutMs = 60_000) {
  const events: string[] = [];
  const observer: ExecutionObserver = {
    async executionStarted(_chat, ref) {
      events.push(`start ${ref.msgId}`);
    },
    async executionEnded(_chat, ref, reason: ExecutionEndReason) {
      events.push(`end ${ref.msgId} ${reason}`);
    },
  };
  return { events, tracker: new ExecutionTracker({ chatId: 'c', kernelId: 'k', owner: null, observer, timeoutMs, logger: quietLogger }) };
}

test('ends at the first of execute_reply and idle, in either order; ignores other parents', async () => {
  const { events, tracker: t } = tracker();
  await t.begin('a', { msg_id: 'a', msg_type: 'execute_request' });
  await t.begin('b');
  assert.equal(t.observe(frame('execute_reply', 'other')), undefined);
  const endedA = await t.observe(frame('status', 'a', { execution_state: 'idle' }));
  assert.deepEqual(endedA?.map((e) => [e.ref.msgId, e.reason, e.requestHeader.msg_type]), [['a', 'completed', 'execute_request']]);
  assert.equal(t.observe(frame('execute_reply', 'a')), undefined, 'the second of the two is not another end');
  await t.observe(frame('execute_reply', 'b'));
  assert.equal(t.observe(frame('status', 'b', { execution_state: 'idle' })), undefined);
  assert.deepEqual(events, ['start a', 'start b', 'end a completed', 'end b completed']);
  assert.equal(t.inFlight, 0);
});

test('a restarting or dead kernel ends everything in flight', async () => {
  const { events, tracker: t } = tracker();
  await t.begin('a');
  await t.observe(frame('status', '', { execution_state: 'restarting' }));
  await t.begin('b');
  await t.observe(frame('status', '', { execution_state: 'dead' }));
  assert.deepEqual(events, ['start a', 'end a kernel-restarted', 'start b', 'end b kernel-dead']);
});

test('a socket close and the timeout end executions too', async (context) => {
  context.mock.timers.enable({ apis: ['setTimeout'] });
  const { events, tracker: t } = tracker(20);
  await t.begin('a');
  context.mock.timers.tick(19);
  assert.deepEqual(events, ['start a']);
  context.mock.timers.tick(1);
  await t.begin('b');
  await t.endAll('socket-closed');
  assert.deepEqual(events, ['start a', 'end a timeout', 'start b', 'end b socket-closed']);
});
