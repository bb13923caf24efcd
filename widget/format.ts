/** Human-readable sizes and times for the file list. Pure functions, no DOM. */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'] as const;

/** Made once per locale and options: making one costs tens of µs, and each update formats every row on screen. */
const formats = new Map<string, Intl.NumberFormat | Intl.RelativeTimeFormat>();
function cached<T extends Intl.NumberFormat | Intl.RelativeTimeFormat>(key: string, make: () => T): T {
  let format = formats.get(key) as T | undefined;
  if (!format) formats.set(key, (format = make()));
  return format;
}

/** `1234` -> `1.2 kB` (decimal units, like the browser's download shelf). */
export function formatBytes(bytes: number, locale?: string): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  const format = cached(`n${digits}${locale}`, () => new Intl.NumberFormat(locale, { maximumFractionDigits: digits }));
  return `${format.format(value)} ${UNITS[unit]}`;
}

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
  const rtf = cached(`r${locale}`, () => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }));
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
