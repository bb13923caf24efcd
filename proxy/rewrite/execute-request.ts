import type { KernelFrame } from '../wire/kernel-frame.ts';
import { rewriteLargeContent } from './large-content.ts';
import { INCOMING_FIELDS, rewriteIncoming, rewriteIncomingValue } from './message-rewriter.ts';
import type { PathRewriter } from './path-rewriter.ts';

/**
 * Rewrites /mnt/data in an execute_request and says whether it is silent. A large one takes the
 * field-by-field path (large-content.ts), so a 48 MiB `code` is neither parsed nor copied whole.
 * Every spelling of /mnt/data in JSON holds the bytes `mnt` (only `/` may be escaped, as `\/`);
 * a path spelled with \u escapes is not mapped on that path, which only matters to the code
 * that spelled it so.
 */
export function rewriteExecuteRequest(frame: KernelFrame, rewriter: PathRewriter): { silent: boolean } {
  const large = rewriteLargeContent(frame, {
    fields: INCOMING_FIELDS.execute_request!,
    needle: 'mnt',
    rewriteText: (text) => rewriter.codeIn(text),
    rewriteValue: (value) => rewriteIncomingValue(value, rewriter),
  });
  if (!large) {
    rewriteIncoming(frame, rewriter);
    return { silent: frame.content()?.silent === true };
  }
  const span = large.fields.get('silent');
  return { silent: span !== undefined && large.raw.toString('latin1', span.start, span.end) === 'true' };
}
