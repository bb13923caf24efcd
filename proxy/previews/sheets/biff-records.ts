import { PreviewError } from '../preview-errors.ts';

/**
 * BIFF8 records ([MS-XLS] 2.1.4): a 2-byte type, a 2-byte size, the payload. Sizes are 16 bits,
 * so no record can ask for more than 64 KB, and every step moves forward: a walk always ends.
 */

export const RecordType = {
  BOF: 0x0809,
  EOF: 0x000a,
  CONTINUE: 0x003c,
  FILEPASS: 0x002f,
  DATEMODE: 0x0022,
  FORMAT: 0x041e,
  XF: 0x00e0,
  BOUNDSHEET8: 0x0085,
  SST: 0x00fc,
  LABELSST: 0x00fd,
  LABEL: 0x0204,
  NUMBER: 0x0203,
  RK: 0x027e,
  MULRK: 0x00bd,
  BOOLERR: 0x0205,
  FORMULA: 0x0006,
  STRING: 0x0207,
} as const;

export const damagedRecord = (why: string) =>
  new PreviewError('ERR_PREVIEW_UNREADABLE', `The workbook cannot be read: it is damaged (${why}).`);

export interface BiffRecord {
  type: number;
  data: Buffer;
}

/** Records from `start` on, one at a time; `continues()` takes the CONTINUE records that follow. */
export class RecordReader {
  readonly #stream: Buffer;
  #at: number;
  /** Bytes walked by this reader: the caller bounds its total across sheets. */
  walked = 0;

  constructor(stream: Buffer, start: number) {
    if (start < 0 || start > stream.byteLength) throw damagedRecord('a sheet starts outside the stream');
    this.#stream = stream;
    this.#at = start;
  }

  #peekType(): number | null {
    return this.#at + 4 <= this.#stream.byteLength ? this.#stream.readUInt16LE(this.#at) : null;
  }

  /** The next record, or null at the end of the stream. A record cut short by the end is damage. */
  next(): BiffRecord | null {
    const type = this.#peekType();
    if (type === null) return null;
    const size = this.#stream.readUInt16LE(this.#at + 2);
    const start = this.#at + 4;
    if (start + size > this.#stream.byteLength) throw damagedRecord('a record runs past the end of the stream');
    this.#at = start + size;
    this.walked += 4 + size;
    return { type, data: this.#stream.subarray(start, start + size) };
  }

  /** The payloads of the CONTINUE records right after the one just read. */
  continues(): Buffer[] {
    const out: Buffer[] = [];
    while (this.#peekType() === RecordType.CONTINUE) out.push(this.next()!.data);
    return out;
  }
}

/**
 * Reads across a record and its CONTINUE records as one run of bytes, except for string
 * characters: when a string's characters cross into a CONTINUE record, that record starts with a
 * fresh flags byte saying whether the rest are 8- or 16-bit ([MS-XLS] 2.5.294). Reading past the
 * last byte throws: a count field can never make it read what is not there.
 */
export class SegmentCursor {
  readonly #segments: readonly Buffer[];
  #segment = 0;
  #at = 0;

  constructor(segments: readonly Buffer[]) {
    this.#segments = segments;
  }

  get atEnd(): boolean {
    this.#skipExhausted();
    return this.#segment >= this.#segments.length;
  }

  #skipExhausted(): void {
    while (this.#segment < this.#segments.length && this.#at >= this.#segments[this.#segment]!.byteLength) {
      this.#segment++;
      this.#at = 0;
    }
  }

  #current(): Buffer {
    this.#skipExhausted();
    const segment = this.#segments[this.#segment];
    if (!segment) throw damagedRecord('a string runs past the end of its record');
    return segment;
  }

  u8(): number {
    return this.#current()[this.#at++]!;
  }

  u16(): number {
    return this.u8() | (this.u8() << 8);
  }

  u32(): number {
    return (this.u16() | (this.u16() << 16)) >>> 0;
  }

  /** Skips `count` bytes (rich-text runs, phonetic data), across segments. */
  skip(count: number): void {
    let left = count;
    while (left > 0) {
      const segment = this.#current();
      const step = Math.min(left, segment.byteLength - this.#at);
      this.#at += step;
      left -= step;
    }
  }

  /**
   * `count` characters, 16-bit when `wide`; a new segment restarts with its own flags byte.
   * Returns at most `keep` characters, but always moves past all of them.
   */
  characters(count: number, wide: boolean, keep: number): string {
    let text = '';
    let left = count;
    let isWide = wide;
    while (left > 0) {
      let segment = this.#segments[this.#segment];
      if (!segment || this.#at >= segment.byteLength) {
        // The characters go on in the next CONTINUE record, which starts with its own flags byte.
        this.#segment++;
        segment = this.#segments[this.#segment];
        if (!segment || segment.byteLength === 0) throw damagedRecord('a string runs past the end of its record');
        isWide = (segment[0]! & 0x01) === 1;
        this.#at = 1;
      }
      const width = isWide ? 2 : 1;
      const fit = Math.min(left, Math.floor((segment.byteLength - this.#at) / width));
      if (fit === 0) throw damagedRecord('a string is cut in the middle of a character');
      if (text.length < keep) {
        const end = this.#at + Math.min(fit, keep - text.length) * width;
        text += segment.toString(isWide ? 'utf16le' : 'latin1', this.#at, end);
      }
      this.#at += fit * width;
      left -= fit;
    }
    return text;
  }
}

/**
 * A string as BIFF8 stores it: a character count (16-bit, or 8-bit for sheet names), a flags byte,
 * the characters. The shared strings' kind ([MS-XLS] 2.5.293, `rich`) may also carry rich-text
 * runs and phonetic data, whose sizes come before the characters and whose bytes come after:
 * skipped.
 */
export function readUnicodeString(
  cursor: SegmentCursor,
  keep: number,
  { countBytes = 2, rich = false }: { countBytes?: 1 | 2; rich?: boolean } = {},
): string {
  const count = countBytes === 1 ? cursor.u8() : cursor.u16();
  const flags = cursor.u8();
  const runs = rich && flags & 0x08 ? cursor.u16() : 0;
  const phonetic = rich && flags & 0x04 ? cursor.u32() : 0;
  const text = cursor.characters(count, (flags & 0x01) === 1, keep);
  cursor.skip(runs * 4);
  cursor.skip(phonetic);
  return text;
}
