import { SidecarError } from '../errors.ts';

/**
 * What the kernel file transport needs from a kernel connection. Both run as the sidecar's own
 * messages on the connection's shell channel, and the relay implements them
 * (`gateway/silent-executions.ts`), making sure no message of theirs reaches any client in either
 * wire format. Whatever comes back was written by the kernel: it is hostile input.
 */
export interface KernelCommandChannel {
  /**
   * Evaluate one Python expression as a silent execution of the sidecar's own (`silent: true`,
   * `store_history: false`, no code, the expression in `user_expressions`) and hand back its
   * `text/plain` value. Used only to install the collector.
   */
  evaluate(expression: string, bounds: EvaluateBounds): Promise<KernelAnswer>;
  /**
   * Send the collector a request (a shell message of its own type, `content.args`, `buffers`)
   * and hand back its reply's `text` and binary buffers. A kernel with no handler for the type
   * never replies to it; so a `kernel_info_request` follows each request, and when its reply
   * comes first the request is refused with ERR_TRANSPORT_NO_HANDLER (install, then ask again).
   * A reply with more than `maxBytes` of buffers (or more than `maxBuffers`) is refused.
   */
  request(args: Record<string, unknown>, buffers: Buffer[], bounds: EvaluateBounds): Promise<KernelAnswer>;
}

export interface EvaluateBounds {
  timeoutMs: number;
  maxBytes: number;
  maxBuffers: number;
}

export interface KernelAnswer {
  text: string;
  buffers: Buffer[];
}

export type TransportErrorCode =
  | 'ERR_TRANSPORT_TIMEOUT'
  | 'ERR_TRANSPORT_CLOSED'
  | 'ERR_TRANSPORT_KERNEL_ERROR'
  | 'ERR_TRANSPORT_PROTOCOL'
  | 'ERR_TRANSPORT_NO_CHANNEL'
  | 'ERR_TRANSPORT_NO_HANDLER';

export class TransportError extends SidecarError<TransportErrorCode> {
  constructor(code: TransportErrorCode, message: string) {
    super(code, message);
  }
}

/**
 * Which connections each kernel has open now. The transport runs its executions on one of the
 * kernel's connections (the most recent), since the sidecar holds no connection of its own.
 */
export class KernelChannels {
  readonly #byKernel = new Map<string, KernelCommandChannel[]>();

  /** Returns the function that removes it again. */
  attach(kernelId: string, channel: KernelCommandChannel): () => void {
    const list = this.#byKernel.get(kernelId) ?? [];
    list.push(channel);
    this.#byKernel.set(kernelId, list);
    return () => {
      const current = this.#byKernel.get(kernelId);
      if (!current) return;
      const at = current.indexOf(channel);
      if (at >= 0) current.splice(at, 1);
      if (current.length === 0) this.#byKernel.delete(kernelId);
    };
  }

  for(kernelId: string): KernelCommandChannel | undefined {
    return this.#byKernel.get(kernelId)?.at(-1);
  }
}
