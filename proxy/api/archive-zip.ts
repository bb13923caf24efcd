import type { Response } from 'express';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../storage/blob-store.ts';
import type { FileRecord } from '../storage/file-record.ts';
import { extensionOf } from '../../contract/previewable.ts';
import type { Logger } from '../logger.ts';
import { describeError } from '../logger.ts';
import { contentDisposition } from './content-disposition.ts';

/** Already compressed: deflating them again costs time and saves nothing. */
const STORED = new Set(['xlsx', 'docx', 'pptx', 'zip', 'parquet', 'png', 'jpg', 'jpeg', 'gif', 'webp', 'pdf']);

/** yazl refuses backslashes in entry names; on POSIX they are just characters of a file name. */
function zipPath(recordPath: string): string {
  return recordPath.replace(/\\/g, '_');
}

/** Streams a zip of the given (latest) versions: one blob open at a time, constant memory. */
export async function sendArchive(
  res: Response,
  name: string,
  records: readonly FileRecord[],
  blobs: BlobStore,
  logger: Logger,
): Promise<void> {
  // Loaded on the first zip request: most sidecars never serve one, and yazl stays out of the idle heap.
  const { ZipFile } = await import('yazl');
  const zip = new ZipFile();
  // yazl has no abort: a blob being read when the response fails stays piped into a stream that
  // no longer reads, its fd open for good, unless it is destroyed here.
  const reading = new Set<Readable>();
  let cut = false;
  for (const record of records) {
    zip.addReadStreamLazy(
      zipPath(record.path),
      { mtime: new Date(record.modifiedAt), size: record.size, compress: !STORED.has(extensionOf(record.name)) },
      (callback) => {
        blobs.open(record.sha256).then(
          (stream) => {
            if (cut) return void stream.destroy();
            reading.add(stream);
            stream.once('close', () => reading.delete(stream));
            callback(null, stream);
          },
          (error: unknown) => callback(error, undefined as never),
        );
      },
    );
  }
  zip.end();
  res.status(200).set({
    'Content-Type': 'application/zip',
    'Content-Disposition': contentDisposition(name),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'private, no-cache',
  });
  const output = zip.outputStream as NodeJS.ReadableStream & { destroy(error?: Error): void };
  zip.on('error', (error: Error) => {
    logger.error(`[files-api] zip ${name} failed: ${describeError(error)}`);
    output.destroy(error);
  });
  try {
    await pipeline(output, res);
  } catch {
    cut = true;
    for (const stream of reading) stream.destroy();
    if (!res.writableEnded) res.destroy();
  }
}
