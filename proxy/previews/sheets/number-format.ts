import { format, getFormatFromId, isDateFormat } from 'numfmt';

/** Excel refuses longer format codes; a longer one in a file is shown as General. */
const MAX_CODE_LENGTH = 255;

/**
 * Built-in formats 14 and 22 are "the system's short date (and time)": Excel shows them in the
 * reader's locale. A preview has no reader's locale, so they are shown as ISO dates.
 */
const LOCALE_DATES: Record<number, string> = { 14: 'yyyy-mm-dd', 22: 'yyyy-mm-dd hh:mm' };

/** Dates within Excel's range (1900 to 9999) only; a serial outside it is shown as a number. */
const OPTIONS = { dateSpanLarge: false, dateErrorNumber: true, leap1900: true, nbsp: false } as const;

/** Days between the 1904 and the 1900 date systems. */
const DAYS_1904 = 1462;

/** Built-in ids go up to 58 (50 to 58 are East Asian dates); higher ids are the workbook's own. */
const LAST_BUILT_IN = 58;

/** The format code of a built-in number format id (xlsx `numFmtId`, xls `ifmt`); General if unknown. */
export function builtInFormat(id: number): string {
  // numfmt wraps ids past 58 around its table: an undefined custom id must not become a built-in one.
  if (!Number.isInteger(id) || id < 0 || id > LAST_BUILT_IN) return 'General';
  return LOCALE_DATES[id] ?? (getFormatFromId(id) || 'General');
}

const general = (value: number) => format('General', value, OPTIONS);

/**
 * A number as the workbook shows it under its format code: `1.50 €`, `25.6%`, `2024-03-05`. A code
 * numfmt cannot read is shown as General rather than failing the preview. Padding (`_)`, `* `) is
 * trimmed: a table cell has no column width to fill.
 */
export function formatNumber(value: number, code: string, date1904 = false): string {
  if (!Number.isFinite(value)) return String(value);
  if (code === '' || code === 'General' || code.length > MAX_CODE_LENGTH) return general(value);
  try {
    const serial = date1904 && isDateFormat(code) ? value + DAYS_1904 : value;
    return format(code, serial, OPTIONS).trim();
  } catch {
    return general(value);
  }
}
