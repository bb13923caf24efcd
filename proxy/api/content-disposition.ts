import { withoutBidiControls } from '../../contract/files-api.ts';

/**
 * A Content-Disposition header value (RFC 6266) for any file name: an ASCII `filename` fallback
 * for old clients, plus `filename*` (RFC 5987) carrying the exact UTF-8 name. Quotes,
 * backslashes, CR/LF and other control characters never reach the header.
 */
export function contentDisposition(fileName: string, type: 'attachment' | 'inline' = 'attachment'): string {
  // A saved name keeps no bidi controls: the file manager would show a spoofed extension.
  const name = wellFormed(withoutBidiControls(fileName));
  const fallback = asciiFallback(name);
  const header = `${type}; filename="${fallback}"`;
  return fallback === name ? header : `${header}; filename*=UTF-8''${encodeRfc5987(name)}`;
}

function wellFormed(value: string): string {
  // Lone surrogates cannot be UTF-8 encoded: replace them like TextDecoder would.
  return value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

function asciiFallback(name: string): string {
  const ascii = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // é -> e
    .replace(/[^\x20-\x7e]/g, '_') // other non-ASCII and control characters
    .replace(/["\\]/g, '') // would end or escape the quoted string
    .replace(/%/g, '_') // some clients percent-decode filename
    .trim();
  return ascii || 'download';
}

/** RFC 5987 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else percent-encoded. */
function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
