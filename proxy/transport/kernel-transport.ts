import type { Workspaces } from '../chats/workspaces.ts';
import type { ExecutionObserver } from '../executions/execution-observer.ts';
import type { Logger } from '../logger.ts';
import type { TrackingPolicy } from '../workspace/tracking-policy.ts';
import { KernelChannels } from './kernel-command-channel.ts';
import { KernelFileSync } from './kernel-file-sync.ts';
import { KernelTransportObserver } from './kernel-transport-observer.ts';
import { DEFAULT_TRANSFER_LIMITS, type TransferLimits } from './transfer-limits.ts';

/** `--file-transport kernel`, built once: the connections registry the relays join, and the observer to wrap the recorder in. */
export interface KernelTransport {
  channels: KernelChannels;
  sync: KernelFileSync;
  observe(inner: ExecutionObserver): ExecutionObserver;
}

export function createKernelTransport(options: {
  workspaces: Workspaces;
  policy: TrackingPolicy;
  logger: Logger;
  limits?: Partial<TransferLimits>;
}): KernelTransport {
  const channels = new KernelChannels();
  const sync = new KernelFileSync({
    policy: options.policy,
    limits: { ...DEFAULT_TRANSFER_LIMITS, ...options.limits },
    mirrorFor: (chatId) => options.workspaces.pathFor(chatId),
    kernelPathFor: (chatId) => options.workspaces.kernelPathFor(chatId),
  });
  return {
    channels,
    sync,
    observe: (inner) => new KernelTransportObserver(inner, sync, channels, options.logger),
  };
}
