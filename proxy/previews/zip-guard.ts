import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { TextDecoder } from 'node:util';
import type { PreviewLimits } from './preview-limits.ts';
import { PreviewError } from './preview-errors.ts';

const tooLarge = (limit: number, why: string) =>
  new PreviewError(
    'ERR_PREVIEW_UNZIPPED_TOO_LARGE',
    `The file unpacks to more than ${limit} bytes (${why}): not previewed.`,
  );

function openZip(bytes: Buffer): Promise<ZipFile> {
  return new Promise((resolve, reject) =>
    // validateEntrySizes: yauzl fails an entry that inflates past its declared size.
    yauzl.fromBuffer(bytes, { lazyEntries: true, validateEntrySizes: true, decodeStrings: true }, (error, zip) =>
      error || !zip
        ? reject(
            new PreviewError('ERR_PREVIEW_UNREADABLE', 'The file is not a readable zip (xlsx, ods and docx are zips).'),
          )
        : resolve(zip),
    ),
  );
}

/** The central directory only: names and declared sizes, nothing inflated. */
function listEntries(zip: ZipFile, maxEntries: number): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zip.on('entry', (entry: Entry) => {
      entries.push(entry);
      if (entries.length > maxEntries) {
        zip.close();
        reject(
          new PreviewError(
            'ERR_PREVIEW_UNZIPPED_TOO_LARGE',
            `The file holds more than ${maxEntries} zip entries: not previewed.`,
          ),
        );
        return;
      }
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', () =>
      reject(new PreviewError('ERR_PREVIEW_UNREADABLE', 'The zip directory of the file is damaged.')),
    );
    zip.readEntry();
  });
}

/**
 * A part's text, decoded as it inflates: pieces of at most one inflated chunk each. Strings live
 * on the render worker's heap, under its cap; a Buffer (inflated bytes) would not: Buffers are
 * memory outside the V8 heap, which `resourceLimits` does not count. So no part is ever held
 * whole as bytes: only the chunk being decoded is.
 */
export type PartText = readonly string[];

/** `xml`: UTF-8 unless the part starts with a UTF-16 byte-order mark (XML allows both); `base64`: the bytes as base64. */
export type PartEncoding = 'xml' | 'base64';

/** What a zip may hold: entries counted and bytes inflated, all parts together. */
export type ZipLimits = Pick<PreviewLimits, 'maxUnzippedBytes' | 'maxZipEntries'>;

/** One part of the zip as text, or undefined when the zip holds no such part. */
export type ReadPart = (name: string, encoding?: PartEncoding) => Promise<PartText | undefined>;

/** Turns inflated chunks into text pieces; `end` flushes what a chunk boundary held back. */
interface ChunkDecoder {
  write(chunk: Buffer): string;
  end(): string;
}

function xmlDecoder(): ChunkDecoder {
  let decoder: TextDecoder | undefined;
  return {
    write(chunk) {
      decoder ??= new TextDecoder(
        chunk[0] === 0xff && chunk[1] === 0xfe
          ? 'utf-16le'
          : chunk[0] === 0xfe && chunk[1] === 0xff
            ? 'utf-16be'
            : 'utf-8',
        { fatal: false },
      );
      return decoder.decode(chunk, { stream: true });
    },
    end: () => decoder?.decode() ?? '',
  };
}

/** Base64 in pieces: each piece covers a multiple of 3 bytes, the rest waits for the next chunk. */
function base64Decoder(): ChunkDecoder {
  let carry = Buffer.alloc(0);
  return {
    write(chunk) {
      const bytes = carry.byteLength ? Buffer.concat([carry, chunk]) : chunk;
      const whole = bytes.byteLength - (bytes.byteLength % 3);
      carry = Buffer.from(bytes.subarray(whole));
      return bytes.toString('base64', 0, whole);
    },
    end: () => carry.toString('base64'),
  };
}

function inflateEntry(
  zip: ZipFile,
  entry: Entry,
  budget: { left: number; limit: number },
  encoding: PartEncoding,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream)
        return reject(new PreviewError('ERR_PREVIEW_UNREADABLE', `The zip entry ${entry.fileName} cannot be read.`));
      const decoder = encoding === 'xml' ? xmlDecoder() : base64Decoder();
      const pieces: string[] = [];
      stream.on('data', (chunk: Buffer) => {
        budget.left -= chunk.byteLength;
        // Our own count as well as yauzl's check against the declared size: a lie is caught either way.
        if (budget.left < 0) {
          stream.destroy();
          reject(tooLarge(budget.limit, 'while inflating'));
          return;
        }
        pieces.push(decoder.write(chunk));
      });
      stream.on('error', (cause: Error) =>
        reject(
          /too many bytes|exceeds/i.test(cause.message)
            ? tooLarge(budget.limit, 'an entry inflates past its declared size')
            : new PreviewError('ERR_PREVIEW_UNREADABLE', `The zip entry ${entry.fileName} is damaged.`),
        ),
      );
      stream.on('end', () => {
        pieces.push(decoder.end());
        resolve(pieces);
      });
    });
  });
}

/**
 * Reads parts of a zip (xlsx, ods, docx) by name, on demand, as text (`PartText`). The zip's
 * directory is checked before anything is inflated: entries counted, and the declared sizes
 * summed against `maxUnzippedBytes`, so a zip bomb is refused without inflating a byte. Parts are
 * then inflated under a running cap shared by all of them (declared sizes can lie: yauzl fails an
 * entry that inflates past its declared size, and our own count stops at the cap); parts the
 * reader never asks for are never inflated, and every part read (again) counts against the cap.
 * `read` answers undefined for a name the zip does not hold; `names` are the parts it holds.
 */
export async function withZipParts<T>(
  bytes: Buffer,
  { maxUnzippedBytes, maxZipEntries }: ZipLimits,
  use: (read: ReadPart, names: ReadonlySet<string>) => Promise<T>,
): Promise<T> {
  const zip = await openZip(bytes);
  try {
    const entries = await listEntries(zip, maxZipEntries);
    let declared = 0;
    for (const entry of entries) declared += entry.uncompressedSize;
    if (declared > maxUnzippedBytes) throw tooLarge(maxUnzippedBytes, `its directory declares ${declared} bytes`);
    const budget = { left: maxUnzippedBytes, limit: maxUnzippedBytes };
    const byName = new Map<string, Entry>();
    for (const entry of entries) if (!byName.has(entry.fileName)) byName.set(entry.fileName, entry);
    for (const name of byName.keys()) if (name.endsWith('/')) byName.delete(name);
    const read: ReadPart = async (name, encoding = 'xml') => {
      const entry = byName.get(name);
      return entry ? inflateEntry(zip, entry, budget, encoding) : undefined;
    };
    return await use(read, new Set(byName.keys()));
  } finally {
    zip.close();
  }
}
