import type { PreviewSheet } from '../../../contract/files-api.ts';
import type { PreviewLimits } from '../preview-limits.ts';
import { PreviewError } from '../preview-errors.ts';

/** A sheet as display strings, as many rows as were kept, with the full counts. */
export interface Table {
  name: string;
  rows: string[][];
  rowCount: number;
  columnCount: number;
}

export type TableLimits = Pick<
  PreviewLimits,
  'maxRows' | 'maxColumns' | 'maxCells' | 'maxUnzippedBytes' | 'maxZipEntries'
>;

/** Refuses a table past any limit; every reader calls it as soon as a count grows. */
export function checkShape(rowCount: number, columnCount: number, cells: number, limits: TableLimits): void {
  if (rowCount > limits.maxRows)
    throw new PreviewError(
      'ERR_PREVIEW_TOO_MANY_ROWS',
      `The table has more than ${limits.maxRows} rows: not previewed.`,
    );
  if (columnCount > limits.maxColumns)
    throw new PreviewError(
      'ERR_PREVIEW_TOO_MANY_COLUMNS',
      `The table has more than ${limits.maxColumns} columns: not previewed.`,
    );
  if (cells > limits.maxCells)
    throw new PreviewError(
      'ERR_PREVIEW_TOO_MANY_CELLS',
      `The table has more than ${limits.maxCells} cells: not previewed.`,
    );
}

/**
 * Rows a preview keeps of a sheet: its header row and `shownRows` (--preview-rows) rows under it,
 * so "100 of 3,000 rows" counts data rows on both sides (`rowCount` counts the header too).
 */
export const keptRows = (shownRows: number): number => shownRows + 1;

/** The first rows and columns of a table, for the preview JSON. */
export function toPreviewSheet(
  table: Table,
  { shownRows, shownColumns }: Pick<PreviewLimits, 'shownRows' | 'shownColumns'>,
): PreviewSheet {
  const kept = keptRows(shownRows);
  return {
    name: table.name,
    rows: table.rows.slice(0, kept).map((row) => row.slice(0, shownColumns)),
    rowCount: table.rowCount,
    columnCount: table.columnCount,
    truncated: table.rowCount > kept || table.columnCount > shownColumns,
  };
}
