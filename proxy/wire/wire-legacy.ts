import {
  FrameDecodeError,
  isPlainObject,
  stringField,
  type EncodedFrame,
  type KernelFrame,
  type OutgoingKernelMessage,
  type WireCodec,
} from './kernel-frame.ts';

/**
 * Jupyter's original kernel WebSocket format (no subprotocol): a JSON text frame per message,
 * or, when the message carries buffers, a binary frame:
 *   uint32 BE n | n uint32 BE offsets | JSON message | buffer 1 | ... | buffer n-1
 * where the first offset points just past the offset table.
 */
class LegacyFrame implements KernelFrame {
  readonly channel: string | undefined;
  readonly msgType: string | undefined;
  readonly msgId: string | undefined;
  readonly parentMsgId: string | undefined;
  private changed = false;

  constructor(
    private readonly original: EncodedFrame,
    private readonly message: Record<string, unknown>,
    /** Binary frames only: the buffers after the JSON part, kept as they came. */
    private readonly binaryBuffers: Buffer[] | null,
  ) {
    const header = message.header;
    this.channel = stringField(message, 'channel');
    this.msgType = stringField(header, 'msg_type') ?? stringField(message, 'msg_type');
    this.msgId = stringField(header, 'msg_id') ?? stringField(message, 'msg_id');
    this.parentMsgId = stringField(message.parent_header, 'msg_id');
  }

  header(): Record<string, unknown> | undefined {
    const header = this.message.header;
    return isPlainObject(header) ? header : undefined;
  }

  content(): Record<string, unknown> | undefined {
    const content = this.message.content;
    return isPlainObject(content) ? content : undefined;
  }

  buffers(): readonly Buffer[] {
    return this.binaryBuffers ?? [];
  }

  rawContent(): undefined {
    // The whole message was parsed to route it: nothing to save by looking at bytes.
    return undefined;
  }

  markContentChanged(): void {
    this.changed = true;
  }

  encode(): EncodedFrame {
    if (!this.changed) return this.original;
    const json = JSON.stringify(this.message);
    if (!this.binaryBuffers) return { data: json, binary: false };
    return { data: packLegacyBinary(Buffer.from(json, 'utf8'), this.binaryBuffers), binary: true };
  }
}

export function packLegacyBinary(json: Buffer, buffers: Buffer[]): Buffer {
  const parts = [json, ...buffers];
  const table = Buffer.alloc(4 * (parts.length + 1));
  table.writeUInt32BE(parts.length, 0);
  let offset = table.length;
  parts.forEach((part, i) => {
    table.writeUInt32BE(offset, 4 * (i + 1));
    offset += part.length;
  });
  return Buffer.concat([table, ...parts]);
}

function unpackLegacyBinary(data: Buffer): { json: Buffer; buffers: Buffer[] } {
  if (data.length < 8) throw new FrameDecodeError('binary frame shorter than its offset table');
  const count = data.readUInt32BE(0);
  if (count < 1 || 4 * (count + 1) > data.length) throw new FrameDecodeError(`binary frame claims ${count} parts`);
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) offsets.push(data.readUInt32BE(4 * (i + 1)));
  offsets.push(data.length);
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    if (start < 4 * (count + 1) || end < start || end > data.length) {
      throw new FrameDecodeError('binary frame offsets out of range');
    }
    parts.push(data.subarray(start, end));
  }
  return { json: parts[0]!, buffers: parts.slice(1) };
}

function parseMessage(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FrameDecodeError('frame is not JSON');
  }
  if (!isPlainObject(value)) throw new FrameDecodeError('frame is not a JSON object');
  return value;
}

export const legacyCodec: WireCodec = {
  name: 'legacy',
  decode(data, binary) {
    if (!binary) {
      const text = data.toString('utf8');
      return new LegacyFrame({ data: text, binary: false }, parseMessage(text), null);
    }
    const { json, buffers } = unpackLegacyBinary(data);
    return new LegacyFrame({ data, binary: true }, parseMessage(json.toString('utf8')), buffers);
  },
  encodeMessage(message: OutgoingKernelMessage): EncodedFrame {
    // Jupyter Server's legacy JSON also carries msg_id and msg_type at the top level, and
    // clients such as Open WebUI read msg_type from there.
    const { header, buffers = [] } = message;
    const json = JSON.stringify({ ...message, msg_id: header.msg_id, msg_type: header.msg_type, buffers: [] });
    if (buffers.length === 0) return { data: json, binary: false };
    return { data: packLegacyBinary(Buffer.from(json, 'utf8'), buffers), binary: true };
  },
};
