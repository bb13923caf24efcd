/**
 * Child process for shared-blobs.test.ts: puts blobs into a blob store folder that another
 * process writes at the same time. Arguments: dataDir, tag. Prints the sha256 of each put.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobStore } from '../../../proxy/storage/blob-store.ts';

const [dataDir, tag] = process.argv.slice(2) as [string, string];
const blobs = new BlobStore(dataDir);
/** Shared contents (both processes write them) and contents of this process's own, 64 KiB to 1 MiB each. */
const contents = Array.from({ length: 40 }, (_, i) => {
  const seed = i % 2 === 0 ? `shared-${i}` : `${tag}-${i}`;
  const block = createHash('sha256').update(seed).digest();
  return Buffer.concat(Array.from({ length: 2048 * (1 + (i % 16)) }, () => block));
});
const results = await Promise.all(
  contents.map((bytes) => blobs.putStream(Readable.from([bytes.subarray(0, 40_000), bytes.subarray(40_000)]))),
);
process.stdout.write(
  JSON.stringify(
    results.map((r, i) => ({ sha256: r.sha256, expected: createHash('sha256').update(contents[i]!).digest('hex') })),
  ),
);
