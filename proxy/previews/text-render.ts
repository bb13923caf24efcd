export type TextLanguage = 'markdown' | 'json' | 'code' | 'text';

const TRUNCATION_MARKER = '\n… (truncated)';

/**
 * The start of a text file as text. JSON is pretty-printed when the whole file parses (and the
 * pretty form is cut to the same size); anything else is shown as written. Never rendered.
 */
export function renderText(
  bytes: Buffer,
  language: TextLanguage,
  shownBytes: number,
): { text: string; truncated: boolean } {
  if (language === 'json') {
    try {
      const pretty = JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)), null, 2);
      return cut(pretty, shownBytes);
    } catch {
      // Not valid JSON (or a JSON Lines file): shown as written.
    }
  }
  const head = bytes.subarray(0, shownBytes);
  // fatal: false, so a multi-byte character cut at the end becomes one replacement character.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head);
  const truncated = bytes.byteLength > shownBytes;
  return { text: truncated ? text + TRUNCATION_MARKER : text, truncated };
}

function cut(text: string, shownBytes: number): { text: string; truncated: boolean } {
  if (text.length <= shownBytes) return { text, truncated: false };
  return { text: text.slice(0, shownBytes) + TRUNCATION_MARKER, truncated: true };
}
