import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import type { ExecutionEndReason, ExecutionObserver } from '../../proxy/executions/execution-observer.ts';
import { ExecutionTracker } from '../../proxy/executions/execution-tracker.ts';
import { KernelExecutionOrder } from '../../proxy/executions/kernel-execution-order.ts';
import { FrameBudget } from '../../proxy/gateway/frame-budget.ts';
import { KernelChannelRelay } from '../../proxy/gateway/kernel-channel-relay.ts';
import { quietLogger } from '../../proxy/logger.ts';
import { PathRewriter } from '../../proxy/rewrite/path-rewriter.ts';
import { legacyCodec } from '../../proxy/wire/wire-legacy.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';
import { within } from '../support/within.ts';

async function listening(server: WebSocketServer): Promise<number> {
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

describe('kernel channel relay: both sockets close while an execution is starting', () => {
  const servers: WebSocketServer[] = [];
  after(() => {
    for (const server of servers) {
      for (const client of server.clients) client.terminate();
      server.close();
    }
  });

  it('ends that execution once its before-snapshot is done, not at the execution timeout', async () => {
    let started!: () => void;
    let release!: () => void;
    let ended!: (reason: ExecutionEndReason) => void;
    const whenStarted = new Promise<void>((resolve) => (started = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const whenEnded = new Promise<ExecutionEndReason>((resolve) => (ended = resolve));
    // The before-snapshot (a scan of a big workspace) takes longer than the sockets take to close.
    const observer: ExecutionObserver = {
      async executionStarted() {
        started();
        await released;
      },
      async executionEnded(_chatId, _execution, reason) {
        ended(reason);
      },
    };

    const gateway = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    const front = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    servers.push(gateway, front);
    const [gatewayPort, frontPort] = await Promise.all([listening(gateway), listening(front)]);
    const relayed = new Promise<{ client: WebSocket; upstream: WebSocket }>((resolve) => {
      front.once('connection', async (client) => {
        const upstream = new WebSocket(`ws://127.0.0.1:${gatewayPort}`);
        await once(upstream, 'open');
        new KernelChannelRelay(client, upstream, {
          codec: legacyCodec,
          rewriter: new PathRewriter(['/workspaces/c1']),
          tracker: new ExecutionTracker({
            chatId: 'c1',
            kernelId: 'k1',
            owner: null,
            observer,
            timeoutMs: 3_600_000,
            pairWaitMs: 1000,
            logger: quietLogger,
          }),
          order: new KernelExecutionOrder(() => {}),
          logger: quietLogger,
          highWaterMark: 16 * 1024 * 1024,
          recordWaitMs: 1000,
          streamHoldMs: 500,
          budget: new FrameBudget(256 * 1024 * 1024),
          barrierLingerMs: 1000,
        });
        resolve({ client, upstream });
      });
    });
    const user = await RawKernelClient.connect(`ws://127.0.0.1:${frontPort}`, 'legacy');
    const { client, upstream } = await relayed;
    // Added after the relay's own: by the time these run, the relay has handled each close.
    const clientClosed = once(client, 'close');
    const upstreamClosed = once(upstream, 'close');

    user.send('shell', 'execute_request', { code: 'print(1)', silent: false });
    await within(whenStarted, 5000, 'the execution never started');
    user.ws.close();
    await within(Promise.all([clientClosed, upstreamClosed]), 5000, 'the relay never closed both sockets');
    release();
    // Before the fix it was watched from then on, on closed sockets, for the hour of the execution
    // timeout: its files recorded only then, the relay and its tracker kept until then.
    assert.equal(await within(whenEnded, 5000, 'the execution was never ended'), 'socket-closed');
  });
});
