import { read } from 'node:fs';
import type { Writable } from 'node:stream';
import { SidecarError } from '../errors.ts';

const CHUNK_BYTES = 128 * 1024;
/** Chunks in flight per download: one being written while the next is read. */
const BUFFERS = 2;

class FileShorterThanExpectedError extends SidecarError<'ERR_FILE_SHORTER_THAN_EXPECTED'> {
  constructor(position: number, end: number) {
    super('ERR_FILE_SHORTER_THAN_EXPECTED', `The file ended at byte ${position}, before byte ${end}.`);
  }
}

function readInto(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buffer, 0, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))),
  );
}

/** Resolves once the chunk has left for the socket, when its buffer may be filled again. */
function writeChunk(target: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    target.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * Sends bytes `start`..`end` (inclusive) of an open file to `target`, then ends it, through two
 * reused 128 KiB buffers: memory stays flat whatever the size. A read stream allocates a new
 * buffer per chunk, and the garbage of a 1 GiB download shows as RSS until the collector runs.
 * The fd stays open: it is the caller's to close. Rejects when the target fails or closes early
 * (a client that went away) or the file is shorter than `end`.
 */
export async function pumpFile(fd: number, target: Writable, start: number, end: number): Promise<void> {
  const buffers = Array.from({ length: BUFFERS }, () => Buffer.allocUnsafe(CHUNK_BYTES));
  const inFlight: Array<Promise<void> | undefined> = new Array(BUFFERS);
  // A client that goes away may leave write callbacks uncalled: its 'close' ends the wait under way.
  // Not a race against one promise for the whole download: each race would leave a reaction on it
  // until the end, thousands of them per GiB, all promoted to the old generation.
  let closed: Error | undefined;
  let abandonWait: ((error: Error) => void) | undefined;
  const onClose = () => {
    closed = new Error('the response closed before the file was sent');
    abandonWait?.(closed);
  };
  target.once('close', onClose);
  const untilClosed = <T>(step: Promise<T>): Promise<T> => {
    if (closed) return Promise.reject(closed);
    const abandoned = new Promise<never>((_, reject) => (abandonWait = reject));
    abandoned.catch(() => {});
    return Promise.race([step, abandoned]);
  };
  try {
    let position = start;
    for (let slot = 0; position <= end; slot = (slot + 1) % BUFFERS) {
      await untilClosed(inFlight[slot] ?? Promise.resolve());
      if (target.destroyed) throw new Error('the response closed before the file was sent');
      const buffer = buffers[slot]!;
      // Not raced: the buffer is ours until the read is done.
      const bytesRead = await readInto(fd, buffer, Math.min(CHUNK_BYTES, end - position + 1), position);
      if (bytesRead === 0) throw new FileShorterThanExpectedError(position, end);
      const write = writeChunk(target, buffer.subarray(0, bytesRead));
      write.catch(() => {}); // seen when awaited; must not go unhandled meanwhile
      inFlight[slot] = write;
      position += bytesRead;
    }
    await untilClosed(Promise.all(inFlight));
    await untilClosed(new Promise<void>((resolve) => target.end(resolve)));
  } finally {
    target.off('close', onClose);
  }
}
