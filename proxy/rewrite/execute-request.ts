import type { KernelFrame } from '../wire/kernel-frame.ts';
import { rewriteLargeContent } from './large-content.ts';
import { INCOMING_FIELDS, rewriteIncoming, rewriteIncomingValue } from './message-rewriter.ts';
import type { PathRewriter } from './path-rewriter.ts';

/**
 * Rewrites /mnt/data in an execute_request and says whether it is silent and whether an error
 * in it stops the requests queued behind it (`stop_on_error`, true unless false). A large one takes the
 * field-by-field path (large-content.ts), so a 48 MiB `code` is neither parsed nor copied whole.
 * Every spelling of /mnt/data in JSON holds the bytes `mnt` (only `/` may be escaped, as `\/`);
 * a path spelled with \u escapes is not mapped on that path, which only matters to the code
 * that spelled it so.
 */
export function rewriteExecuteRequest(
  frame: KernelFrame,
  rewriter: PathRewriter,
): { silent: boolean; stopOnError: boolean } {
  const large = rewriteLargeContent(frame, {
    fields: INCOMING_FIELDS.execute_request!,
    needle: 'mnt',
    rewriteText: (text) => rewriter.codeIn(text),
    rewriteValue: (value) => rewriteIncomingValue(value, rewriter),
  });
  if (!large) {
    rewriteIncoming(frame, rewriter);
    const content = frame.content();
    return { silent: content?.silent === true, stopOnError: content?.stop_on_error !== false };
  }
  const literal = (name: string) => {
    const span = large.fields.get(name);
    return span && large.raw.toString('latin1', span.start, span.end);
  };
  return { silent: literal('silent') === 'true', stopOnError: literal('stop_on_error') !== 'false' };
}
