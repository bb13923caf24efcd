import { formatNumber } from './number-format.ts';
import { PreviewError } from '../preview-errors.ts';
import { appendCapped, SheetBuilder, type CellBudget } from './sheet-builder.ts';
import { checkShape, type Table, type TableLimits } from './table-shape.ts';
import { parseXml } from './xml-stream.ts';
import { withZipParts, type PartText } from '../zip-guard.ts';

/** Spaces one `<text:s text:c>` may stand for: a cell's text is cut far below this anyway. */
const MAX_SPACES = 1024;

/** `table:number-*-repeated`: a positive integer, 1 when absent or nonsense. Never materialized. */
function repeatOf(value: string | undefined): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 1 ? n : 1;
}

interface OdsCell {
  covered: boolean;
  repeat: number;
  attributes: Readonly<Record<string, string>>;
  text: string;
  paragraphs: number;
}

/** `PT12H30M05S` → `12:30:05`. */
function isoDuration(value: string): string {
  const match = /^-?P(?:\d+D)?T?(\d+H)?(\d+M)?([\d.]+S)?$/.exec(value);
  if (!match) return value;
  const part = (s: string | undefined) => String(Math.floor(Number((s ?? '0').slice(0, -1)) || 0)).padStart(2, '0');
  return `${part(match[1])}:${part(match[2])}:${part(match[3])}`;
}

/**
 * What a cell shows. The `<text:p>` text is what the application displayed when it saved (the
 * number format already applied), so it wins; a cell that has a value but no text (some writers
 * leave it empty) is shown from its typed value.
 */
function display(cell: OdsCell): string {
  if (cell.text !== '') return cell.text;
  const a = cell.attributes;
  switch (a['value-type']) {
    case 'float':
      return formatNumber(Number(a.value), 'General');
    case 'percentage':
      return `${formatNumber(Number(a.value) * 100, 'General')}%`;
    case 'currency':
      return [formatNumber(Number(a.value), 'General'), a.currency].filter(Boolean).join(' ');
    case 'date':
      return (a['date-value'] ?? '')
        .replace('T00:00:00', '')
        .replace('T', ' ')
        .replace(/\.\d+$/, '');
    case 'time':
      return isoDuration(a['time-value'] ?? '');
    case 'boolean':
      return a['boolean-value'] === 'true' ? 'TRUE' : 'FALSE';
    default:
      return a['string-value'] ?? '';
  }
}

/** A cell counts when it shows something or holds a typed value; covered cells (under a merge) never do. */
function hasValue(cell: OdsCell): boolean {
  if (cell.covered) return false;
  const type = cell.attributes['value-type'];
  return cell.text !== '' || (type !== undefined && type !== 'string') || Boolean(cell.attributes['string-value']);
}

/**
 * `content.xml`, streamed: tables (sheets, by `table:name`), rows and cells with their repeat
 * counts. A repeated row or cell is counted, not copied: a trailing run of 1,048,576 empty rows
 * costs nothing, a repeated row with values is refused by the limits before it is stored. Text
 * inside annotations (comments) and drawings is not the cell's.
 */
function readContent(bytes: PartText, limits: TableLimits, keepRows: number): Table[] {
  const tables: Table[] = [];
  const budget: CellBudget = { cells: 0 };
  let sheet: SheetBuilder | null = null;
  /** Nesting of table:table elements: a table inside a cell is not a sheet. */
  let tableDepth = 0;
  let row = 0;
  let rowRepeat = 1;
  let col = 0;
  let width = 0;
  let texts: string[] | null = null;
  let cell: OdsCell | null = null;
  /** Inside text:p/text:h of the current cell, and inside parts whose text is not the cell's. */
  let paragraphDepth = 0;
  let skipDepth = 0;

  parseXml(bytes, {
    open(name, a) {
      if (name === 'table') {
        tableDepth++;
        if (tableDepth === 1) {
          sheet = new SheetBuilder(a.name ?? `Sheet${tables.length + 1}`, limits, keepRows, budget);
          row = 0;
        }
        return;
      }
      if (tableDepth !== 1 || !sheet) return;
      if (skipDepth > 0 || name === 'annotation' || name === 'frame' || name === 'custom-shape') {
        if (cell) skipDepth++;
        return;
      }
      if (name === 'table-row') {
        rowRepeat = repeatOf(a['number-rows-repeated']);
        col = 0;
        width = 0;
        texts = sheet.keeps(row) ? [] : null;
      } else if (name === 'table-cell' || name === 'covered-table-cell') {
        cell = {
          covered: name === 'covered-table-cell',
          repeat: repeatOf(a['number-columns-repeated']),
          attributes: a,
          text: '',
          paragraphs: 0,
        };
      } else if (cell && (name === 'p' || name === 'h')) {
        if (paragraphDepth++ === 0 && cell.paragraphs++ > 0) cell.text = appendCapped(cell.text, '\n');
      } else if (cell && paragraphDepth > 0) {
        if (name === 's') cell.text = appendCapped(cell.text, ' '.repeat(Math.min(repeatOf(a.c), MAX_SPACES)));
        else if (name === 'tab') cell.text = appendCapped(cell.text, '\t');
        else if (name === 'line-break') cell.text = appendCapped(cell.text, '\n');
      }
    },
    text(text) {
      if (cell && paragraphDepth > 0 && skipDepth === 0) cell.text = appendCapped(cell.text, text);
    },
    close(name) {
      if (name === 'table') {
        if (tableDepth-- === 1 && sheet) {
          tables.push(sheet.finish());
          sheet = null;
        }
        return;
      }
      if (tableDepth !== 1 || !sheet) return;
      if (skipDepth > 0) {
        skipDepth--;
        return;
      }
      if ((name === 'p' || name === 'h') && paragraphDepth > 0) paragraphDepth--;
      else if ((name === 'table-cell' || name === 'covered-table-cell') && cell) {
        const done: OdsCell = cell;
        cell = null;
        paragraphDepth = 0;
        if (hasValue(done)) {
          // Checked before the row grows: a value repeated a billion columns wide is refused here.
          checkShape(0, col + done.repeat, 0, limits);
          if (texts) {
            // fill() writes only within the length: make room first (the gap before stays holes, then '').
            texts.length = col + done.repeat;
            texts.fill(display(done), col, col + done.repeat);
          }
          width = col + done.repeat;
        }
        col += done.repeat;
      } else if (name === 'table-row') {
        if (texts) texts.length = width;
        sheet.rows(row, rowRepeat, width, texts);
        row += rowRepeat;
      }
    },
  });
  return tables;
}

/** Every sheet of an OpenDocument spreadsheet; `content.xml` is the only part read. */
export async function readOds(bytes: Buffer, limits: TableLimits, keepRows: number): Promise<Table[]> {
  return withZipParts(bytes, limits, async (read) => {
    const content = await read('content.xml');
    if (!content) {
      throw new PreviewError(
        'ERR_PREVIEW_UNREADABLE',
        'The spreadsheet cannot be read: it has no content.xml (is it an ods file?).',
      );
    }
    return readContent(content, limits, keepRows);
  });
}
