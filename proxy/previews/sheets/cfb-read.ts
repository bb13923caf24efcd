import { PreviewError } from '../preview-errors.ts';

/**
 * Just enough of the Compound File Binary format (OLE2, [MS-CFB]) to take one stream out of a
 * legacy Office file, written for hostile input: every sector number is checked against the file,
 * every chain is followed at most once per sector (a loop is an error, not a hang), and nothing
 * is allocated from a size field before the size is checked against the bytes that exist.
 */

const SIGNATURE = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const END_OF_CHAIN = 0xfffffffe;
const FREE_SECTOR = 0xffffffff;
const MAX_REGULAR_SECTOR = 0xfffffffa;
const HEADER_DIFAT_ENTRIES = 109;
const DIRECTORY_ENTRY_BYTES = 128;
const STREAM_OBJECT = 2;
const ROOT_OBJECT = 5;

const damaged = (why: string) =>
  new PreviewError('ERR_PREVIEW_UNREADABLE', `The workbook cannot be read: its container is damaged (${why}).`);

interface DirectoryEntry {
  name: string;
  type: number;
  start: number;
  size: number;
}

class CompoundFile {
  readonly #bytes: Buffer;
  readonly sectorSize: number;
  readonly sectorCount: number;
  readonly #fat: Uint32Array;

  constructor(bytes: Buffer) {
    if (bytes.byteLength < 512 || !bytes.subarray(0, 8).equals(SIGNATURE)) {
      throw new PreviewError(
        'ERR_PREVIEW_UNREADABLE',
        'The file is not an Excel 97-2003 workbook (no OLE2 container): it is damaged or misnamed.',
      );
    }
    const shift = bytes.readUInt16LE(0x1e);
    if (bytes.readUInt16LE(0x1c) !== 0xfffe || (shift !== 9 && shift !== 12)) throw damaged('bad header');
    this.#bytes = bytes;
    this.sectorSize = 1 << shift;
    // Sector n starts at (n + 1) * sectorSize: the header takes the first sector's room.
    this.sectorCount = Math.max(0, Math.floor(bytes.byteLength / this.sectorSize) - 1);
    this.#fat = this.#readFat(bytes.readUInt32LE(0x2c), bytes.readUInt32LE(0x44), bytes.readUInt32LE(0x48));
  }

  sector(id: number): Buffer {
    if (id >= this.sectorCount) throw damaged(`sector ${id} is past the end of the file`);
    const start = (id + 1) * this.sectorSize;
    return this.#bytes.subarray(start, start + this.sectorSize);
  }

  /** The FAT's sectors are listed in the header (109) and then in a chain of DIFAT sectors. */
  #readFat(fatSectors: number, firstDifat: number, difatSectors: number): Uint32Array {
    if (fatSectors > this.sectorCount) throw damaged('more FAT sectors than the file holds');
    const ids: number[] = [];
    for (let i = 0; i < HEADER_DIFAT_ENTRIES && ids.length < fatSectors; i++) {
      ids.push(this.#bytes.readUInt32LE(0x4c + i * 4));
    }
    const perSector = this.sectorSize / 4 - 1;
    const seen = new Set<number>();
    let next = firstDifat;
    for (let n = 0; n < difatSectors && ids.length < fatSectors; n++) {
      if (next > MAX_REGULAR_SECTOR || seen.has(next)) throw damaged('the DIFAT chain is broken or loops');
      seen.add(next);
      const sector = this.sector(next);
      for (let i = 0; i < perSector && ids.length < fatSectors; i++) ids.push(sector.readUInt32LE(i * 4));
      next = sector.readUInt32LE(perSector * 4);
    }
    if (ids.length < fatSectors) throw damaged('the FAT is incomplete');
    return this.#table(ids);
  }

