import { PREVIEW_TEXT_BYTES } from './preview-limits.ts';

export type TextLanguage = 'markdown' | 'json' | 'code' | 'text';

const TRUNCATION_MARKER = '\n… (truncated)';

/**
 * The start of a text file as text. JSON is pretty-printed when the whole file parses (and the
 * pretty form is cut to the same size); anything else is shown as written. Never rendered.
 */
export function renderText(bytes: Buffer, language: TextLanguage): { text: string; truncated: boolean } {
  if (language === 'json') {
    try {
      const pretty = JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)), null, 2);
      return cut(pretty);
    } catch {
      // Not valid JSON (or a JSON Lines file): shown as written.
    }
  }
  const head = bytes.subarray(0, PREVIEW_TEXT_BYTES);
  // fatal: false, so a multi-byte character cut at the end becomes one replacement character.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head);
  const truncated = bytes.byteLength > PREVIEW_TEXT_BYTES;
  return { text: truncated ? text + TRUNCATION_MARKER : text, truncated };
}

function cut(text: string): { text: string; truncated: boolean } {
  if (text.length <= PREVIEW_TEXT_BYTES) return { text, truncated: false };
  return { text: text.slice(0, PREVIEW_TEXT_BYTES) + TRUNCATION_MARKER, truncated: true };
}
