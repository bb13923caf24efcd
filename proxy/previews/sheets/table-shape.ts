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

/** The first rows and columns of a table, for the preview JSON. */
export function toPreviewSheet(
  table: Table,
  { shownRows, shownColumns }: Pick<PreviewLimits, 'shownRows' | 'shownColumns'>,
): PreviewSheet {
  return {
    name: table.name,
    rows: table.rows.slice(0, shownRows).map((row) => row.slice(0, shownColumns)),
    rowCount: table.rowCount,
    columnCount: table.columnCount,
    truncated: table.rowCount > shownRows || table.columnCount > shownColumns,
  };
}
