import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { packLegacyBinary } from '../../proxy/wire/wire-legacy.ts';
import { packV1, unpackV1, V1_PROTOCOL } from '../../proxy/wire/wire-v1.ts';

export interface KernelMessage {
  header: { msg_id: string; msg_type: string; session: string; username: string; date: string; version: string };
  parent_header: { msg_id?: string; [key: string]: unknown };
  metadata: Record<string, unknown>;
  content: Record<string, any>;
  channel: string;
  msg_type?: string;
  msg_id?: string;
  buffers?: Buffer[];
}

export interface ExecutionResult {
  messages: KernelMessage[];
  reply: KernelMessage | undefined;
  /** stdout + stderr joined. */
  stream: string;
}

/** A bare WebSocket kernel client speaking either wire format, for tests. */
export class RawKernelClient {
  private readonly listeners = new Set<(msg: KernelMessage) => void>();
  readonly session = randomUUID();
  readonly received: KernelMessage[] = [];

  private constructor(
    readonly ws: WebSocket,
    readonly format: 'legacy' | 'v1',
  ) {
    ws.on('message', (data: Buffer, binary) => {
      const msg = decode(data, binary, format);
      this.received.push(msg);
      for (const listener of this.listeners) listener(msg);
    });
  }

  static async connect(
    url: string,
    format: 'legacy' | 'v1',
    headers: Record<string, string> = {},
  ): Promise<RawKernelClient> {
    const ws = new WebSocket(url, format === 'v1' ? [V1_PROTOCOL] : [], { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
      );
    });
    return new RawKernelClient(ws, format);
  }

  send(
    channel: string,
    msgType: string,
    content: Record<string, unknown>,
    extra: { version?: string; buffers?: Buffer[] } = {},
  ): string {
    const msgId = randomUUID();
    const header = {
      msg_id: msgId,
      msg_type: msgType,
      session: this.session,
      username: 'test',
      date: new Date().toISOString(),
      version: extra.version ?? '5.3',
    };
    const message = { header, parent_header: {}, metadata: {}, content, channel, msg_id: msgId, msg_type: msgType };
    if (this.format === 'legacy') {
      if (extra.buffers?.length)
        this.ws.send(packLegacyBinary(Buffer.from(JSON.stringify({ ...message, buffers: [] })), extra.buffers));
      else this.ws.send(JSON.stringify(message));
    } else {
      const json = (v: unknown) => Buffer.from(JSON.stringify(v));
      this.ws.send(
        packV1([Buffer.from(channel), json(header), json({}), json({}), json(content), ...(extra.buffers ?? [])]),
      );
    }
    return msgId;
  }

  /** Run code; resolves when its execute_reply and status: idle have both arrived. */
  execute(code: string, options: { silent?: boolean; timeoutMs?: number } = {}): Promise<ExecutionResult> {
    const msgId = this.send('shell', 'execute_request', {
      code,
      silent: options.silent ?? false,
      store_history: !options.silent,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    return this.collect(msgId, options.timeoutMs ?? 60_000);
  }

  collect(msgId: string, timeoutMs: number): Promise<ExecutionResult> {
    return new Promise((resolve, reject) => {
      const messages: KernelMessage[] = [];
      let reply: KernelMessage | undefined;
      let idle = false;
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`execution ${msgId} did not finish in ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (msg: KernelMessage) => {
        if (msg.parent_header?.msg_id !== msgId) return;
        messages.push(msg);
        if (msg.header.msg_type === 'execute_reply') reply = msg;
        if (msg.header.msg_type === 'status' && msg.content.execution_state === 'idle') idle = true;
        if (reply && idle) {
          clearTimeout(timer);
          this.listeners.delete(listener);
          const stream = messages
            .filter((m) => m.header.msg_type === 'stream')
            .map((m) => m.content.text as string)
            .join('');
          resolve({ messages, reply, stream });
        }
      };
      this.listeners.add(listener);
    });
  }

  /** The first message from now on that `matches`. */
  next(matches: (msg: KernelMessage) => boolean): Promise<KernelMessage> {
    return new Promise((resolve) => {
      const listener = (msg: KernelMessage) => {
        if (!matches(msg)) return;
        this.listeners.delete(listener);
        resolve(msg);
      };
      this.listeners.add(listener);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

function decode(data: Buffer, binary: boolean, format: 'legacy' | 'v1'): KernelMessage {
  if (format === 'v1') {
    const parts = unpackV1(data);
    const json = (b: Buffer) => JSON.parse(b.toString('utf8'));
    return {
      channel: parts[0]!.toString(),
      header: json(parts[1]!),
      parent_header: json(parts[2]!),
      metadata: json(parts[3]!),
      content: json(parts[4]!),
      buffers: parts.slice(5),
    };
  }
  if (!binary) return JSON.parse(data.toString('utf8'));
  const count = data.readUInt32BE(0);
  const offsets = Array.from({ length: count }, (_, i) => data.readUInt32BE(4 * (i + 1)));
  const jsonEnd = offsets[1] ?? data.length;
  const msg = JSON.parse(data.subarray(offsets[0], jsonEnd).toString('utf8'));
  msg.buffers = offsets.slice(1).map((start, i) => data.subarray(start, offsets[i + 2] ?? data.length));
  return msg;
}

/** Output text of the messages: stream, results, display data and errors, as a person would read them. */
export function visibleText(messages: KernelMessage[]): string {
  return messages
    .map((m) => {
      const c = m.content;
      switch (m.header.msg_type) {
        case 'stream':
          return c.text;
        case 'execute_result':
        case 'display_data':
          return c.data?.['text/plain'] ?? '';
        case 'error':
          return [c.ename, c.evalue, ...(c.traceback ?? [])].join('\n');
        default:
          return '';
      }
    })
    .join('\n');
}
