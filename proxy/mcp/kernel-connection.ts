import { randomUUID } from 'node:crypto';
import type { RelaySocket } from '../gateway/relay-socket.ts';
import { FILE_CARD_MARK } from '../announce/file-card-message.ts';

/** An image an execution displayed, as MCP `image` content takes it. */
export interface OutputImage {
  mimeType: 'image/png' | 'image/jpeg';
  /** base64, as the kernel sent it. */
  data: string;
}

/**
 * How an execution ended, as this client saw it: its reply's status, `timeout` (interrupted at the
 * time limit), `kernel-died` (the kernel went away mid-run: Jupyter restarted it or gave it up),
 * `closed` (the connection closed first).
 */
export type ExecutionStatus = 'ok' | 'error' | 'aborted' | 'timeout' | 'kernel-died' | 'closed';

export interface ExecutionOutput {
  msgId: string;
  status: ExecutionStatus;
  /** stdout, stderr, results and tracebacks in the order they came (ANSI colours removed). */
  text: string;
  images: OutputImage[];
  /** The sidecar's file card for this execution came: it recorded (or skipped) files. */
  cardSeen: boolean;
}

interface Running {
  msgId: string;
  /** Sends the execute_request (once the connection's output channel is known to be live). */
  start: () => void;
  chunks: string[];
  images: OutputImage[];
  replyStatus: string | null;
  idle: boolean;
  cardSeen: boolean;
  settle: (status: ExecutionStatus) => void;
}

/**
 * How long after a probe's shell reply, with its iopub status not come, the next probe goes: its
 * status usually follows the reply within a millisecond; an output channel not yet subscribed
 * takes up to ZeroMQ's reconnect interval (100 ms). Jupyter's own nudge waits 500 ms.
 */
const PROBE_AGAIN_MS = 100;

// IPython colours tracebacks; a model reads text.
// eslint-disable-next-line no-control-regex -- ESC is exactly what is matched
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) ? v.join('') : '');

/** What a kernel connection needs of its socket: the client end the sidecar's channels give it in process. */
export type KernelSocket = Pick<RelaySocket, 'on' | 'send' | 'close'>;

/**
 * One kernel connection of the MCP server, through the sidecar's own kernel-channel relay (so the
 * relay rewrites /mnt/data, records files, sends webhooks and live events exactly as for any
 * client; `connectLocal` in gateway/kernel-channels.ts), in the JSON wire format. One execution
 * at a time: the chat's queue sees to that. Whatever the kernel sends is read defensively: a
 * message that is not what it should be is skipped.
 */
export class KernelConnection {
  readonly #socket: KernelSocket;
  readonly #session = randomUUID();
  #running: Running | null = null;
  #closed = false;
  /** The msg_ids of this connection's kernel_info probes while its iopub is not yet known to be live. */
  #probes: Set<string> | null = new Set();
  #probeTimer: NodeJS.Timeout | undefined;
  /** The kernel restarted (or died) while no call was running: the next result says so. */
  #restartedWhileIdle = false;

