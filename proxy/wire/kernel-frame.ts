import { SidecarError } from '../errors.ts';

/**
 * One kernel message as it crossed the WebSocket, decoded just enough to route and rewrite it.
 * Frames keep their original bytes: a frame whose content was not changed is sent on exactly
 * as it arrived (unknown fields, number formatting and buffers untouched).
 */
export interface KernelFrame {
  /** `shell`, `iopub`, `stdin`, `control`; undefined when the frame does not say. */
  readonly channel: string | undefined;
  readonly msgType: string | undefined;
  readonly msgId: string | undefined;
  readonly parentMsgId: string | undefined;
  /** The header as parsed for routing (no extra parse); undefined when it is not a JSON object. */
  header(): Record<string, unknown> | undefined;
  /** The parsed content (cached); undefined when it is not a JSON object. */
  content(): Record<string, unknown> | undefined;
  /**
   * The content's JSON bytes as they came, when the format keeps them apart (v1), so a caller can
   * rule a large output out with a byte search instead of parsing it. Undefined otherwise.
   */
  rawContent(): Buffer | undefined;
  /** The binary buffers the message carries (comm messages may), as they came; none: empty. */
  buffers(): readonly Buffer[];
  /** Mark the content returned by content() as changed, so encode() re-serializes it. */
  markContentChanged(): void;
  /**
   * Put new content JSON bytes, in pieces, in place of the old (formats that keep content apart:
   * v1), so a large message can be changed without parsing all of it or copying it twice.
   */
  replaceRawContent?(pieces: Buffer[]): void;
  encode(): EncodedFrame;
}

export interface EncodedFrame {
  data: Buffer | string;
  binary: boolean;
}

/** A message the sidecar itself sends (the file card, the transport's requests): every part given. */
export interface OutgoingKernelMessage {
  channel: string;
  header: Record<string, unknown>;
  parent_header: Record<string, unknown>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  /** Binary buffers (the transport's uploads); none: a legacy message goes as a text frame. */
  buffers?: Buffer[];
}

export class FrameDecodeError extends SidecarError<'ERR_FRAME_DECODE'> {
  constructor(message: string) {
    super('ERR_FRAME_DECODE', message);
  }
}

export interface WireCodec {
  readonly name: 'legacy' | 'v1';
  /** Throws FrameDecodeError for frames it cannot read; the relay then passes them on untouched. */
  decode(data: Buffer, binary: boolean): KernelFrame;
  /** Serializes a message of the sidecar's own in this format. */
  encodeMessage(message: OutgoingKernelMessage): EncodedFrame;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stringField(obj: unknown, key: string): string | undefined {
  if (!isPlainObject(obj)) return undefined;
  const value = obj[key];
  return typeof value === 'string' ? value : undefined;
}
