import type { SkippedFile } from '../../contract/files-api.ts';
import { errorCode } from '../errors.ts';
import type {
  ExecutionEndReason,
  ExecutionFiles,
  ExecutionObserver,
  ExecutionRef,
} from '../executions/execution-observer.ts';
import { describeError, type Logger } from '../logger.ts';
import { TransportError, type KernelChannels } from './kernel-command-channel.ts';
import { refusal, type KernelFileSync } from './kernel-file-sync.ts';

/**
 * `--file-transport kernel`: the workspace scan is the same, but before it the kernel's files are
 * brought over the kernel's own channel into the chat's folder on the sidecar's side (and uploads
 * taken the other way before each execution). The recorder (`inner`) then records that folder as
 * it records a shared one: versions, blobs, the card, webhooks, events, quotas. What the transfer
 * refused is added to the execution's skipped files, so the card names it.
 */
export class KernelTransportObserver implements ExecutionObserver {
  /** Transfers of one chat run one at a time, in order. */
  readonly #chains = new Map<string, Promise<unknown>>();

  readonly #inner: ExecutionObserver;
  readonly #sync: KernelFileSync;
  readonly #channels: KernelChannels;
  readonly #logger: Logger;

  constructor(inner: ExecutionObserver, sync: KernelFileSync, channels: KernelChannels, logger: Logger) {
    this.#inner = inner;
    this.#sync = sync;
    this.#channels = channels;
    this.#logger = logger;
  }

  #serial<T>(chatId: string, task: () => Promise<T>): Promise<T> {
    const before = this.#chains.get(chatId) ?? Promise.resolve();
    const run = before.then(task, task);
    const tail = run.catch(() => {});
    this.#chains.set(chatId, tail);
    void tail.then(() => {
      if (this.#chains.get(chatId) === tail) this.#chains.delete(chatId);
    });
    return run;
  }

  async executionStarted(chatId: string, execution: ExecutionRef): Promise<void> {
    const channel = this.#channels.for(execution.kernelId);
    if (channel) {
      try {
        const refused = await this.#serial(chatId, () => this.#sync.push(chatId, execution.kernelId, channel));
        for (const r of refused)
          this.#logger.warn(`[transport] chat ${chatId}: upload ${r.path} not sent: ${r.detail}`);
      } catch (error) {
        this.#logger.warn(`[transport] before execution ${execution.msgId} in chat ${chatId}: ${describeError(error)}`);
      }
    }
    return this.#inner.executionStarted(chatId, execution);
  }

  async executionEnded(
    chatId: string,
    execution: ExecutionRef,
    reason: ExecutionEndReason,
  ): Promise<ExecutionFiles | undefined> {
    const refused: SkippedFile[] = [];
    if (reason === 'kernel-restarted' || reason === 'kernel-dead') this.#sync.forgetKernel(execution.kernelId);
    const channel = reason === 'completed' || reason === 'timeout' ? this.#channels.for(execution.kernelId) : undefined;
    if (channel) {
      try {
        refused.push(...(await this.#serial(chatId, () => this.#sync.pull(chatId, channel))));
      } catch (error) {
        this.#logger.warn(`[transport] after execution ${execution.msgId} in chat ${chatId}: ${describeError(error)}`);
        refused.push(refusal('', 0, failureDetail(error)));
      }
    }
    const files = (await this.#inner.executionEnded(chatId, execution, reason)) ?? undefined;
    if (refused.length === 0) return files;
    return { ...(files ?? { recorded: [] }), skipped: [...(files?.skipped ?? []), ...refused] };
  }
}

/** What the card says when the whole transfer failed: its files come with a later execution. */
function failureDetail(error: unknown): string {
  const later = 'the files of this run come with a later one';
  if (!(error instanceof TransportError))
    return `the kernel file transfer failed (${errorCode(error) ?? 'error'}); ${later}`;
  if (error.code === 'ERR_TRANSPORT_TIMEOUT') return `the kernel did not answer the file transfer in time; ${later}`;
  if (error.code === 'ERR_TRANSPORT_PROTOCOL') return `the kernel's answer was refused: ${error.message}`;
  return `the kernel file transfer failed: ${error.message}`;
}
