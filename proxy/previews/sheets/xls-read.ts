import { damagedRecord, readUnicodeString, RecordReader, RecordType, SegmentCursor } from './biff-records.ts';
import { readCfbStream } from './cfb-read.ts';
import { builtInFormat, formatNumber } from './number-format.ts';
import { MAX_CELL_CHARS } from '../preview-limits.ts';
import { PreviewError } from '../preview-errors.ts';
import { SheetBuilder, type CellBudget } from './sheet-builder.ts';
import type { Table, TableLimits } from './table-shape.ts';

const BIFF8 = 0x0600;
const GLOBALS = 0x0005;
const WORKSHEET = 0x0010;
/** BIFF8 allows 4,050 cell formats; a file with more is read as if the rest were General. */
const MAX_FORMATS = 65_536;

const ERRORS: Record<number, string> = {
  0x00: '#NULL!',
  0x07: '#DIV/0!',
  0x0f: '#VALUE!',
  0x17: '#REF!',
  0x1d: '#NAME?',
  0x24: '#NUM!',
  0x2a: '#N/A',
  0x2b: '#GETTING_DATA',
};

interface Globals {
  date1904: boolean;
  strings: string[];
  /** Cell format (XF) index → number format id. */
  xfFormats: number[];
  /** Number format id → the workbook's own code. */
  codes: Map<number, string>;
  sheets: Array<{ name: string; offset: number }>;
}

const unsupported = (why: string) => new PreviewError('ERR_PREVIEW_UNSUPPORTED', `No preview for this .xls: ${why}.`);

function need(data: Buffer, bytes: number): void {
  if (data.byteLength < bytes) throw damagedRecord('a record is shorter than its kind');
}

/** Eight bytes reused to turn an RK's top 30 bits into a double. */
const rkBytes = Buffer.alloc(8);

/** RK ([MS-XLS] 2.5.217): a 30-bit integer or the top 30 bits of a double, optionally / 100. */
function rkValue(rk: number): number {
  let value: number;
  if (rk & 0x02) value = rk >> 2;
  else {
    rkBytes.writeUInt32LE((rk & 0xfffffffc) >>> 0, 4);
    value = rkBytes.readDoubleLE(0);
  }
  return rk & 0x01 ? value / 100 : value;
}

/** The shared string table: an SST record and its CONTINUEs. Its counts are not trusted. */
function readSst(segments: Buffer[], limits: TableLimits): string[] {
  const cursor = new SegmentCursor(segments);
  cursor.skip(8); // cstTotal, cstUnique: read until the bytes end instead
  const strings: string[] = [];
  while (!cursor.atEnd) {
    if (strings.length >= limits.maxCells) {
      throw new PreviewError(
        'ERR_PREVIEW_TOO_MANY_CELLS',
        `The workbook has more than ${limits.maxCells} cells: not previewed.`,
      );
    }
    strings.push(readUnicodeString(cursor, MAX_CELL_CHARS, { rich: true }));
  }
  return strings;
}

/** The workbook globals: strings, formats, the date system and where each sheet starts. */
function readGlobals(stream: Buffer, limits: TableLimits): { globals: Globals; walked: number } {
  const reader = new RecordReader(stream, 0);
  const bof = reader.next();
  if (!bof || bof.type !== RecordType.BOF) throw damagedRecord('no BOF record at the start');
  need(bof.data, 4);
  if (bof.data.readUInt16LE(0) !== BIFF8 || bof.data.readUInt16LE(2) !== GLOBALS) {
    throw unsupported('it was saved by Excel 95 or older (BIFF5); save it as .xlsx to preview');
  }
  const globals: Globals = { date1904: false, strings: [], xfFormats: [], codes: new Map(), sheets: [] };
  for (let record = reader.next(); record && record.type !== RecordType.EOF; record = reader.next()) {
    const { type, data } = record;
    if (type === RecordType.FILEPASS) throw unsupported('it is encrypted (password-protected)');
    if (type === RecordType.DATEMODE) {
      need(data, 2);
      globals.date1904 = data.readUInt16LE(0) === 1;
    } else if (type === RecordType.FORMAT) {
      need(data, 2);
      const code = readUnicodeString(new SegmentCursor([data.subarray(2), ...reader.continues()]), 255);
      if (globals.codes.size < MAX_FORMATS) globals.codes.set(data.readUInt16LE(0), code);
    } else if (type === RecordType.XF) {
      need(data, 4);
      if (globals.xfFormats.length < MAX_FORMATS) globals.xfFormats.push(data.readUInt16LE(2));
    } else if (type === RecordType.BOUNDSHEET8) {
      need(data, 8);
      // Worksheets only (dt 0): chart sheets, macro sheets and VBA modules are not tables.
      if (data[5] !== 0) continue;
      const name = readUnicodeString(new SegmentCursor([data.subarray(6)]), 255, { countBytes: 1 });
      globals.sheets.push({ name, offset: data.readUInt32LE(0) });
    } else if (type === RecordType.SST) {
      globals.strings = readSst([data, ...reader.continues()], limits);
    }
  }
  return { globals, walked: reader.walked };
}

