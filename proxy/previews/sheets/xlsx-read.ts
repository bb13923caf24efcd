import path from 'node:path';
import { formatNumber } from './number-format.ts';
import { PreviewError } from '../preview-errors.ts';
import { appendCapped, SheetBuilder, type CellBudget } from './sheet-builder.ts';
import type { Table, TableLimits } from './table-shape.ts';
import { readCellFormats } from './xlsx-styles.ts';
import { parseXml } from './xml-stream.ts';
import { withZipParts, type PartText, type ReadPart } from '../zip-guard.ts';

interface Relationship {
  type: string;
  target: string;
}

const unreadable = (why: string) => new PreviewError('ERR_PREVIEW_UNREADABLE', `The workbook cannot be read: ${why}.`);

/** A relationship's target as a zip entry name: relative to the part's folder, or absolute from the root. */
function resolveTarget(fromPart: string, target: string): string {
  const joined = target.startsWith('/') ? target : path.posix.join(path.posix.dirname(fromPart), target);
  return path.posix.normalize(joined).replace(/^\/+/, '');
}

/** `{folder}/_rels/{name}.rels`: the relationships of one part, by id. */
async function readRelationships(read: ReadPart, part: string): Promise<Map<string, Relationship>> {
  const rels = new Map<string, Relationship>();
  const bytes = await read(path.posix.join(path.posix.dirname(part), '_rels', `${path.posix.basename(part)}.rels`));
  if (!bytes) return rels;
  parseXml(bytes, {
    open(name, a) {
      if (name === 'Relationship' && a.Id && a.Target && a.TargetMode !== 'External') {
        rels.set(a.Id, { type: a.Type ?? '', target: resolveTarget(part, a.Target) });
      }
    },
  });
  return rels;
}

const byType = (rels: Map<string, Relationship>, type: string) =>
  [...rels.values()].find((r) => r.type.endsWith(`/${type}`))?.target;

/** The shared strings (`<si>`: plain `<t>` or rich runs; phonetic `<rPh>` hints are not shown). */
function readSharedStrings(bytes: PartText | undefined, limits: TableLimits): string[] {
  const strings: string[] = [];
  if (!bytes) return strings;
  let current: string | null = null;
  let inText = false;
  let phonetic = 0;
  parseXml(bytes, {
    open(name) {
      if (name === 'si') current = '';
      else if (name === 'rPh') phonetic++;
      else if (name === 't' && current !== null && phonetic === 0) inText = true;
    },
    text(text) {
      if (inText) current = appendCapped(current!, text);
    },
    close(name) {
      if (name === 't') inText = false;
      else if (name === 'rPh') phonetic--;
      else if (name === 'si' && current !== null) {
        // More distinct strings than cells allowed: the cells that use them would be refused anyway.
        if (strings.length >= limits.maxCells) {
          throw new PreviewError(
            'ERR_PREVIEW_TOO_MANY_CELLS',
            `The workbook has more than ${limits.maxCells} cells: not previewed.`,
          );
        }
        strings.push(current);
        current = null;
      }
    },
  });
  return strings;
}

/** `B12` → { row: 11, col: 1 }; null for anything else. Letters past XFD still count up (and are refused by the limit). */
function parseRef(ref: string | undefined): { row: number; col: number } | null {
  const match = ref && /^\$?([A-Za-z]{1,7})\$?(\d{1,9})$/.exec(ref);
  if (!match) return null;
  let col = 0;
  for (const ch of match[1]!.toUpperCase()) col = col * 26 + (ch.charCodeAt(0) - 64);
  const row = Number(match[2]);
  return row >= 1 ? { row: row - 1, col: col - 1 } : null;
}

interface Workbook {
  date1904: boolean;
  strings: string[];
  formats: string[];
}

/** A cell as the workbook shows it: its cached value (formulas are never evaluated), formatted by its style. */
function display(type: string, value: string, inline: string, style: number, book: Workbook): string {
  switch (type) {
    case 's':
      return book.strings[Number(value)] ?? '';
    case 'inlineStr':
      return inline;
    case 'str':
    case 'e':
      return value;
    case 'b':
      return value.trim() === '1' || value.trim() === 'true' ? 'TRUE' : 'FALSE';
    case 'd': {
      // An ISO date: shown through the cell's format as a serial date when it parses.
      const ms = Date.parse(value.endsWith('Z') || value.length <= 10 ? value : `${value}Z`);
      if (Number.isNaN(ms)) return value;
      return formatNumber(ms / 86_400_000 + 25_569, book.formats[style] ?? 'yyyy-mm-dd hh:mm:ss');
    }
    default: {
      const number = Number(value);
      if (value.trim() === '' || Number.isNaN(number)) return value;
      return formatNumber(number, book.formats[style] ?? 'General', book.date1904);
    }
  }
}

