import type { KernelChatStore } from '../chats/kernel-chats.ts';
import { isKnownCode } from '../errors.ts';
import { describeError, type Logger } from '../logger.ts';
import { KernelConnection, type ExecutionOutput, type KernelSocket } from './kernel-connection.ts';
import { SerialQueue } from './serial-queue.ts';
import { answerJson, httpCall } from '../http-call.ts';
import { McpToolError } from './tool-error.ts';

export interface ChatKernelsOptions {
  /** The sidecar itself as this process reaches it (loopback), ending in `/`: its REST routes. */
  selfBase: () => URL;
  /**
   * A kernel's channels through the sidecar's own relay, in this process (`connectLocal` of
   * gateway/kernel-channels.ts); rejects with `{ status }` when refused (404: no such kernel).
   */
  connectChannels: (target: {
    chatId: string;
    kernelId: string;
    headers: Record<string, string>;
  }) => Promise<KernelSocket>;
  /** The gateway's base path (`/` or Jupyter's base_url), kept under the `/chats/{id}` prefix. */
  gatewayBasePath: string;
  /** Sent as `Authorization: token …` on the sidecar's own kernel calls. */
  gatewayToken: string | null;
  kernelChats: KernelChatStore;
  timeoutMs: number;
  queueLength: number;
  idleMs: number | null;
  maxKernels: number;
  logger: Logger;
  /** How long an interrupted call may take to stop before it is given up (and the kernel restarted). */
  interruptGraceMs?: number;
}

/** What one call produced, and what the model should know about the kernel. */
export interface ChatRun extends ExecutionOutput {
  kernelId: string;
  /** Plain sentences: a new kernel, a restart, an interrupt. */
  notes: string[];
}

interface ChatKernel {
  kernelId: string | null;
  connection: KernelConnection | null;
  queue: SerialQueue;
  idleTimer: NodeJS.Timeout | null;
}

const LOST_STATE = 'variables from earlier calls are lost; files in /mnt/data were kept.';

/**
 * One kernel per chat for the MCP server, started through the sidecar's own Jupyter route
 * (`POST /chats/{id}/api/kernels`), exactly as any client's is: the chat's workspace, its owner
 * rules and its kernel→chat pairing all apply. The pairing is marked as the chat's tool kernel in
 * the kernel→chat store, so a call landing on another sidecar finds and reuses it. Calls of one
 * chat run one at a time.
 */
export class ChatKernels {
  readonly #chats = new Map<string, ChatKernel>();
  readonly #options: ChatKernelsOptions;
  #closed = false;

  constructor(options: ChatKernelsOptions) {
    this.#options = options;
  }