/** One worksheet substream, from its BOF to its EOF; embedded chart substreams are skipped. */
function readSheet(stream: Buffer, offset: number, sheet: SheetBuilder, globals: Globals): number {
  const reader = new RecordReader(stream, offset);
  const bof = reader.next();
  if (!bof || bof.type !== RecordType.BOF) throw damagedRecord('a sheet does not start with BOF');
  need(bof.data, 4);
  if (bof.data.readUInt16LE(2) !== WORKSHEET) return reader.walked;
  const codeOf = (xf: number) => {
    const id = globals.xfFormats[xf] ?? 0;
    return globals.codes.get(id) ?? builtInFormat(id);
  };
  const number = (row: number, col: number, xf: number, value: number) =>
    sheet.cell(row, col, () => formatNumber(value, codeOf(xf), globals.date1904));
  /** A formula whose cached value is a string: the value is in the STRING record that follows. */
  let pendingString: { row: number; col: number } | null = null;
  let depth = 1;
  for (let record = reader.next(); record; record = reader.next()) {
    const { type, data } = record;
    if (type === RecordType.BOF) depth++;
    else if (type === RecordType.EOF && --depth === 0) break;
    if (depth !== 1) continue;
    switch (type) {
      case RecordType.NUMBER:
        need(data, 14);
        number(data.readUInt16LE(0), data.readUInt16LE(2), data.readUInt16LE(4), data.readDoubleLE(6));
        break;
      case RecordType.RK:
        need(data, 10);
        number(data.readUInt16LE(0), data.readUInt16LE(2), data.readUInt16LE(4), rkValue(data.readUInt32LE(6)));
        break;
      case RecordType.MULRK: {
        need(data, 12);
        const row = data.readUInt16LE(0);
        const first = data.readUInt16LE(2);
        const count = Math.floor((data.byteLength - 6) / 6);
        for (let i = 0; i < count; i++) {
          number(row, first + i, data.readUInt16LE(4 + i * 6), rkValue(data.readUInt32LE(6 + i * 6)));
        }
        break;
      }
      case RecordType.LABELSST: {
        need(data, 10);
        const index = data.readUInt32LE(6);
        sheet.cell(data.readUInt16LE(0), data.readUInt16LE(2), () => globals.strings[index] ?? '');
        break;
      }
      case RecordType.LABEL: {
        need(data, 9);
        const text = readUnicodeString(new SegmentCursor([data.subarray(6), ...reader.continues()]), MAX_CELL_CHARS);
        sheet.cell(data.readUInt16LE(0), data.readUInt16LE(2), text);
        break;
      }
      case RecordType.BOOLERR: {
        need(data, 8);
        const value = data[6]!;
        const text = data[7] ? (ERRORS[value] ?? '#ERROR') : value ? 'TRUE' : 'FALSE';
        sheet.cell(data.readUInt16LE(0), data.readUInt16LE(2), text);
        break;
      }
      case RecordType.FORMULA: {
        need(data, 20);
        const row = data.readUInt16LE(0);
        const col = data.readUInt16LE(2);
        pendingString = null;
        // The cached result; formulas are never evaluated. 0xFFFF in its last two bytes marks a non-number.
        if (data.readUInt16LE(12) !== 0xffff) {
          number(row, col, data.readUInt16LE(4), data.readDoubleLE(6));
        } else if (data[6] === 0) {
          pendingString = { row, col };
        } else if (data[6] === 1) {
          sheet.cell(row, col, data[8] ? 'TRUE' : 'FALSE');
        } else if (data[6] === 2) {
          sheet.cell(row, col, ERRORS[data[8]!] ?? '#ERROR');
        }
        break;
      }
      case RecordType.STRING: {
        const text = readUnicodeString(new SegmentCursor([data, ...reader.continues()]), MAX_CELL_CHARS);
        if (pendingString) sheet.cell(pendingString.row, pendingString.col, text);
        pendingString = null;
        break;
      }
    }
  }
  return reader.walked;
}

/**
 * Every worksheet of a legacy Excel workbook (BIFF8 in an OLE2 container), with our own reader:
 * cells from LABELSST/LABEL/NUMBER/RK/MULRK/BOOLERR and FORMULA cached values (STRING follow-ups
 * included), formatted through their XF's number format. Sheet sizes come from the cells, never
 * from DIMENSIONS or any other count in the file.
 */
export function readXls(bytes: Buffer, limits: TableLimits, keepRows: number): Table[] {
  const found = readCfbStream(bytes, ['Workbook', 'Book']);
  if (!found) throw damagedRecord('no Workbook stream');
  if (found.name.toLowerCase() === 'book')
    throw unsupported('it was saved by Excel 95 or older (BIFF5); save it as .xlsx to preview');
  const stream = found.bytes;
  const { globals, walked } = readGlobals(stream, limits);
  // Sheets never overlap in a real file: reading more bytes than the stream holds means they do.
  let total = walked;
  const budget: CellBudget = { cells: 0 };
  return globals.sheets.map(({ name, offset }) => {
    const sheet = new SheetBuilder(name, limits, keepRows, budget);
    total += readSheet(stream, offset, sheet, globals);
    if (total > stream.byteLength) throw damagedRecord('its sheets overlap');
    return sheet.finish();
  });
}
