import {
  FrameDecodeError,
  isPlainObject,
  stringField,
  type EncodedFrame,
  type KernelFrame,
  type OutgoingKernelMessage,
  type WireCodec,
} from './kernel-frame.ts';

export const V1_PROTOCOL = 'v1.kernel.websocket.jupyter.org';

/**
 * The `v1.kernel.websocket.jupyter.org` format: every frame binary,
 *   uint64 LE n | n uint64 LE offsets | channel | header | parent_header | metadata | content | buffers...
 * where the last offset is the end of the frame. The server passes the parts to ZeroMQ without
 * parsing them, so a changed content only needs the offsets re-packed.
 */
const HEADER = 1;
const PARENT = 2;
const CONTENT = 4;
const FIRST_BUFFER = 5;

class V1Frame implements KernelFrame {
  readonly channel: string | undefined;
  readonly msgType: string | undefined;
  readonly msgId: string | undefined;
  readonly parentMsgId: string | undefined;
  private readonly parsedHeader: Record<string, unknown> | undefined;
  private parsedContent: Record<string, unknown> | undefined | null = null;
  private changed = false;
  /** New content bytes in pieces (replaceRawContent): packed with the other parts once. */
  private contentPieces: Buffer[] | null = null;

  constructor(
    private readonly original: Buffer,
    private readonly parts: Buffer[],
  ) {
    this.channel = parts[0]!.toString('utf8');
    const header = parseJson(parts[HEADER]!);
    const parent = parseJson(parts[PARENT]!);
    this.msgType = stringField(header, 'msg_type');
    this.msgId = stringField(header, 'msg_id');
    this.parentMsgId = stringField(parent, 'msg_id');
    this.parsedHeader = isPlainObject(header) ? header : undefined;
  }

  header(): Record<string, unknown> | undefined {
    return this.parsedHeader;
  }

  content(): Record<string, unknown> | undefined {
    if (this.parsedContent === null) {
      let value: unknown;
      try {
        value = parseJson(this.contentPieces ? Buffer.concat(this.contentPieces) : this.parts[CONTENT]!);
      } catch {
        value = undefined; // as documented: not a JSON object
      }
      this.parsedContent = isPlainObject(value) ? value : undefined;
    }
    return this.parsedContent;
  }

  rawContent(): Buffer {
    return this.contentPieces ? Buffer.concat(this.contentPieces) : this.parts[CONTENT]!;
  }

  buffers(): readonly Buffer[] {
    return this.parts.slice(FIRST_BUFFER);
  }

  markContentChanged(): void {
    this.changed = true;
  }

  replaceRawContent(pieces: Buffer[]): void {
    this.contentPieces = pieces;
    this.parsedContent = null;
    this.changed = false;
  }

  encode(): EncodedFrame {
    if (this.changed && this.parsedContent) {
      const parts = this.parts.slice();
      parts[CONTENT] = Buffer.from(JSON.stringify(this.parsedContent), 'utf8');
      return { data: packV1(parts), binary: true };
    }
    if (this.contentPieces) {
      const parts: Array<Buffer | Buffer[]> = this.parts.slice();
      parts[CONTENT] = this.contentPieces;
      return { data: packV1(parts), binary: true };
    }
    return { data: this.original, binary: true };
  }
}

function parseJson(part: Buffer): unknown {
  try {
    return JSON.parse(part.toString('utf8'));
  } catch {
    throw new FrameDecodeError('v1 frame part is not JSON');
  }
}

/** Packs the parts; a part may come in pieces (a spliced content), concatenated here once. */
export function packV1(parts: ReadonlyArray<Buffer | readonly Buffer[]>): Buffer {
  const count = parts.length + 1;
  const table = Buffer.alloc(8 * (count + 1));
  table.writeBigUInt64LE(BigInt(count), 0);
  let offset = table.length;
  table.writeBigUInt64LE(BigInt(offset), 8);
  const flat: Buffer[] = [table];
  parts.forEach((part, i) => {
    const pieces = Buffer.isBuffer(part) ? [part] : part;
    for (const piece of pieces) {
      offset += piece.length;
      flat.push(piece);
    }
    table.writeBigUInt64LE(BigInt(offset), 8 * (i + 2));
  });
  return Buffer.concat(flat, offset);
}

export function unpackV1(data: Buffer): Buffer[] {
  if (data.length < 8) throw new FrameDecodeError('v1 frame shorter than its offset count');
  const count = Number(data.readBigUInt64LE(0));
  // channel, header, parent_header, metadata, content and the end offset at least.
  if (count < FIRST_BUFFER + 1 || 8 * (count + 1) > data.length) {
    throw new FrameDecodeError(`v1 frame claims ${count} offsets`);
  }
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) offsets.push(Number(data.readBigUInt64LE(8 * (i + 1))));
  const parts: Buffer[] = [];
  for (let i = 0; i < count - 1; i++) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    if (start < 8 * (count + 1) || end < start || end > data.length) {
      throw new FrameDecodeError('v1 frame offsets out of range');
    }
    parts.push(data.subarray(start, end));
  }
  return parts;
}

export const v1Codec: WireCodec = {
  name: 'v1',
  decode(data, binary) {
    if (!binary) throw new FrameDecodeError('v1 frames are binary');
    return new V1Frame(data, unpackV1(data));
  },
  encodeMessage(message: OutgoingKernelMessage): EncodedFrame {
    const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
    return {
      data: packV1([
        Buffer.from(message.channel, 'utf8'),
        json(message.header),
        json(message.parent_header),
        json(message.metadata),
        json(message.content),
        ...(message.buffers ?? []),
      ]),
      binary: true,
    };
  },
};
