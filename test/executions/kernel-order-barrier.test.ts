import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KernelOrderBarriers } from '../../proxy/executions/kernel-order-barrier.ts';
import type { EncodedFrame } from '../../proxy/wire/kernel-frame.ts';
import { legacyCodec } from '../../proxy/wire/wire-legacy.ts';

function fromKernel(msgType: string, parent: string, content: Record<string, unknown> = {}) {
  const message = { header: { msg_id: `k-${msgType}`, msg_type: msgType }, parent_header: { msg_id: parent }, content };
  return legacyCodec.decode(Buffer.from(JSON.stringify(message)), false);
}

function setup() {
  const sent: Array<{ header: { msg_id: string; msg_type: string; session: string }; content: any }> = [];
  const barriers = new KernelOrderBarriers(legacyCodec, (frame: EncodedFrame) =>
    sent.push(JSON.parse(String(frame.data))),
  );
  return { sent, barriers };
}

test('barriers are used only once the kernel said it runs Python (its own kernel_info_request)', () => {
  const { sent, barriers } = setup();
  barriers.askLanguage();
  assert.equal(sent[0]!.header.msg_type, 'kernel_info_request');
  assert.equal(barriers.available, false);
  const reply = fromKernel('kernel_info_reply', sent[0]!.header.msg_id, { language_info: { name: 'python' } });
  assert.equal(barriers.claim(reply), true, 'the answer to its own request never reaches the client');
  assert.equal(barriers.available, true);
  assert.equal(barriers.claim(fromKernel('kernel_info_reply', 'the-clients', {})), false);

  const other = setup();
  other.barriers.learn(fromKernel('kernel_info_reply', 'c', { language_info: { name: 'R' } }));
  assert.equal(other.barriers.available, false);
});

test("the kernel's input_request is answered only once the release resolved; all of a barrier's messages are claimed", async () => {
  const { sent, barriers } = setup();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let settled = false;
  barriers.whenSettled(() => (settled = true));
  barriers.sendBarrier({ session: 'client-session', username: 'u' }, () => released);
  const barrier = sent[0]!;
  assert.equal(barrier.header.msg_type, 'execute_request');
  assert.equal(barrier.header.session, 'client-session');
  assert.deepEqual(
    [barrier.content.silent, barrier.content.store_history, barrier.content.allow_stdin, barrier.content.stop_on_error],
    [true, false, true, false],
  );
  assert.equal(barriers.open, 1);
  const id = barrier.header.msg_id;
  assert.equal(barriers.claim(fromKernel('status', id, { execution_state: 'busy' })), true);
  assert.equal(barriers.claim(fromKernel('input_request', id, { prompt: '' })), true);
  await Promise.resolve();
  assert.equal(sent.length, 1, 'the kernel waits while the execution before is recorded');
  release();
  await released;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(sent.length, 2);
  assert.equal(sent[1]!.header.msg_type, 'input_reply');
  assert.equal(barriers.claim(fromKernel('execute_reply', id, { status: 'ok' })), true);
  assert.equal(barriers.open, 0);
  assert.equal(settled, true);
  assert.equal(barriers.claim(fromKernel('status', id, { execution_state: 'idle' })), true);
});

test('an aborted barrier (an execution before it failed) is closed by its reply and never asks', () => {
  const { sent, barriers } = setup();
  let called = false;
  barriers.sendBarrier({}, async () => {
    called = true;
  });
  assert.equal(barriers.claim(fromKernel('execute_reply', sent[0]!.header.msg_id, { status: 'aborted' })), true);
  assert.equal(barriers.open, 0);
  assert.equal(called, false);
});

test("a request of the sidecar's is forgotten once its reply and idle came: then no frame's parent is read", () => {
  const { sent, barriers } = setup();
  barriers.askLanguage();
  const id = sent[0]!.header.msg_id;
  assert.equal(barriers.claim(fromKernel('status', id, { execution_state: 'busy' })), true);
  assert.equal(barriers.claim(fromKernel('kernel_info_reply', id, { language_info: { name: 'python' } })), true);
  assert.equal(barriers.claim(fromKernel('status', id, { execution_state: 'idle' })), true);
  let parentsRead = 0;
  const frame = fromKernel('stream', id, { name: 'stdout', text: 'x' });
  const watched = new Proxy(frame, {
    get(target, key, receiver) {
      if (key === 'parentMsgId') parentsRead++;
      return Reflect.get(target, key, receiver);
    },
  });
  assert.equal(barriers.claim(watched), false, 'a late message with its id is the client’s');
  assert.equal(parentsRead, 0, 'the empty map is checked first');
  assert.equal(barriers.available, true);
});