  /** Sector numbers read from these sectors, in order (the FAT, the mini FAT). */
  #table(ids: readonly number[]): Uint32Array {
    const perSector = this.sectorSize / 4;
    const table = new Uint32Array(ids.length * perSector);
    ids.forEach((id, i) => {
      const sector = this.sector(id);
      for (let j = 0; j < perSector; j++) table[i * perSector + j] = sector.readUInt32LE(j * 4);
    });
    return table;
  }

  /** The sector numbers of a chain, each checked; a chain that loops or runs off the file is damage. */
  chain(start: number, table: Uint32Array = this.#fat, limit = this.sectorCount): number[] {
    const ids: number[] = [];
    const seen = new Uint8Array(Math.min(table.length, limit));
    for (let id = start; id !== END_OF_CHAIN; id = table[id]!) {
      if (id === FREE_SECTOR && ids.length === 0) return ids; // an empty stream
      if (id >= seen.length) throw damaged(`a chain points at sector ${id}`);
      if (seen[id]) throw damaged('a sector chain loops');
      seen[id] = 1;
      ids.push(id);
    }
    return ids;
  }

  /** A chain of regular sectors, cut to `size` (which must fit in it); the whole chain without one. */
  read(start: number, size?: number): Buffer {
    const ids = this.chain(start);
    const length = size ?? ids.length * this.sectorSize;
    if (length > ids.length * this.sectorSize) throw damaged('a stream is longer than its sectors');
    const out = Buffer.alloc(length);
    ids.forEach((id, i) => {
      const at = i * this.sectorSize;
      if (at < length) this.sector(id).copy(out, at, 0, Math.min(this.sectorSize, length - at));
    });
    return out;
  }

  directory(): DirectoryEntry[] {
    const bytes = this.read(this.#bytes.readUInt32LE(0x30));
    const entries: DirectoryEntry[] = [];
    for (let at = 0; at + DIRECTORY_ENTRY_BYTES <= bytes.byteLength; at += DIRECTORY_ENTRY_BYTES) {
      const nameBytes = Math.min(bytes.readUInt16LE(at + 64), 64);
      entries.push({
        name: bytes.toString('utf16le', at, at + Math.max(0, nameBytes - 2)),
        type: bytes[at + 66]!,
        start: bytes.readUInt32LE(at + 116),
        // The high half is zero in any file we could read (sizes past 4 GB are past maxBytes).
        size: bytes.readUInt32LE(at + 124) === 0 ? bytes.readUInt32LE(at + 120) : Number.MAX_SAFE_INTEGER,
      });
    }
    return entries;
  }

  /** Small streams live in the mini stream (the root entry's chain), in 64-byte sectors chained by the mini FAT. */
  readMini(root: DirectoryEntry, start: number, size: number): Buffer {
    const miniShift = this.#bytes.readUInt16LE(0x20);
    if (miniShift !== 6) throw damaged('bad mini sector size');
    const miniSize = 1 << miniShift;
    const whole = this.read(root.start);
    const container = whole.subarray(0, Math.min(root.size, whole.byteLength));
    const miniFat = this.#table(this.chain(this.#bytes.readUInt32LE(0x3c)));
    const ids = this.chain(start, miniFat, Math.floor(container.byteLength / miniSize));
    if (size > ids.length * miniSize) throw damaged('a small stream is longer than its sectors');
    const out = Buffer.alloc(size);
    ids.forEach((id, i) => {
      const at = i * miniSize;
      if (at < size) container.copy(out, at, id * miniSize, id * miniSize + Math.min(miniSize, size - at));
    });
    return out;
  }
}

/**
 * The first stream named one of `names` (case-insensitive, in that order of preference), or
 * null when the container holds none of them.
 */
export function readCfbStream(bytes: Buffer, names: readonly string[]): { name: string; bytes: Buffer } | null {
  const file = new CompoundFile(bytes);
  const entries = file.directory();
  const root = entries[0];
  if (!root || root.type !== ROOT_OBJECT) throw damaged('no root entry');
  for (const wanted of names) {
    const entry = entries.find((e) => e.type === STREAM_OBJECT && e.name.toLowerCase() === wanted.toLowerCase());
    if (!entry) continue;
    if (entry.size > bytes.byteLength) throw damaged('a stream claims more bytes than the file has');
    const cutoff = bytes.readUInt32LE(0x38);
    const data =
      entry.size < cutoff ? file.readMini(root, entry.start, entry.size) : file.read(entry.start, entry.size);
    return { name: entry.name, bytes: data };
  }
  return null;
}
