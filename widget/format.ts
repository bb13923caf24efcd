/** Human-readable sizes and times for the file list. Pure functions, no DOM. */

/** Sizes are said one way, by the element and the sidecar's file card alike. */
export { formatBytes } from '../contract/format-bytes.ts';

/** Made once per locale: making one costs tens of µs, and each update formats every row on screen. */
const formats = new Map<string | undefined, Intl.RelativeTimeFormat>();

const STEPS: [number, Intl.RelativeTimeFormatUnit][] = [
  [60, 'second'],
  [60, 'minute'],
  [24, 'hour'],
  [7, 'day'],
  [4.35, 'week'],
  [12, 'month'],
  [Infinity, 'year'],
];

/** `2026-01-01T10:00:00Z` -> `3 minutes ago`; under 45 s reads `now`. */
export function formatRelativeTime(date: Date, now: number = Date.now(), locale?: string): string {
  let delta = (date.getTime() - now) / 1000;
  if (Number.isNaN(delta)) return '';
  let rtf = formats.get(locale);
  if (!rtf) formats.set(locale, (rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })));
  if (Math.abs(delta) < 45) return rtf.format(0, 'second');
  for (const [size, unit] of STEPS) {
    if (Math.abs(delta) < size) return rtf.format(Math.round(delta), unit);
    delta /= size;
  }
  return '';
}

/** `out/charts/a.png` -> `out/charts`; top-level files have no folder. */
export function folderOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash > 0 ? path.slice(0, slash) : '';
}

/**
 * A name cut for truncation in the middle: the head may be elided (CSS ellipsis), the tail
 * (the last characters before the extension, and the extension) always shows.
 */
export function nameParts(name: string): [head: string, tail: string] {
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 10 ? name.length - dot : 0;
  const cut = Math.max(0, name.length - ext - 6);
  return cut < 8 ? [name, ''] : [name.slice(0, cut), name.slice(cut)];
}
