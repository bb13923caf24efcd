/**
 * A cell run the way JupyterLab's notebook runs it, through @jupyterlab/services' kernel future
 * API: sent at once (not waiting for the cells before), with `stop_on_error`, and what comes back
 * for it collected, the file card's /mnt/data paths included.
 */
import type { Kernel, KernelMessage } from '@jupyterlab/services';

export interface Cell {
  msgId: string;
  /** The /mnt/data paths its file card lists (none: no card). */
  card: string[];
  stream: string;
  reply: KernelMessage.IExecuteReplyMsg;
}

export function runCell(
  kernel: Kernel.IKernelConnection,
  code: string,
  onStream?: (text: string) => void,
): Promise<Cell> {
  // As JupyterLab's notebook runs a cell: a failed cell aborts the ones queued behind it.
  const future = kernel.requestExecute({ code, stop_on_error: true });
  const cell = { msgId: future.msg.header.msg_id, card: [] as string[], stream: '' };
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') {
      const text = (msg.content as { text: string }).text;
      cell.stream += text;
      onStream?.(text);
    }
    const data = (msg.content as { data?: Record<string, unknown> }).data;
    const plain = msg.header.msg_type === 'display_data' ? data?.['text/plain'] : undefined;
    if (typeof plain === 'string' && /^Files? saved/.test(plain)) {
      cell.card.push(...[...plain.matchAll(/^- (\/mnt\/data\/\S+)/gm)].map((m) => m[1]!));
    }
  };
  return future.done.then((reply) => ({ ...cell, reply: reply as KernelMessage.IExecuteReplyMsg }));
}

/** Writes its file first thing, so a scan late by a moment would see it in the wrong execution. */
export const writingFirst = (name: string) =>
  `open('/mnt/data/${name}', 'w').write('${name}')\nimport time\ntime.sleep(0.05)\nprint('${name}')`;