  constructor(socket: KernelSocket) {
    this.#socket = socket;
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.#onMessage(data.toString());
    });
    socket.on('close', () => {
      this.#closed = true;
      clearTimeout(this.#probeTimer);
      this.#running?.settle('closed');
    });
    socket.on('error', () => {});
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the kernel restarted since the last call (and clears it). */
  takeRestartedWhileIdle(): boolean {
    const was = this.#restartedWhileIdle;
    this.#restartedWhileIdle = false;
    return was;
  }

  /**
   * Runs `code` and resolves when its reply and its idle have both come (the relay sends the file
   * card before them, so the run's files are recorded by then). `onTimeout` is called once when
   * `timeoutMs` passes (it interrupts the kernel); `graceMs` after that the call ends anyway.
   */
  execute(code: string, timeoutMs: number, onTimeout: () => void, graceMs: number): Promise<ExecutionOutput> {
    if (this.#running) return Promise.reject(new Error('an execution is already running on this connection'));
    const msgId = randomUUID();
    return new Promise((resolve) => {
      let timedOut = false;
      let timer = setTimeout(() => {
        if (this.#probes) {
          // Nothing of this call reached the kernel: a connection whose output never came alive is given up.
          this.close();
          return running.settle('closed');
        }
        timedOut = true;
        onTimeout();
        timer = setTimeout(() => running.settle('timeout'), graceMs);
      }, timeoutMs);
      const running: Running = {
        msgId,
        start: () => this.#sendExecute(msgId, code),
        chunks: [],
        images: [],
        replyStatus: null,
        idle: false,
        cardSeen: false,
        settle: (status) => {
          if (this.#running !== running) return;
          clearTimeout(timer);
          clearTimeout(this.#probeTimer);
          this.#running = null;
          resolve({
            msgId,
            status: timedOut && status !== 'kernel-died' && status !== 'closed' ? 'timeout' : status,
            text: running.chunks.join('').replace(ANSI, ''),
            images: running.images,
            cardSeen: running.cardSeen,
          });
        },
      };
      this.#running = running;
      if (this.#closed) return running.settle('closed');
      if (this.#probes) this.#probe();
      else running.start();
    });
  }

  /**
   * A new connection's output (iopub) is not live until Jupyter Server has subscribed it to the
   * kernel, and Jupyter answers the handshake before that. Its own check (the "nudge") is skipped
   * while it believes the kernel busy, which right after a kernel died mid-execution is the dead
   * process's last state. An execution sent before iopub is live loses its output and its idle
   * (its reply, on shell, still comes), and the call would wait for that idle. So the first call
   * waits until a kernel_info probe's status comes back on iopub; a probe answered on shell only is
   * sent again a little later, as Jupyter's nudge does.
   */
  #probe(): void {
    const msgId = randomUUID();
    this.#probes?.add(msgId);
    this.#send(msgId, 'kernel_info_request', {});
  }

  #sendExecute(msgId: string, code: string): void {
    this.#send(msgId, 'execute_request', {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
  }

  #send(msgId: string, msgType: string, content: Record<string, unknown>): void {
    this.#socket.send(
      JSON.stringify({
        channel: 'shell',
        header: {
          msg_id: msgId,
          msg_type: msgType,
          username: 'mcp',
          session: this.#session,
          date: new Date().toISOString(),
          version: '5.3',
        },
        parent_header: {},
        metadata: {},
        content,
        buffers: [],
      }),
      { binary: false },
    );
  }

  /** A message answering a probe: on iopub, the connection is live and the waiting call goes; on shell only, probe again. */
  #probeAnswered(type: unknown): void {
    if (type === 'status') {
      this.#probes = null;
      clearTimeout(this.#probeTimer);
      this.#running?.start();
    } else if (type === 'kernel_info_reply') {
      clearTimeout(this.#probeTimer);
      this.#probeTimer = setTimeout(() => this.#probe(), PROBE_AGAIN_MS);
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#probeTimer);
    this.#socket.close(1000);
  }

  #onMessage(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!isObject(message) || !isObject(message.header) || !isObject(message.content)) return;
    const type = message.header.msg_type;
    const content = message.content;
    if (type === 'status' && (content.execution_state === 'restarting' || content.execution_state === 'dead')) {
      if (this.#running) this.#running.settle('kernel-died');
      else this.#restartedWhileIdle = true;
      return;
    }
    const running = this.#running;
    const parent = isObject(message.parent_header) ? message.parent_header.msg_id : undefined;
    if (typeof parent === 'string' && this.#probes?.has(parent)) return this.#probeAnswered(type);
    if (!running || parent !== running.msgId) return;
    switch (type) {
      case 'stream':
        running.chunks.push(str(content.text));
        break;
      case 'execute_result':
      case 'display_data':
        if (isObject(message.metadata) && message.metadata[FILE_CARD_MARK] === true) {
          running.cardSeen = true;
          break;
        }
        this.#display(running, content.data);
        break;
      case 'error':
        running.chunks.push(
          `${Array.isArray(content.traceback) ? content.traceback.map(str).join('\n') : `${str(content.ename)}: ${str(content.evalue)}`}\n`,
        );
        break;
      case 'execute_reply':
        running.replyStatus = typeof content.status === 'string' ? content.status : 'error';
        break;
      case 'status':
        if (content.execution_state === 'idle') running.idle = true;
        break;
      default:
        return;
    }
    if (running.idle && running.replyStatus !== null) {
      const status = running.replyStatus;
      running.settle(status === 'ok' || status === 'aborted' ? status : 'error');
    }
  }

  #display(running: Running, data: unknown): void {
    if (!isObject(data)) return;
    for (const mimeType of ['image/png', 'image/jpeg'] as const) {
      const image = data[mimeType];
      if (typeof image === 'string') {
        running.images.push({ mimeType, data: image.replace(/\s+/g, '') });
        return;
      }
    }
    const plain = str(data['text/plain']);
    if (plain) running.chunks.push(`${plain}\n`);
  }
}
