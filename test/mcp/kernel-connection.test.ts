/**
 * The MCP kernel connection's first call on a new connection. Jupyter Server opens a kernel's
 * channels before their iopub is subscribed to the kernel, and skips its own check (the nudge)
 * when it believes the kernel busy, as it does after a kernel died mid-execution. An execution
 * sent then loses its output and its idle: the call waited for that idle until the client gave
 * up (issue 23's "killed mid-call" hang). The peer here answers as Jupyter does in that state,
 * frame for frame; the real sequence runs in test/e2e/mcp-server.test.ts, where it is a race.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { LocalSocket } from '../../proxy/gateway/relay-socket.ts';
import { KernelConnection } from '../../proxy/mcp/kernel-connection.ts';

interface Sent {
  channel: string;
  header: { msg_id: string; msg_type: string; session: string };
  content: Record<string, unknown>;
}

/** The gateway's end of the connection: what the connection sends, one at a time, and a way to answer. */
function gatewayEnd(socket: LocalSocket) {
  const inbox: Sent[] = [];
  const waiting: Array<(message: Sent) => void> = [];
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as Sent;
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  });
  return {
    next: (): Promise<Sent> =>
      inbox.length ? Promise.resolve(inbox.shift()!) : new Promise((resolve) => waiting.push(resolve)),
    answer(to: Sent, channel: 'shell' | 'iopub', msgType: string, content: Record<string, unknown>): void {
      const header = { msg_id: randomUUID(), msg_type: msgType, session: 'kernel', username: 'kernel', version: '5.3' };
      socket.send(JSON.stringify({ channel, header, parent_header: to.header, metadata: {}, content, buffers: [] }), {
        binary: false,
      });
    },
  };
}

function connected() {
  const [gatewaySide, clientSide] = LocalSocket.pair();
  return { connection: new KernelConnection(clientSide), gateway: gatewayEnd(gatewaySide), gatewaySide };
}

/** What a kernel sends for an execution that prints `text`, all of it seen (iopub live). */
function run(gateway: ReturnType<typeof gatewayEnd>, request: Sent, text: string): void {
  gateway.answer(request, 'iopub', 'status', { execution_state: 'busy' });
  gateway.answer(request, 'iopub', 'stream', { name: 'stdout', text });
  gateway.answer(request, 'shell', 'execute_reply', { status: 'ok', execution_count: 1 });
  gateway.answer(request, 'iopub', 'status', { execution_state: 'idle' });
}

test('the first execution waits until a probe has come back on iopub; one answered on shell only is sent again', async () => {
  const { connection, gateway } = connected();
  const result = connection.execute("print('after restart')", 60_000, () => assert.fail('interrupted'), 1000);

  const first = await gateway.next();
  assert.equal(first.header.msg_type, 'kernel_info_request', 'no execution before iopub is live');
  // iopub not subscribed yet: the kernel's busy and idle for it are lost, only the shell reply comes.
  gateway.answer(first, 'shell', 'kernel_info_reply', { status: 'ok', protocol_version: '5.3' });

  const second = await gateway.next();
  assert.equal(second.header.msg_type, 'kernel_info_request', 'probed again');
  assert.notEqual(second.header.msg_id, first.header.msg_id);
  gateway.answer(second, 'iopub', 'status', { execution_state: 'busy' });
  gateway.answer(second, 'shell', 'kernel_info_reply', { status: 'ok', protocol_version: '5.3' });
  gateway.answer(second, 'iopub', 'status', { execution_state: 'idle' });

  const execute = await gateway.next();
  assert.equal(execute.header.msg_type, 'execute_request');
  assert.equal(execute.content.code, "print('after restart')");
  run(gateway, execute, 'after restart\n');
  const output = await result;
  assert.equal(output.status, 'ok');
  assert.equal(output.text, 'after restart\n');

  // Live since: the next call goes at once.
  const again = connection.execute('print(2)', 60_000, () => assert.fail('interrupted'), 1000);
  const request = await gateway.next();
  assert.equal(request.header.msg_type, 'execute_request');
  run(gateway, request, '2\n');
  assert.equal((await again).text, '2\n');
  connection.close();
});

test('a kernel restarting while the connection is probed ends the call as a kernel death', async () => {
  const { connection, gateway, gatewaySide } = connected();
  const result = connection.execute('x = 1', 60_000, () => assert.fail('interrupted'), 1000);
  assert.equal((await gateway.next()).header.msg_type, 'kernel_info_request');
  const header = { msg_id: randomUUID(), msg_type: 'status', session: 'server', username: 'server', version: '5.3' };
  gatewaySide.send(
    JSON.stringify({
      channel: 'iopub',
      header,
      parent_header: {},
      metadata: {},
      content: { execution_state: 'restarting' },
      buffers: [],
    }),
    { binary: false },
  );
  assert.equal((await result).status, 'kernel-died');
  connection.close();
});

test('a connection whose iopub never answers is given up at the time limit, without an interrupt', async () => {
  const { connection, gateway } = connected();
  let interrupted = false;
  const result = connection.execute('x = 1', 20, () => (interrupted = true), 1000);
  assert.equal((await gateway.next()).header.msg_type, 'kernel_info_request');
  const output = await result;
  assert.equal(output.status, 'closed');
  assert.equal(interrupted, false);
  assert.equal(connection.closed, true);
});
