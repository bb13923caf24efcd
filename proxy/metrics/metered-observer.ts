/** Executions counted and timed at the observer seam: the relay tells it when each starts and ends. */
import type { ExecutionObserver } from '../executions/execution-observer.ts';
import type { SidecarMetrics } from './sidecar-metrics.ts';

export function meteredObserver(observer: ExecutionObserver, metrics: SidecarMetrics): ExecutionObserver {
  // Start times by kernel and message id; an entry lives from start to end (both are always called).
  const started = new Map<string, number>();
  const key = (kernelId: string, msgId: string) => `${kernelId}\u0000${msgId}`;
  return {
    recordsAtFirstHalf: observer.recordsAtFirstHalf,
    executionStarted(chatId, execution) {
      started.set(key(execution.kernelId, execution.msgId), performance.now());
      metrics.executionsRunning.inc();
      return observer.executionStarted(chatId, execution);
    },
    async executionEnded(chatId, execution, reason) {
      try {
        return await observer.executionEnded(chatId, execution, reason);
      } finally {
        const k = key(execution.kernelId, execution.msgId);
        const since = started.get(k);
        started.delete(k);
        metrics.executions.inc({ reason });
        if (since !== undefined) {
          metrics.executionSeconds.observe({ reason }, (performance.now() - since) / 1000);
          metrics.executionsRunning.dec();
        }
      }
    },
  };
}
