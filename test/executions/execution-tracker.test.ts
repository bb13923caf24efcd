import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecutionEndReason, ExecutionObserver } from '../../proxy/executions/execution-observer.ts';
import { ExecutionTracker, type EndingExecution, type Observed } from '../../proxy/executions/execution-tracker.ts';
import { legacyCodec } from '../../proxy/wire/wire-legacy.ts';
import { quietLogger } from '../../proxy/logger.ts';

function frame(msgType: string, parent: string, content: Record<string, unknown> = {}) {
  return legacyCodec.decode(
    Buffer.from(
      JSON.stringify({ header: { msg_id: 'x', msg_type: msgType }, parent_header: { msg_id: parent }, content }),
    ),
    false,
  );
}

function tracker(timeoutMs = 60_000, pairWaitMs = 60_000, recordsAtFirstHalf?: boolean) {
  const events: string[] = [];
  const observer: ExecutionObserver = {
    recordsAtFirstHalf,
    async executionStarted(_chat, ref) {
      events.push(`start ${ref.msgId}`);
    },
    async executionEnded(_chat, ref, reason: ExecutionEndReason) {
      events.push(`end ${ref.msgId} ${reason}`);
    },
  };
  return {
    events,
    tracker: new ExecutionTracker({
      chatId: 'c',
      kernelId: 'k',
      owner: null,
      observer,
      timeoutMs,
      pairWaitMs,
      logger: quietLogger,
    }),
  };
}

function endings(observed: Observed): EndingExecution[] {
  assert.ok(Array.isArray(observed), `expected executions to end, got ${String(observed)}`);
  return observed;
}

test('holds the first of execute_reply and idle, ends at the second, in either order; ignores other parents', async () => {
  const { events, tracker: t } = tracker();
  await t.begin('a', { msg_id: 'a', msg_type: 'execute_request' });
  await t.begin('b');
  assert.equal(t.observe(frame('execute_reply', 'other')), 'pass');
  const idleA = frame('status', 'a', { execution_state: 'idle' });
  assert.equal(t.observe(idleA), 'held');
  assert.equal(t.observe(frame('execute_result', 'a')), 'pass', 'output that trails the first still flows');
  assert.equal(t.observe(frame('status', 'a', { execution_state: 'busy' })), 'pass');
  const [endA] = endings(t.observe(frame('execute_reply', 'a')));
  assert.equal(endA!.held, idleA, 'the held message comes back with the end');
  const endedA = await endA!.ended;
  assert.deepEqual(
    [endedA.ref.msgId, endedA.reason, endedA.requestHeader.msg_type],
    ['a', 'completed', 'execute_request'],
  );
  assert.equal(t.observe(frame('status', 'a', { execution_state: 'idle' })), 'pass', 'a third is not another end');

  const replyB = frame('execute_reply', 'b');
  assert.equal(t.observe(replyB), 'held');
  assert.equal(t.observe(frame('execute_reply', 'b')), 'pass', 'a second reply is not the other half');
  const [endB] = endings(t.observe(frame('status', 'b', { execution_state: 'idle' })));
  assert.equal(endB!.held, replyB);
  await endB!.ended;
  assert.deepEqual(events, ['start a', 'start b', 'end a completed', 'end b completed']);
  assert.equal(t.inFlight, 0);
});

test('a restarting or dead kernel ends everything in flight, with what it held', async () => {
  const { events, tracker: t } = tracker();
  await t.begin('a');
  const reply = frame('execute_reply', 'a');
  assert.equal(t.observe(reply), 'held');
  const [endA] = endings(t.observe(frame('status', '', { execution_state: 'restarting' })));
  assert.equal(endA!.held, reply);
  await endA!.ended;
  await t.begin('b');
  const [endB] = endings(t.observe(frame('status', '', { execution_state: 'dead' })));
  assert.equal(endB!.held, undefined);
  await endB!.ended;
  assert.deepEqual(events, ['start a', 'end a kernel-restarted', 'start b', 'end b kernel-dead']);
});

test('a socket close and the timeout end executions too; a timer end is told to the listener', async (context) => {
  context.mock.timers.enable({ apis: ['setTimeout'] });
  const { events, tracker: t } = tracker(20);
  const byTimer: EndingExecution[] = [];
  t.onEndedByTimer((ending) => byTimer.push(...ending));
  await t.begin('a');
  context.mock.timers.tick(19);
  assert.deepEqual(events, ['start a']);
  context.mock.timers.tick(1);
  await byTimer[0]!.ended;
  await t.begin('b');
  await Promise.all(t.endAll('socket-closed').map((e) => e.ended));
  assert.deepEqual(events, ['start a', 'end a timeout', 'start b', 'end b socket-closed']);
  assert.deepEqual(t.endAll('socket-closed'), [], 'nothing left in flight');
});

test('a held message whose other half does not come within pairWaitMs ends the execution', async (context) => {
  context.mock.timers.enable({ apis: ['setTimeout'] });
  const { events, tracker: t } = tracker(60_000, 50);
  const byTimer: EndingExecution[] = [];
  t.onEndedByTimer((ending) => byTimer.push(...ending));
  await t.begin('a');
  const idle = frame('status', 'a', { execution_state: 'idle' });
  assert.equal(t.observe(idle), 'held');
  context.mock.timers.tick(49);
  assert.equal(byTimer.length, 0);
  context.mock.timers.tick(1);
  assert.equal(byTimer[0]!.held, idle);
  assert.equal((await byTimer[0]!.ended).reason, 'completed');
  assert.equal(t.observe(frame('execute_reply', 'a')), 'pass', 'the late half just passes');
  assert.deepEqual(events, ['start a', 'end a completed']);
});

test('an observer that records from the first half is called then; the end still waits for the second', async () => {
  const { events, tracker: t } = tracker(60_000, 60_000, true);
  await t.begin('a');
  const reply = frame('execute_reply', 'a');
  assert.equal(t.observe(reply), 'held');
  assert.deepEqual(events, ['start a', 'end a completed'], 'recording began at the reply');
  assert.equal(t.inFlight, 1, 'the execution has not ended: its idle is still to come');
  assert.equal(t.observe(frame('stream', 'a')), 'pass', 'output that trails the reply still flows');
  const [endA] = endings(t.observe(frame('status', 'a', { execution_state: 'idle' })));
  assert.equal(endA!.held, reply);
  assert.equal((await endA!.ended).reason, 'completed');

  // Ended otherwise between the halves (a restart): the recording already under way is the one.
  await t.begin('b');
  assert.equal(t.observe(frame('status', 'b', { execution_state: 'idle' })), 'held');
  const [endB] = endings(t.observe(frame('status', '', { execution_state: 'restarting' })));
  await endB!.ended;
  assert.deepEqual(events, ['start a', 'end a completed', 'start b', 'end b completed'], 'each recorded once');
  assert.equal(t.inFlight, 0);
});
