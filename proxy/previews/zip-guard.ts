import yauzl, { type Entry, type ZipFile } from 'yauzl';
import yazl from 'yazl';
import { MAX_ZIP_ENTRIES } from './preview-limits.ts';
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
function listEntries(zip: ZipFile): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zip.on('entry', (entry: Entry) => {
      entries.push(entry);
      if (entries.length > MAX_ZIP_ENTRIES) {
        zip.close();
        reject(
          new PreviewError(
            'ERR_PREVIEW_UNZIPPED_TOO_LARGE',
            `The file holds more than ${MAX_ZIP_ENTRIES} zip entries: not previewed.`,
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

function inflateEntry(zip: ZipFile, entry: Entry, budget: { left: number; limit: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream)
        return reject(new PreviewError('ERR_PREVIEW_UNREADABLE', `The zip entry ${entry.fileName} cannot be read.`));
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        budget.left -= chunk.byteLength;
        // Our own count as well as yauzl's check against the declared size: a lie is caught either way.
        if (budget.left < 0) {
          stream.destroy();
          reject(tooLarge(budget.limit, 'while inflating'));
          return;
        }
        chunks.push(chunk);
      });
      stream.on('error', (cause: Error) =>
        reject(
          /too many bytes|exceeds/i.test(cause.message)
            ? tooLarge(budget.limit, 'an entry inflates past its declared size')
            : new PreviewError('ERR_PREVIEW_UNREADABLE', `The zip entry ${entry.fileName} is damaged.`),
        ),
      );
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}

/**
 * The zip's directory, checked before anything is inflated: entries counted, and the declared
 * sizes summed against `maxUnzippedBytes`, so a zip bomb is refused without inflating a byte.
 * Then `use` inflates what it needs under a running cap shared by all entries (declared sizes can
 * lie: yauzl fails an entry that inflates past its declared size, and our own count stops at the cap).
 */
async function withCheckedZip<T>(
  bytes: Buffer,
  maxUnzippedBytes: number,
  use: (entries: Entry[], inflate: (entry: Entry) => Promise<Buffer>) => Promise<T>,
): Promise<T> {
  const zip = await openZip(bytes);
  try {
    const entries = await listEntries(zip);
    let declared = 0;
    for (const entry of entries) declared += entry.uncompressedSize;
    if (declared > maxUnzippedBytes) throw tooLarge(maxUnzippedBytes, `its directory declares ${declared} bytes`);
    const budget = { left: maxUnzippedBytes, limit: maxUnzippedBytes };
    return await use(entries, (entry) => inflateEntry(zip, entry, budget));
  } finally {
    zip.close();
  }
}

/**
 * Makes a zip safe to hand to a parser that inflates without limits (mammoth does): every entry
 * is inflated under the cap and the result is packed again uncompressed. The parser then reads
 * only bytes that were counted.
 */
export async function defuseZip(bytes: Buffer, maxUnzippedBytes: number): Promise<Buffer> {
  return withCheckedZip(bytes, maxUnzippedBytes, async (entries, inflate) => {
    const out = new yazl.ZipFile();
    for (const entry of entries) {
      if (entry.fileName.endsWith('/')) continue;
      out.addBuffer(await inflate(entry), entry.fileName, { compress: false });
    }
    out.end();
    const chunks: Buffer[] = [];
    for await (const chunk of out.outputStream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  });
}

/**
 * Reads parts of a zip (xlsx, ods) by name, on demand, under the same checks as `defuseZip`: parts
 * the reader never asks for are never inflated, and every part read (again) counts against the cap.
 * `read` answers undefined for a name the zip does not hold.
 */
export async function withZipParts<T>(
  bytes: Buffer,
  maxUnzippedBytes: number,
  use: (read: (name: string) => Promise<Buffer | undefined>) => Promise<T>,
): Promise<T> {
  return withCheckedZip(bytes, maxUnzippedBytes, async (entries, inflate) => {
    const byName = new Map<string, Entry>();
    for (const entry of entries) if (!byName.has(entry.fileName)) byName.set(entry.fileName, entry);
    return use(async (name) => {
      const entry = byName.get(name);
      return entry && !name.endsWith('/') ? inflate(entry) : undefined;
    });
  });
}