  /** Tool kernels this sidecar holds a connection to. */
  get size(): number {
    let n = 0;
    for (const chat of this.#chats.values()) if (chat.connection && !chat.connection.closed) n++;
    return n;
  }

  run(chatId: string, owner: string | null, code: string): Promise<ChatRun> {
    if (this.#closed) return Promise.reject(new McpToolError('ERR_SIDECAR_CLOSING', 'The sidecar is shutting down.'));
    let chat = this.#chats.get(chatId);
    if (!chat) {
      chat = { kernelId: null, connection: null, queue: new SerialQueue(this.#options.queueLength), idleTimer: null };
      this.#chats.set(chatId, chat);
    }
    const entry = chat;
    if (entry.idleTimer) clearTimeout(entry.idleTimer);
    entry.idleTimer = null;
    return entry.queue.run(() => this.#runNow(chatId, owner, entry, code)).finally(() => this.#armIdle(chatId, entry));
  }

  async #runNow(chatId: string, owner: string | null, chat: ChatKernel, code: string): Promise<ChatRun> {
    const notes: string[] = [];
    const connection = await this.#connect(chatId, owner, chat, notes);
    const kernelId = chat.kernelId!;
    const { timeoutMs } = this.#options;
    const output = await connection.execute(
      code,
      timeoutMs,
      () => void this.#kernelAction(chatId, kernelId, 'interrupt'),
      this.#options.interruptGraceMs ?? 10_000,
    );
    if (output.status === 'timeout') {
      notes.push(
        `The call ran past the ${Math.round(timeoutMs / 1000)} s limit and was interrupted; variables set before the interrupt are kept.`,
      );
    } else if (output.status === 'kernel-died') {
      notes.push(
        `The kernel died during this call (out of memory, a crash, or killed) and was restarted: ${LOST_STATE}`,
      );
      chat.connection?.close();
      chat.connection = null;
    } else if (output.status === 'closed') {
      notes.push('The connection to the kernel closed during this call; the next call reconnects.');
      chat.connection = null;
    }
    return { ...output, kernelId, notes };
  }

  /** The chat's open connection, else its known kernel's, else a new kernel's. */
  async #connect(chatId: string, owner: string | null, chat: ChatKernel, notes: string[]): Promise<KernelConnection> {
    if (chat.connection?.takeRestartedWhileIdle()) {
      notes.push(`The kernel restarted since the last call: ${LOST_STATE}`);
      // Its output channel was subscribed to the process that died (and a remote kernel may come
      // back on other ports): a new connection is checked before its first execution.
      chat.connection.close();
    }
    if (chat.connection && !chat.connection.closed) return chat.connection;
    chat.connection = null;
    const known = chat.kernelId ?? (await this.#options.kernelChats.toolKernelOf(chatId));
    if (known) {
      try {
        chat.connection = await this.#open(chatId, known);
        chat.kernelId = known;
        return chat.connection;
      } catch (error) {
        if ((error as { status?: number }).status !== 404) throw this.#unreachable(error);
        // The gateway no longer has it (shut down, gateway restarted): a new kernel, and say so.
        await this.#options.kernelChats.delete(known).catch(() => {});
        notes.push(`The chat's previous kernel was gone, so a new one was started: ${LOST_STATE}`);
      }
    }
    if (this.size >= this.#options.maxKernels) {
      throw new McpToolError(
        'ERR_MCP_KERNEL_LIMIT',
        `This sidecar already runs ${this.#options.maxKernels} tool kernels (--mcp-max-kernels); try again when one goes idle.`,
      );
    }
    const kernelId = await this.#create(chatId, owner);
    chat.kernelId = kernelId;
    chat.connection = await this.#open(chatId, kernelId).catch((error: unknown) => {
      throw this.#unreachable(error);
    });
    return chat.connection;
  }

  #headers(owner: string | null): Record<string, string> {
    const headers: Record<string, string> = {};
    if (this.#options.gatewayToken) headers.authorization = `token ${this.#options.gatewayToken}`;
    if (owner) headers['x-user-id'] = owner;
    return headers;
  }

  #kernelsUrl(chatId: string, rest = ''): URL {
    return new URL(
      `chats/${encodeURIComponent(chatId)}${this.#options.gatewayBasePath}api/kernels${rest}`,
      this.#options.selfBase(),
    );
  }

  async #create(chatId: string, owner: string | null): Promise<string> {
    const answer = await httpCall(this.#kernelsUrl(chatId), {
      method: 'POST',
      headers: { ...this.#headers(owner), 'content-type': 'application/json' },
      body: '{}',
    }).catch((error: unknown) => {
      throw this.#unreachable(error);
    });
    const body = answerJson(answer) as {
      id?: unknown;
      error?: { code?: unknown; message?: unknown };
    } | null;
    if (answer.status >= 200 && answer.status < 300 && typeof body?.id === 'string') {
      const kernelId = body.id;
      const now = new Date().toISOString();
      await this.#options.kernelChats.set(kernelId, { chatId, owner, createdAt: now, tool: true });
      return kernelId;
    }
    const given = typeof body?.error?.code === 'string' ? body.error.code : undefined;
    const code = isKnownCode(given) ? given : 'ERR_GATEWAY_FAILED';
    const message =
      code === 'ERR_CHAT_OTHER_OWNER'
        ? 'This chat belongs to another user.'
        : `The gateway did not start a kernel (HTTP ${answer.status}).`;
    throw new McpToolError(code, message);
  }

  async #open(chatId: string, kernelId: string): Promise<KernelConnection> {
    return new KernelConnection(
      await this.#options.connectChannels({ chatId, kernelId, headers: this.#headers(null) }),
    );
  }

  #unreachable(error: unknown): McpToolError {
    this.#options.logger.warn(`[mcp] kernel: ${describeError(error)}`);
    return new McpToolError('ERR_GATEWAY_UNREACHABLE', 'The Jupyter gateway cannot be reached right now; try again.');
  }

  async #kernelAction(chatId: string, kernelId: string, action: 'interrupt'): Promise<void> {
    await httpCall(this.#kernelsUrl(chatId, `/${encodeURIComponent(kernelId)}/${action}`), {
      method: 'POST',
      headers: this.#headers(null),
      maxBodyBytes: 0,
    }).catch((error: unknown) => this.#options.logger.warn(`[mcp] ${action} ${kernelId}: ${describeError(error)}`));
  }

  #armIdle(chatId: string, chat: ChatKernel): void {
    const { idleMs } = this.#options;
    if (idleMs === null || this.#closed || !chat.queue.idle) return;
    chat.idleTimer = setTimeout(() => void this.#shutDown(chatId, chat), idleMs);
    chat.idleTimer.unref();
  }

  /** An idle chat's kernel goes; its files and records stay. */
  async #shutDown(chatId: string, chat: ChatKernel): Promise<void> {
    if (!chat.queue.idle || this.#chats.get(chatId) !== chat) return;
    this.#chats.delete(chatId);
    chat.connection?.close();
    if (!chat.kernelId) return;
    await httpCall(this.#kernelsUrl(chatId, `/${encodeURIComponent(chat.kernelId)}`), {
      method: 'DELETE',
      headers: this.#headers(null),
      maxBodyBytes: 0,
    }).catch((error: unknown) => this.#options.logger.warn(`[mcp] idle shutdown: ${describeError(error)}`));
  }

  /** Closes the connections; kernels stay with the gateway (another sidecar, or this one restarted, reuses them). */
  close(): void {
    this.#closed = true;
    for (const chat of this.#chats.values()) {
      if (chat.idleTimer) clearTimeout(chat.idleTimer);
      chat.connection?.close();
    }
    this.#chats.clear();
  }
}
