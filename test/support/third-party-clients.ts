/**
 * The wire behaviour of third-party Jupyter clients that cannot be installed here, replayed
 * exactly as each was seen running through the sidecar: their REST calls, auth, frames and the
 * message that makes each consider a run done. One function per client; each returns what that
 * client would have handed on (its outputs up to "done") so tests can check what it saw.
 */
import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import { packV1, unpackV1, V1_PROTOCOL } from '../../proxy/wire/wire-v1.ts';
import { executeContent, executeRequestText, openKernelSocket } from './client-frames.ts';

export interface ClientRun {
  kernelId: string;
  stdout: string;
  /** text/plain of every execute_result and display_data, in order, up to "done". */
  plain: string[];
  /** text/html outputs up to "done" (AutoGen saves each as a file). */
  html: string[];
  /** Every message of the run the client read, up to "done" (and in a drain after it). */
  types: string[];
}

const wsUrl = (url: string) => url.replace(/^http/, 'ws');

interface Message {
  header: { msg_id: string; msg_type: string };
  parent_header: { msg_id?: string };
  content: Record<string, any>;
  msg_type?: string;
}

function decode(data: Buffer, binary: boolean, protocol: string): Message {
  if (protocol === V1_PROTOCOL && binary) {
    const [, header, parent, , content] = unpackV1(data).map((b) => b.toString('utf8'));
    return { header: JSON.parse(header!), parent_header: JSON.parse(parent!), content: JSON.parse(content!) };
  }
  return JSON.parse(data.toString('utf8'));
}

/** Read the run's messages until `done(message)` says so, then (optionally) keep reading for `drainMs`. */
function readRun(
  socket: WebSocket,
  msgId: string,
  done: (m: Message, seen: Set<string>) => boolean,
  drainMs = 0,
): Promise<Omit<ClientRun, 'kernelId'>> {
  const run = { stdout: '', plain: [] as string[], html: [] as string[], types: [] as string[] };
  const seen = new Set<string>();
  return new Promise((resolve, reject) => {
    let finished = false;
    const onMessage = (data: Buffer, binary: boolean) => {
      const m = decode(data, binary, socket.protocol);
      if (m.parent_header?.msg_id !== msgId) return;
      const type = m.header?.msg_type ?? m.msg_type ?? '';
      run.types.push(type);
      if (finished) return;
      if (type === 'stream') run.stdout += m.content.text;
      if (type === 'execute_result' || type === 'display_data') {
        if (typeof m.content.data?.['text/plain'] === 'string') run.plain.push(m.content.data['text/plain']);
        if (typeof m.content.data?.['text/html'] === 'string') run.html.push(m.content.data['text/html']);
      }
      seen.add(type === 'status' ? `status:${m.content.execution_state}` : type);
      if (done(m, seen)) {
        finished = true;
        const stop = () => {
          socket.off('message', onMessage);
          resolve(run);
        };
        if (drainMs > 0) setTimeout(stop, drainMs);
        else stop();
      }
    };
    socket.on('message', onMessage);
    socket.once('close', () => !finished && reject(new Error('socket closed before the run was done')));
  });
}

const isIdle = (m: Message) => m.header?.msg_type === 'status' && m.content.execution_state === 'idle';

