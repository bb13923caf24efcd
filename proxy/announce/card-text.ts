/**
 * Text that goes into a file card (or anything else the model reads and is told to pass on, such
 * as a tool result): file names, paths and format labels come from kernel code, and a name with a
 * line break in it made a fake "Files saved" line with an attacker's link. Every character that
 * some reader takes as a line break or that is not shown (C0 and C1 controls, DEL, NEL, the
 * Unicode line and paragraph separators) becomes a visible `\u{…}` escape; nothing else changes.
 * One function, so every format of the card (text/plain, Markdown, HTML) and every other surface
 * that carries the same names escapes the same way.
 */
// eslint-disable-next-line no-control-regex -- control characters are what this escapes
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

export function escapeCardText(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u{${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}}`);
}

/** Whether any character escapeCardText would escape is in `text`. */
export function hasUnsafeCardText(text: string): boolean {
  return new RegExp(UNSAFE.source).test(text);
}
