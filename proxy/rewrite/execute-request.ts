import type { KernelFrame } from '../gateway/kernel-frame.ts';
import { topLevelFields, spliceFields, type FieldSpan } from './json-fields.ts';
import { rewriteJsonStringWindows } from './json-string-windows.ts';
import { rewriteIncoming, rewriteIncomingValue } from './message-rewriter.ts';
import type { PathRewriter } from './path-rewriter.ts';

/** Every spelling of /mnt/data in JSON has these bytes (only `/` may be escaped, as `\\/`). */
const NEEDLE = 'mnt';
const QUOTE = 0x22;

/** Contents at least this large take the field-by-field path; smaller ones are parsed whole as before. */
export const LARGE_CONTENT_BYTES = 1024 * 1024;

/**
 * Rewrites /mnt/data in an execute_request and says whether it is silent. A large one (a data
 * literal pasted into code) is not parsed and re-serialized whole: only `code` and
 * `user_expressions` are looked at, each only when its bytes contain `mnt`. In `code`, only a
 * window around each `mnt` is decoded and rewritten; the rest of its bytes are kept and the
 * frame is packed once from the pieces. Every other field, and the frame when nothing changed,
 * keeps its bytes. A path spelled with \u escapes (`\u002fmnt`) is not mapped on this path; that
 * only matters to the code that spelled it so.
 */
export function rewriteExecuteRequest(frame: KernelFrame, rewriter: PathRewriter): { silent: boolean } {
  const raw = frame.rawContent();
  if (!raw || raw.length < LARGE_CONTENT_BYTES || !frame.replaceRawContent) {
    rewriteIncoming(frame, rewriter);
    return { silent: frame.content()?.silent === true };
  }
  let fields: Map<string, FieldSpan>;
  try {
    fields = topLevelFields(raw);
  } catch {
    return { silent: false }; // not a JSON object: nothing to rewrite, Jupyter judges it
  }
  const silentSpan = fields.get('silent');
  const silent = silentSpan !== undefined && raw.toString('latin1', silentSpan.start, silentSpan.end) === 'true';
  const replacements: Array<{ span: FieldSpan; json: Buffer[] }> = [];
  for (const name of ['code', 'user_expressions']) {
    const span = fields.get(name);
    const bytes = span && raw.subarray(span.start, span.end);
    if (!span || !bytes || bytes.indexOf(NEEDLE) === -1) continue;
    if (name === 'code' && bytes[0] === QUOTE) {
      const pieces = rewriteJsonStringWindows(bytes, NEEDLE, (text) => rewriter.codeIn(text));
      if (pieces) replacements.push({ span, json: pieces });
      continue;
    }
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    const out = rewriteIncomingValue(value, rewriter);
    if (out !== value) replacements.push({ span, json: [Buffer.from(JSON.stringify(out), 'utf8')] });
  }
  if (replacements.length > 0) frame.replaceRawContent(spliceFields(raw, replacements));
  return { silent };
}
