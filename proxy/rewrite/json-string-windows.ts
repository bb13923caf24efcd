/**
 * Rewrites text inside one large JSON string value without decoding all of it: only windows of
 * bytes around each occurrence of a needle (and `reach` bytes past it, for a match that only
 * starts with the needle) are decoded, rewritten and re-encoded; the bytes in between are kept. The rewrite must be local: its result for a window may depend on
 * at most WINDOW_CONTEXT bytes on either side of what it changes (the path rewriter looks one
 * character around a match, and back over an ANSI colour code).
 */
export const WINDOW_CONTEXT = 96;

const BACKSLASH = 0x5c;

/** May the string's bytes be cut at `p` (not inside an escape sequence or a UTF-8 character)? */
function isSafeCut(buf: Buffer, p: number): boolean {
  if ((buf[p]! & 0xc0) === 0x80) return false;
  for (let k = 1; k <= 6 && p - k >= 0; k++) {
    const q = p - k;
    if (buf[q] !== BACKSLASH) continue;
    let run = 0;
    while (q - run >= 0 && buf[q - run] === BACKSLASH) run++;
    if (run % 2 === 0) return true; // an escaped backslash: the nearest escape is finished
    const escapeLength = buf[q + 1] === 0x75 ? 6 : 2; // \uXXXX or \n, \", ...
    return k >= escapeLength;
  }
  return true;
}

/**
 * `json` is a JSON string value, quotes included. Returns the pieces of the rewritten value
 * (untouched runs are views of `json`), or null when nothing changed.
 */
export function rewriteJsonStringWindows(
  json: Buffer,
  needle: string,
  rewrite: (text: string) => string,
  reach = 0,
): Buffer[] | null {
  const first = 1;
  const last = json.length - 1; // the closing quote
  const windows: Array<[number, number]> = [];
  for (let at = json.indexOf(needle, first); at !== -1 && at < last; at = json.indexOf(needle, at + needle.length)) {
    let start = Math.max(first, at - WINDOW_CONTEXT);
    let end = Math.min(last, at + needle.length + reach + WINDOW_CONTEXT);
    while (start > first && !isSafeCut(json, start)) start--;
    while (end < last && !isSafeCut(json, end)) end++;
    const previous = windows[windows.length - 1];
    if (previous && start <= previous[1]) previous[1] = end;
    else windows.push([start, end]);
  }
  const pieces: Buffer[] = [];
  let kept = 0;
  let changed = false;
  for (const [start, end] of windows) {
    const text = JSON.parse(`"${json.toString('utf8', start, end)}"`) as string;
    const out = rewrite(text);
    if (out === text) continue;
    changed = true;
    pieces.push(json.subarray(kept, start), Buffer.from(JSON.stringify(out).slice(1, -1), 'utf8'));
    kept = end;
  }
  if (!changed) return null;
  pieces.push(json.subarray(kept));
  return pieces;
}
