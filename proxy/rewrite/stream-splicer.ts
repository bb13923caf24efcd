import type { KernelFrame } from '../wire/kernel-frame.ts';
import { lastMemberString } from './json-fields.ts';
import { rewriteOutgoing } from './message-rewriter.ts';
import type { PathRewriter } from './path-rewriter.ts';

interface Held {
  frame: KernelFrame;
  content: Record<string, unknown>;
  original: string;
  key: string;
  head: string;
  tail: string;
  timer: NodeJS.Timeout;
}

/** How long a stream message that may end mid-path is held for its continuation. */
export const STREAM_HOLD_MS = 500;

/**
 * Rewrites outgoing messages in order, joining stream text across messages: ipykernel flushes
 * stdout every 0.2 s, so a workspace path can arrive as `/work/ws/ch` + `atA/report.xlsx`.
 * When a stream message ends with what may be the start of a workspace path, that message is
 * held until the next message of the same stream (its tail then moves over to it), any other
 * message, the end of the execution, or `holdMs`, whichever comes first. Message count and ids
 * are kept; only the split point moves.
 *
 * Most stream messages are neither: when nothing is held and the raw content shows no workspace
 * path and a text whose end cannot start one, the message goes on as it came, unparsed.
 */
export class StreamSplicer {
  private held: Held | null = null;

  constructor(
    private readonly rewriter: PathRewriter,
    private readonly emit: (frame: KernelFrame) => void,
    private readonly holdMs: number,
  ) {}

  push(frame: KernelFrame): void {
    if (!this.held && frame.msgType === 'stream' && this.passesUntouched(frame)) {
      this.emit(frame);
      return;
    }
    const content = frame.msgType === 'stream' ? frame.content() : undefined;
    const text = typeof content?.text === 'string' ? content.text : undefined;
    if (!content || text === undefined) {
      this.flush();
      rewriteOutgoing(frame, this.rewriter);
      this.emit(frame);
      return;
    }
    const key = `${frame.parentMsgId ?? ''}\u0000${String(content.name)}`;
    let full = text;
    if (this.held) {
      if (this.held.key === key) {
        const held = this.release();
        full = held.tail + text;
        this.send(held.frame, held.content, held.original, this.rewriter.textOut(held.head));
      } else {
        this.flush();
      }
    }
    const tail = this.rewriter.pendingTailLength(full);
    if (tail === 0) {
      this.send(frame, content, text, this.rewriter.textOut(full));
      return;
    }
    this.held = {
      frame,
      content,
      original: text,
      key,
      head: full.slice(0, full.length - tail),
      tail: full.slice(full.length - tail),
      timer: setTimeout(() => this.flush(), this.holdMs),
    };
  }

  /** Decided from the content's bytes, when the format keeps them (v1): nothing to rewrite or hold. */
  private passesUntouched(frame: KernelFrame): boolean {
    const raw = frame.rawContent();
    if (!raw || this.rewriter.mayAppearInJson(raw)) return false;
    const text = lastMemberString(raw, 'text');
    return text !== undefined && !this.rewriter.mayEndInPathStartJson(raw.subarray(text.start, text.end));
  }

  /** Send what is held, as it is (its tail did not turn out to be a workspace path). */
  flush(): void {
    if (!this.held) return;
    const held = this.release();
    this.send(held.frame, held.content, held.original, this.rewriter.textOut(held.head + held.tail));
  }

  /** Drop what is held without sending it (the client is gone). */
  discard(): void {
    if (this.held) this.release();
  }

  private release(): Held {
    const held = this.held!;
    clearTimeout(held.timer);
    this.held = null;
    return held;
  }

  private send(frame: KernelFrame, content: Record<string, unknown>, original: string, text: string): void {
    if (text !== original) {
      content.text = text;
      frame.markContentChanged();
    }
    this.emit(frame);
  }
}