async function createKernel(url: string, init: RequestInit): Promise<string> {
  const res = await fetch(url, { method: 'POST', ...init });
  if (res.status !== 201) throw new Error(`kernel creation: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/**
 * Enterprise Gateway's own client (enterprise_gateway/client/gateway_client.py): kernel created
 * with `{"name", "env": {"KERNEL_USERNAME"}}`, no auth of its own (`query` is what the gateway
 * in front needs, added by the caller), an empty session, `"buffers": {}` (an object), legacy
 * frames, done at `idle`, then 0.5 s more of reading, then the kernel is deleted.
 */
export async function runLikeEnterpriseGatewayClient(base: string, code: string, query = ''): Promise<ClientRun> {
  const kernelId = await createKernel(`${base}api/kernels${query}`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'python3', env: { KERNEL_USERNAME: 'eg-user' } }),
  });
  const socket = await openKernelSocket(`${wsUrl(base)}api/kernels/${kernelId}/channels${query}`);
  const msgId = randomUUID().replace(/-/g, '');
  const run = readRun(socket, msgId, isIdle, 500);
  socket.send(
    JSON.stringify({
      header: { msg_id: msgId, username: '', session: '', msg_type: 'execute_request', version: '5.0' },
      parent_header: {},
      channel: 'shell',
      content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false },
      metadata: {},
      buffers: {},
    }),
  );
  const result = await run;
  socket.close();
  await fetch(`${base}api/kernels/${kernelId}${query}`, { method: 'DELETE' });
  return { kernelId, ...result };
}

/**
 * AutoGen 0.2's JupyterCodeExecutor (autogen/coding/jupyter): `Authorization: token …` on REST
 * and WebSocket, one kernel for every batch, a `kernel_info_request` (waiting for its reply)
 * before each batch, legacy frames, done at `idle`. Text/html outputs are saved as files by
 * AutoGen, and text/plain goes into the model's context.
 */
export class AutoGenLikeExecutor {
  private constructor(
    private readonly socket: WebSocket,
    readonly kernelId: string,
  ) {}

  static async start(base: string, token: string): Promise<AutoGenLikeExecutor> {
    const headers = { Authorization: `token ${token}` };
    const kernelId = await createKernel(`${base}api/kernels`, {
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'python3' }),
    });
    return new AutoGenLikeExecutor(
      await openKernelSocket(`${wsUrl(base)}api/kernels/${kernelId}/channels`, { headers }),
      kernelId,
    );
  }

  private send(msgType: string, content: Record<string, unknown>): string {
    const msgId = randomUUID();
    const header = { msg_id: msgId, msg_type: msgType, session: randomUUID(), username: 'autogen', version: '5.0' };
    this.socket.send(JSON.stringify({ header, parent_header: {}, metadata: {}, content, channel: 'shell' }));
    return msgId;
  }

  async execute(code: string): Promise<ClientRun> {
    const infoId = randomUUID();
    const ready = readRun(this.socket, infoId, (m) => m.header?.msg_type === 'kernel_info_reply');
    this.socket.send(
      JSON.stringify({
        header: {
          msg_id: infoId,
          msg_type: 'kernel_info_request',
          session: randomUUID(),
          username: 'autogen',
          version: '5.0',
        },
        parent_header: {},
        metadata: {},
        content: {},
        channel: 'shell',
      }),
    );
    await ready;
    let msgId = '';
    const run = new Promise<Omit<ClientRun, 'kernelId'>>((resolve, reject) => {
      // The id is known only once sent: read from the next tick on.
      setImmediate(() => readRun(this.socket, msgId, isIdle).then(resolve, reject));
    });
    msgId = this.send('execute_request', executeContent(code));
    return { kernelId: this.kernelId, ...(await run) };
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * Datalayer's jupyter-kernel-client: `Authorization: Bearer …`, the v1 subprotocol offered (the
 * server's choice used), done only once both `idle` and `execute_reply` have come.
 */
export async function runLikeDatalayer(
  base: string,
  token: string,
  code: string,
  query = '',
): Promise<ClientRun & { protocol: string }> {
  const headers = { Authorization: `Bearer ${token}` };
  const kernelId = await createKernel(`${base}api/kernels${query}`, {
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'python3' }),
  });
  const socket = await openKernelSocket(`${wsUrl(base)}api/kernels/${kernelId}/channels${query}`, {
    headers,
    protocols: [V1_PROTOCOL],
  });
  const msgId = randomUUID();
  const run = readRun(socket, msgId, (_m, seen) => seen.has('status:idle') && seen.has('execute_reply'));
  const header = {
    msg_id: msgId,
    msg_type: 'execute_request',
    session: randomUUID(),
    username: 'datalayer',
    date: new Date().toISOString(),
    version: '5.3',
  };
  const content = executeContent(code);
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  if (socket.protocol === V1_PROTOCOL)
    socket.send(packV1([Buffer.from('shell'), json(header), json({}), json({}), json(content)]));
  else socket.send(JSON.stringify({ header, parent_header: {}, metadata: {}, content, channel: 'shell' }));
  const result = await run;
  socket.close();
  await fetch(`${base}api/kernels/${kernelId}${query}`, { method: 'DELETE', headers });
  return { kernelId, protocol: socket.protocol, ...result };
}

/**
 * smolagents' Jupyter executor: `?token=` on REST and WebSocket, one kernel, a new WebSocket for
 * each run, messages with no `channel` (Jupyter assumes shell), done at `idle`, read by the
 * top-level `msg_type`.
 */
export class SmolagentsLikeExecutor {
  private constructor(
    private readonly base: string,
    private readonly query: string,
    readonly kernelId: string,
  ) {}

  static async start(base: string, token: string): Promise<SmolagentsLikeExecutor> {
    const query = `?token=${token}`;
    const kernelId = await createKernel(`${base}api/kernels${query}`, {});
    return new SmolagentsLikeExecutor(base, query, kernelId);
  }

  async execute(code: string): Promise<ClientRun> {
    const socket = await openKernelSocket(`${wsUrl(this.base)}api/kernels/${this.kernelId}/channels${this.query}`);
    const msgId = randomUUID();
    const run = readRun(socket, msgId, isIdle);
    socket.send(
      executeRequestText(code, { msg_id: msgId, username: 'anonymous', session: randomUUID(), version: '5.0' }),
    );
    const result = await run;
    socket.close();
    return { kernelId: this.kernelId, ...result };
  }

  async close(): Promise<void> {
    await fetch(`${this.base}api/kernels/${this.kernelId}${this.query}`, { method: 'DELETE' });
  }
}
