import { SidecarError } from '../errors.ts';

/**
 * The one thing the kernel file transport needs from a kernel connection: evaluate one Python
 * expression as a silent execution of the sidecar's own (`silent: true`, `store_history: false`,
 * no code, the expression in `user_expressions`) and hand back its `text/plain` value, with the
 * binary buffers of the comm messages the execution sent meanwhile (file bytes travel as raw
 * buffers, not as text: Jupyter Server relays them as binary WebSocket frames in both wire
 * formats). The relay implements it (`gateway/silent-executions.ts`) and makes sure no message of
 * such an execution reaches any client. Whatever comes back was written by the kernel: it is
 * hostile input.
 */
export interface KernelCommandChannel {
  /**
   * At most `maxBytes` of buffers (and `maxBuffers` of them) are held; past that the answer is
   * refused. Rejects with a TransportError (timeout, an error in the kernel, a reply of the wrong
   * shape, too many bytes, a closed socket).
   */
  evaluate(expression: string, bounds: EvaluateBounds): Promise<KernelAnswer>;
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
  | 'ERR_TRANSPORT_NO_CHANNEL';

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