/** One worksheet part, streamed: `<row r>` and `<c r t s>` with `<v>` or `<is>`, positions by reference or in order. */
function readSheet(bytes: PartText, sheet: SheetBuilder, book: Workbook): void {
  let row = -1;
  let col = -1;
  let cell: { type: string; style: number; value: string; inline: string } | null = null;
  let gathering: 'v' | 'is' | null = null;
  let inInline = false;
  let phonetic = 0;
  parseXml(bytes, {
    open(name, a) {
      if (name === 'row') {
        const r = Number(a.r);
        row = Number.isInteger(r) && r >= 1 ? r - 1 : row + 1;
        col = -1;
      } else if (name === 'c') {
        const ref = parseRef(a.r);
        if (ref) ({ row, col } = ref);
        else col++;
        if (row < 0) row = 0;
        cell = { type: a.t ?? 'n', style: Number(a.s ?? 0), value: '', inline: '' };
      } else if (cell && name === 'v') gathering = 'v';
      else if (cell && name === 'is') inInline = true;
      else if (inInline && name === 'rPh') phonetic++;
      else if (inInline && name === 't' && phonetic === 0) gathering = 'is';
    },
    text(text) {
      if (gathering === 'v') cell!.value = appendCapped(cell!.value, text);
      else if (gathering === 'is') cell!.inline = appendCapped(cell!.inline, text);
    },
    close(name) {
      if (name === 'v' || name === 't') gathering = null;
      else if (name === 'rPh') phonetic--;
      else if (name === 'is') inInline = false;
      else if (name === 'c' && cell) {
        const { type, style, value, inline } = cell;
        cell = null;
        // A formula nobody computed has no cached value: an empty cell, never evaluated here.
        if (value === '' && inline === '') return;
        sheet.cell(row, col, () => display(type, value, inline, style, book));
      }
    },
  });
}

/**
 * Every sheet of an xlsx, read with our own streaming reader over the zip guard: the workbook,
 * its relationships, the shared strings, the styles (for number formats) and each worksheet.
 * read-excel-file gives values only, and a display string needs each cell's style.
 */
export async function readXlsx(bytes: Buffer, limits: TableLimits, keepRows: number): Promise<Table[]> {
  return withZipParts(bytes, limits, async (read) => {
    const root = await readRelationships(read, '');
    const workbookPart = byType(root, 'officeDocument') ?? 'xl/workbook.xml';
    const workbookXml = await read(workbookPart);
    if (!workbookXml) throw unreadable('it has no workbook part (is it an xlsx file?)');
    const sheets: Array<{ name: string; id: string }> = [];
    let date1904 = false;
    parseXml(workbookXml, {
      open(name, a) {
        if (name === 'workbookPr') date1904 = a.date1904 === '1' || a.date1904 === 'true';
        else if (name === 'sheet') sheets.push({ name: a.name ?? `Sheet${sheets.length + 1}`, id: a.id ?? '' });
      },
    });
    const rels = await readRelationships(read, workbookPart);
    const dir = path.posix.dirname(workbookPart);
    const book: Workbook = {
      date1904,
      strings: readSharedStrings(await read(byType(rels, 'sharedStrings') ?? `${dir}/sharedStrings.xml`), limits),
      formats: readCellFormats(await read(byType(rels, 'styles') ?? `${dir}/styles.xml`)),
    };
    const budget: CellBudget = { cells: 0 };
    const tables: Table[] = [];
    for (const { name, id } of sheets) {
      const target = rels.get(id);
      // Chart sheets and dialogs are not tables: not listed.
      if (!target?.type.endsWith('/worksheet')) continue;
      const sheet = new SheetBuilder(name, limits, keepRows, budget);
      const part = await read(target.target);
      if (part) readSheet(part, sheet, book);
      tables.push(sheet.finish());
    }
    return tables;
  });
}
