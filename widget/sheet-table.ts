import { html, nothing, type TemplateResult } from 'lit';
import type { PreviewSheet } from '../contract/files-api.ts';

/** Sorted by one column, ascending or not; null: as the file has them. */
export type SheetSort = { column: number; descending: boolean } | null;

/** A cell that reads as a number: 1,234.5, -3, 12 %, 1e6 (what a sheet writes as a number). */
const NUMBER = /^[-+−]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?(e[-+]?\d+)?\s?%?$/i;
const numberIn = (cell: string): number => Number(cell.replace(/[,%\s]/g, '').replace('−', '-'));
const isNumber = (cell: string): boolean => /\d/.test(cell) && NUMBER.test(cell.trim());

/** A count as people read it: 3,000. */
export const count = (n: number): string => n.toLocaleString('en-US');
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Columns whose every non-empty cell is a number (and that have one): right-aligned, sorted as numbers. */
export function numericColumns(header: string[], rows: string[][]): boolean[] {
  return header.map(
    (_, c) => rows.some((row) => row[c]?.trim()) && rows.every((row) => !row[c]?.trim() || isNumber(row[c]!)),
  );
}

/** Empty cells last, whichever way. */
export function sortRows(rows: string[][], sort: SheetSort, numeric: boolean[]): string[][] {
  if (!sort) return rows;
  const { column, descending } = sort;
  const sign = descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const [x = '', y = ''] = [a[column]?.trim(), b[column]?.trim()];
    if (!x || !y) return (x ? 0 : 1) - (y ? 0 : 1);
    return sign * (numeric[column] ? numberIn(x) - numberIn(y) : collator.compare(x, y));
  });
}

/**
 * A sheet as a table: how much of it is shown first ("100 of 3,000 rows"), then a header that
 * stays in view while the rows scroll, number columns right-aligned, and a button in each header
 * cell that sorts by it (aria-sort says how it is sorted).
 */
export function renderSheetTable(
  caption: string,
  sheet: PreviewSheet,
  sort: SheetSort,
  setSort: (sort: SheetSort) => void,
): TemplateResult {
  const [header = [], ...rows] = sheet.rows;
  const numeric = numericColumns(header, rows);
  const total = Math.max(sheet.rowCount - 1, rows.length);
  const columns = Math.max(sheet.columnCount, header.length);
  const next = (column: number): SheetSort =>
    sort?.column !== column ? { column, descending: false } : sort.descending ? null : { column, descending: true };
  return html`<p part="preview-count">
      ${total > rows.length ? `${count(rows.length)} of ${count(total)} rows` : `${count(total)} ${total === 1 ? 'row' : 'rows'}`}${
        columns > header.length ? `, ${count(header.length)} of ${count(columns)} columns` : ''
      }
    </p>
    <table>
      <caption class="visually-hidden">${caption}</caption>
      <thead>
        <tr>
          ${header.map(
            (cell, c) => html`<th
              scope="col"
              class=${numeric[c] ? 'num' : ''}
              aria-sort=${sort?.column === c ? (sort.descending ? 'descending' : 'ascending') : nothing}
            >
              <button type="button" @click=${() => setSort(next(c))}>
                ${cell}<span aria-hidden="true">${sort?.column === c ? (sort.descending ? ' ▼' : ' ▲') : ''}</span>
              </button>
            </th>`,
          )}
        </tr>
      </thead>
      <tbody>
        ${sortRows(rows, sort, numeric).map(
          (row) => html`<tr>${row.map((cell, c) => html`<td class=${numeric[c] ? 'num' : ''}>${cell}</td>`)}</tr>`,
        )}
      </tbody>
    </table>`;
}
