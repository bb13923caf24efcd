import type { KernelFrame } from '../gateway/kernel-frame.ts';
import { topLevelFields, spliceFields, type FieldSpan } from './json-fields.ts';
import { rewriteIncoming, rewriteIncomingValue } from './message-rewriter.ts';
import type { PathRewriter } from './path-rewriter.ts';

/** Contents at least this large take the field-by-field path; smaller ones are parsed whole as before. */
export const LARGE_CONTENT_BYTES = 1024 * 1024;

/**
 * Rewrites /mnt/data in an execute_request and says whether it is silent. A large one (a data
 * literal pasted into code) is not parsed and re-serialized whole: only `code` and
 * `user_expressions` are looked at, each only when its bytes contain `mnt`, and the new value is
 * spliced into the original bytes. Every other field, and the frame when nothing changed, keeps
 * its bytes. A path spelled with \u escapes (`\u002fmnt`) is not mapped on this path; that only
 * matters to the code that spelled it so.
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
  const replacements: Array<{ span: FieldSpan; json: Buffer }> = [];
  for (const name of ['code', 'user_expressions']) {
    const span = fields.get(name);
    if (!span || raw.subarray(span.start, span.end).indexOf('mnt') === -1) continue;
    const value: unknown = JSON.parse(raw.toString('utf8', span.start, span.end));
    const out = rewriteIncomingValue(value, rewriter);
    if (out !== value) replacements.push({ span, json: Buffer.from(JSON.stringify(out), 'utf8') });
  }
  if (replacements.length > 0) frame.replaceRawContent(spliceFields(raw, replacements));
  return { silent };
}
