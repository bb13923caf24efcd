/**
 * File sizes in words, the one way the element and the sidecar's file card both say them:
 * decimal units (`1.2 kB`, `3.4 MB`), as browsers' download lists and operating systems show
 * sizes, one decimal under 100 and none above. No runtime imports: it runs in Node and in
 * the browser as it is.
 */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'] as const;

/** Made once per locale and digits: making one costs tens of µs, and the list formats every row on screen. */
const formats = new Map<string, Intl.NumberFormat>();

/** `1234` -> `1.2 kB`; `locale` picks the decimal mark (the card passes `en`, the element the page's). */
export function formatBytes(bytes: number, locale?: string): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  const key = `${digits}${locale}`;
  let format = formats.get(key);
  if (!format) formats.set(key, (format = new Intl.NumberFormat(locale, { maximumFractionDigits: digits })));
  return `${format.format(value)} ${UNITS[unit]}`;
}
