import { checkShape, type Table, type TableLimits } from './table-shape.ts';

/**
 * RFC 4180 with `""` escapes and line breaks in quotes, CRLF or LF. Counts every row and cell
 * (refusing past the limits as soon as they are passed, so a huge file stops early) but keeps
 * only the first `keepRows` rows. Cells stay text: `=HYPERLINK(...)` is a string, never a link.
 */
export function readDelimited(
  text: string,
  delimiter: string,
  limits: TableLimits,
  keepRows: number,
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
