import type { PreviewSheet } from '../../contract/files-api.ts';
import { PREVIEW_COLUMNS, PREVIEW_ROWS, type PreviewLimits } from './preview-limits.ts';
import { PreviewError } from './preview-errors.ts';
import { defuseZip } from './zip-guard.ts';

/** A sheet as display strings, as many rows as were kept, with the full counts. */
export interface Table {
  name: string;
  rows: string[][];
  rowCount: number;
  columnCount: number;
}

type TableLimits = Pick<PreviewLimits, 'maxRows' | 'maxColumns' | 'maxCells' | 'maxUnzippedBytes'>;

function checkShape(rowCount: number, columnCount: number, cells: number, limits: TableLimits): void {
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
 * RFC 4180 with `""` escapes and line breaks in quotes, CRLF or LF. Counts every row and cell
 * (refusing past the limits as soon as they are passed, so a huge file stops early) but keeps
 * only the first `keepRows` rows. Cells stay text: `=HYPERLINK(...)` is a string, never a link.
 */
export function readDelimited(
  text: string,
  delimiter: string,
  limits: TableLimits,
  keepRows = PREVIEW_ROWS,
  name = 'Sheet1',
): Table {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let rowCount = 0;
  let columnCount = 0;
  let cells = 0;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRow = () => {
    row.push(field);
    field = '';
    rowCount++;
    cells += row.length;
    if (row.length > columnCount) columnCount = row.length;
    checkShape(rowCount, columnCount, cells, limits);
    if (rows.length < keepRows) rows.push(row);
    row = [];
  };
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === delimiter) {
      row.push(field);
      field = '';
      if (row.length > limits.maxColumns) checkShape(rowCount, row.length, cells, limits);
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
    } else {
      field += ch;
    }
  }
  if (field !== '' || row.length > 0) endRow();
  return { name, rows, rowCount, columnCount };
}

function displayString(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) {
    const iso = value.toISOString();
    // A date without a time of day shows as the date, as a spreadsheet's default date format does.
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 19).replace('T', ' ');
  }
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  return String(value);
}

/**
 * Every sheet of an xlsx with read-excel-file, after the zip was defused. Formula cells hold the
 * value the workbook cached (read-excel-file never evaluates); dates come as dates.
 */
export async function readWorkbook(bytes: Buffer, limits: TableLimits, keepRows = PREVIEW_ROWS): Promise<Table[]> {
  const safe = await defuseZip(bytes, limits.maxUnzippedBytes);
  // Loaded here, on the render worker only: the idle sidecar never holds the parser.
  const { default: readXlsxFile } = await import('read-excel-file/node');
  let sheets: Awaited<ReturnType<typeof readXlsxFile>>;
  try {
    sheets = await readXlsxFile(safe);
  } catch {
    throw new PreviewError('ERR_PREVIEW_UNREADABLE', 'The workbook cannot be read: it is damaged or not an xlsx file.');
  }
  let cells = 0;
  return sheets.map(({ sheet, data }) => {
    let columnCount = 0;
    for (const row of data) {
      if (row.length > columnCount) columnCount = row.length;
      cells += row.length;
    }
    checkShape(data.length, columnCount, cells, limits);
    return {
      name: sheet,
      rows: data.slice(0, keepRows).map((row) => row.map(displayString)),
      rowCount: data.length,
      columnCount,
    };
  });
}

/** The first rows and columns of a table, for the preview JSON. */
export function toPreviewSheet(table: Table): PreviewSheet {
  return {
    name: table.name,
    rows: table.rows.slice(0, PREVIEW_ROWS).map((row) => row.slice(0, PREVIEW_COLUMNS)),
    rowCount: table.rowCount,
    columnCount: table.columnCount,
    truncated: table.rowCount > PREVIEW_ROWS || table.columnCount > PREVIEW_COLUMNS,
  };
}
