import { isPlainObject, type KernelFrame } from '../wire/kernel-frame.ts';
import { rewriteLargeContent } from './large-content.ts';
import type { PathRewriter } from './path-rewriter.ts';

/** Output MIME types whose text is shown to people and may name the workspace. */
function isTextMime(mime: string): boolean {
  return (
    mime.startsWith('text/') ||
    mime === 'application/json' ||
    mime.endsWith('+json') ||
    mime === 'application/javascript'
  );
}

/** Images, PDFs and anything else that is base64 or binary: never touched. */
function isOpaqueKey(key: string): boolean {
  return /^(image|audio|video|font)\//.test(key) || (key.includes('/') && !isTextMime(key));
}

type Rewrite = (text: string) => string;

/** Rewrites every string inside value (skipping opaque MIME entries); returns the new value, or the same one when nothing changed. */
function rewriteDeep(value: unknown, rewrite: Rewrite): unknown {
  if (typeof value === 'string') return rewrite(value);
  if (Array.isArray(value)) {
    let changed = false;
    const next = value.map((item) => {
      const out = rewriteDeep(item, rewrite);
      if (out !== item) changed = true;
      return out;
    });
    return changed ? next : value;
  }
  if (isPlainObject(value)) {
    let next: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value)) {
      if (isOpaqueKey(key)) continue;
      const out = rewriteDeep(item, rewrite);
      if (out !== item) (next ??= { ...value })[key] = out;
    }
    return next ?? value;
  }
  return value;
}

function rewriteFields(content: Record<string, unknown>, fields: readonly string[], rewrite: Rewrite): boolean {
  let changed = false;
  for (const field of fields) {
    if (!(field in content)) continue;
    const out = rewriteDeep(content[field], rewrite);
    if (out !== content[field]) {
      content[field] = out;
      changed = true;
    }
  }
  return changed;
}

/** Which content fields of each kernel-to-client message may show the workspace path. */
const OUTGOING_FIELDS: Record<string, readonly string[]> = {
  stream: ['text'],
  execute_input: ['code'],
  execute_result: ['data'],
  display_data: ['data'],
  update_display_data: ['data'],
  error: ['ename', 'evalue', 'traceback'],
  execute_reply: ['ename', 'evalue', 'traceback', 'payload', 'user_expressions'],
};

/** Messages from clients whose code runs in the kernel. */
export const INCOMING_FIELDS: Record<string, readonly string[]> = {
  execute_request: ['code', 'user_expressions'],
};

function rewriteFrame(
  frame: KernelFrame,
  table: Record<string, readonly string[]>,
  rewrite: Rewrite,
  /** A cheap look at the raw content bytes: false means nothing there to rewrite. */
  mayContain: (raw: Buffer) => boolean,
): boolean {
  const fields = frame.msgType && Object.hasOwn(table, frame.msgType) ? table[frame.msgType] : undefined;
  if (!fields) return false;
  const raw = frame.rawContent();
  if (raw && !mayContain(raw)) return false;
  const content = frame.content();
  if (!content) return false;
  const changed = rewriteFields(content, fields, rewrite);
  if (changed) frame.markContentChanged();
  return changed;
}

/** Rewrite the workspace back to /mnt/data in a kernel message. Returns whether it changed. */
export function rewriteOutgoing(frame: KernelFrame, rewriter: PathRewriter): boolean {
  // A large output (the echo of a large execute_request, a huge print) is rewritten field by
  // field when one plain needle finds every form of the workspace path in its bytes.
  const fields =
    frame.msgType && Object.hasOwn(OUTGOING_FIELDS, frame.msgType) ? OUTGOING_FIELDS[frame.msgType] : undefined;
  const needle = rewriter.jsonNeedle();
  if (fields && needle !== null) {
    const large = rewriteLargeContent(frame, {
      fields,
      needle,
      rewriteText: (text) => rewriter.textOut(text),
      rewriteValue: (value) => rewriteDeep(value, (text) => rewriter.textOut(text)),
      reach: Math.max(...rewriter.workspacePaths.map((p) => p.length)),
      // A MIME bundle's image is not searched: rewriteDeep would skip it anyway.
      isOpaqueMember: isOpaqueKey,
    });
    if (large) return large.changed;
  }
  return rewriteFrame(
    frame,
    OUTGOING_FIELDS,
    (text) => rewriter.textOut(text),
    (raw) => rewriter.mayAppearInJson(raw),
  );
}

/** Rewrite /mnt/data to the workspace in one value of a client message (the same one, when nothing changed). */
export function rewriteIncomingValue(value: unknown, rewriter: PathRewriter): unknown {
  return rewriteDeep(value, (code) => rewriter.codeIn(code));
}

/** Rewrite /mnt/data to the workspace in a client message. Returns whether it changed. */
export function rewriteIncoming(frame: KernelFrame, rewriter: PathRewriter): boolean {
  // Client JSON may escape `/` as `\/`: no byte search there (and requests are small).
  return rewriteFrame(
    frame,
    INCOMING_FIELDS,
    (code) => rewriter.codeIn(code),
    () => true,
  );
}
