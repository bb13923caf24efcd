import { stat } from 'node:fs/promises';

export type FileSystemHealth = 'ok' | 'stuck';

const DEFAULT_FS_PROBE_TIMEOUT_MS = 2000;

/**
 * Tells whether the file-system thread pool still answers: one tiny `stat` of a sidecar folder,
 * queued on libuv's pool like every file call of the sidecar. When every pool thread is held by a
 * call that does not return (a FIFO opened without O_NONBLOCK, a dead NFS server), the probe
 * does not come back within `timeoutMs` and health reports 'stuck'. One probe at a time: a probe
 * still out past its time keeps reporting 'stuck' instead of queueing more behind it.
 */
export function createFileSystemProbe(
  dir: string,
  timeoutMs = DEFAULT_FS_PROBE_TIMEOUT_MS,
): () => Promise<FileSystemHealth> {
  let inFlight: { since: number; done: Promise<void> } | null = null;
  return async () => {
    if (!inFlight) {
      const since = Date.now();
      const done = stat(dir).then(
        () => {},
        () => {}, // an error is an answer: the pool is moving
      );
      inFlight = { since, done };
      void done.finally(() => {
        if (inFlight?.done === done) inFlight = null;
      });
    }
    const probe = inFlight;
    const left = probe.since + timeoutMs - Date.now();
    if (left <= 0) return 'stuck';
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      probe.done.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), left);
      }),
    ]);
    clearTimeout(timer);
    return answered ? 'ok' : 'stuck';
  };
}
