import type { Request, Response } from 'express';
import { close } from 'node:fs';
import type { BlobStore } from '../storage/blob-store.ts';
import type { FileRecord } from '../storage/file-record.ts';
import { parseByteRange } from './byte-range.ts';
import { contentDisposition } from './content-disposition.ts';
import { pumpFile } from './file-pump.ts';
import { ApiError } from './http-errors.ts';

/** Types a browser may show in place: they cannot run script (SVG and HTML always download). */
const INLINE_TYPES = /^(image\/(png|jpeg|gif|webp|avif|bmp)|application\/pdf|text\/(plain|csv|markdown))$/;

function inlineAllowed(mimeType: string): boolean {
  return INLINE_TYPES.test(mimeType);
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

/** Sends one recorded version: ETag/304, one Range (206/416), streamed from the blob. */
export async function sendFileContent(
  req: Request,
  res: Response,
  record: FileRecord,
  blobs: BlobStore,
): Promise<void> {
  const etag = `"${record.sha256}"`;
  const inline = req.query.disposition === 'inline' && inlineAllowed(record.mimeType);
  // setHeader, not res.set: Express would add a charset we do not know.
  res.setHeader('Content-Type', record.mimeType);
  res.set({
    'X-Content-Type-Options': 'nosniff',
    // An HTML or SVG file must not run script on the sidecar's origin, even if opened directly.
    'Content-Security-Policy': 'sandbox',
    'Content-Disposition': contentDisposition(record.name, inline ? 'inline' : 'attachment'),
    ETag: etag,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'private, no-cache',
    'Last-Modified': new Date(record.modifiedAt).toUTCString(),
  });
  if (etagMatches(req.headers['if-none-match'], etag)) {
    res.status(304).end();
    return;
  }
  const ifRange = req.headers['if-range'];
  const rangeHeader = ifRange === undefined || ifRange === etag ? req.headers.range : undefined;
  const range = parseByteRange(rangeHeader, record.size);
  if (range.kind === 'unsatisfiable') {
    res.set('Content-Range', `bytes */${record.size}`);
    res.removeHeader('Content-Disposition');
    res.removeHeader('ETag');
    throw new ApiError('ERR_RANGE_NOT_SATISFIABLE', `The range is outside the file's ${record.size} bytes.`);
  }
  const fd = await blobs.openFd(record.sha256);
  try {
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, record.size - 1];
    if (range.kind === 'partial') {
      res.status(206).set('Content-Range', `bytes ${start}-${end}/${record.size}`);
    } else {
      res.status(200);
    }
    res.set('Content-Length', String(end - start + 1));
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pumpFile(fd, res, start, end);
  } catch {
    // The client went away, or the blob failed mid-way after the headers: nothing left to send.
    if (!res.writableEnded) res.destroy();
  } finally {
    close(fd, () => {});
  }
}
