/**
 * A tiny BIFF8 writer in an OLE2 container, test-only, written from [MS-XLS] and [MS-CFB]: it
 * makes what xlwt cannot (formulas with cached values and their STRING follow-ups, MULRK, a shared
 * string split across CONTINUE records with a change of width, a stream small enough for the
 * mini stream), and it is the base the hostile .xls files are cut from.
 */

export const T = {
  BOF: 0x0809,
  EOF: 0x000a,
  CONTINUE: 0x003c,
  DATEMODE: 0x0022,
  FORMAT: 0x041e,
  XF: 0x00e0,
  BOUNDSHEET8: 0x0085,
  SST: 0x00fc,
  LABELSST: 0x00fd,
  NUMBER: 0x0203,
  RK: 0x027e,
  MULRK: 0x00bd,
  BOOLERR: 0x0205,
  FORMULA: 0x0006,
  STRING: 0x0207,
  FILEPASS: 0x002f,
} as const;

const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const f64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(n);
  return b;
};

export function record(type: number, ...payload: Buffer[]): Buffer {
  const data = Buffer.concat(payload);
  return Buffer.concat([u16(type), u16(data.byteLength), data]);
}

/** An XLUnicodeString, 16-bit characters. */
export const unicode = (text: string) =>
  Buffer.concat([u16(text.length), Buffer.from([1]), Buffer.from(text, 'utf16le')]);

const cell = (row: number, col: number, xf: number) => Buffer.concat([u16(row), u16(col), u16(xf)]);

export const number = (row: number, col: number, xf: number, value: number) =>
  record(T.NUMBER, cell(row, col, xf), f64(value));
export const labelSst = (row: number, col: number, index: number) => record(T.LABELSST, cell(row, col, 0), u32(index));
export const boolErr = (row: number, col: number, value: number, isError: boolean) =>
  record(T.BOOLERR, cell(row, col, 0), Buffer.from([value, isError ? 1 : 0]));
/** An RK holding an integer (fInt), so it is exact. */
export const rkInt = (n: number) => ((n << 2) | 0x02) >>> 0;
export const rk = (row: number, col: number, xf: number, value: number) => record(T.RK, cell(row, col, xf), u32(value));
export const mulRk = (row: number, first: number, values: Array<[xf: number, rk: number]>) =>
  record(
    T.MULRK,
    u16(row),
    u16(first),
    ...values.map(([xf, value]) => Buffer.concat([u16(xf), u32(value)])),
    u16(first + values.length - 1),
  );

/** A FORMULA's cached result: a number, or a marker for a string (in the next STRING record), a boolean, an error. */
export function formula(row: number, col: number, xf: number, cached: number | 'string' | boolean | { error: number }) {
  let value: Buffer;
  if (typeof cached === 'number') value = f64(cached);
  else {
    value = Buffer.alloc(8);
    value.writeUInt16LE(0xffff, 6);
    if (cached === 'string') value[0] = 0;
    else if (typeof cached === 'boolean') value.set([1, 0, cached ? 1 : 0]);
    else value.set([2, 0, cached.error]);
  }
  // grbit, chn, then the parsed formula: `1` (ptgInt), which nothing here evaluates.
  return record(T.FORMULA, cell(row, col, xf), value, u16(0), u32(0), u16(3), Buffer.from([0x1e, 1, 0]));
}
export const stringResult = (text: string) => record(T.STRING, unicode(text));

const bof = (kind: number) => record(T.BOF, u16(0x0600), u16(kind), u16(0x0dbb), u16(0x07cc), u32(0), u32(0x0006));
const xf = (formatId: number) => record(T.XF, u16(0), u16(formatId), Buffer.alloc(16));

/**
 * The shared strings, 8-bit where they fit; `splitAt` cuts the SST's payload into a CONTINUE at
 * that many characters into the last string, which goes on as 16-bit characters (the width
 * change a reader must take from the CONTINUE's own flags byte).
 */
function sst(strings: string[], splitAt?: number): Buffer {
  const head = Buffer.concat([u32(strings.length), u32(strings.length)]);
  const body = strings
    .slice(0, -1)
    .map((s) => Buffer.concat([u16(s.length), Buffer.from([0]), Buffer.from(s, 'latin1')]));
  const last = strings.at(-1) ?? '';
  if (splitAt === undefined) {
    const whole = Buffer.concat([u16(last.length), Buffer.from([0]), Buffer.from(last, 'latin1')]);
    return record(T.SST, head, ...body, ...(strings.length ? [whole] : []));
  }
  const first = Buffer.concat([u16(last.length), Buffer.from([0]), Buffer.from(last.slice(0, splitAt), 'latin1')]);
  const rest = Buffer.concat([Buffer.from([1]), Buffer.from(last.slice(splitAt), 'utf16le')]);
  return Buffer.concat([record(T.SST, head, ...body, first), record(T.CONTINUE, rest)]);
}

export interface SheetSpec {
  name: string;
  cells: Buffer[];
}

export interface WorkbookSpec {
  sheets: SheetSpec[];
  strings?: string[];
  splitLastStringAt?: number;
  /** Custom number formats: id → code; XF n (n >= 1) uses the n-th id given in `xfFormats`. */
  formats?: Array<[id: number, code: string]>;
  xfFormats?: number[];
  date1904?: boolean;
  /** Records put right after the globals' BOF (FILEPASS, for one). */
  extraGlobals?: Buffer[];
}

/** A workbook with a cell of every kind and two custom formats: the base the reader tests and the fuzz start from. */
export const SAMPLE_WORKBOOK: WorkbookSpec = {
  strings: ['name', 'value', 'label'],
  formats: [[164, '0.00%']],
  xfFormats: [164, 14],
  sheets: [
    {
      name: 'Données',
      cells: [
        labelSst(0, 0, 0),
        labelSst(0, 1, 1),
        number(1, 0, 1, 0.256),
        rk(1, 1, 2, rkInt(45356)),
        mulRk(2, 0, [
          [0, rkInt(7)],
          [0, rkInt(-3)],
          [0, (rkInt(1234) | 0x01) >>> 0],
        ]),
        formula(3, 0, 0, 42.5),
        formula(3, 1, 0, 'string'),
        stringResult('from the cache'),
        formula(3, 2, 0, true),
        formula(3, 3, 0, { error: 0x07 }),
        boolErr(4, 0, 0, false),
        boolErr(4, 1, 0x2a, true),
        labelSst(5, 4, 2),
      ],
    },
    { name: 'Empty', cells: [] },
  ],
};

/** The Workbook stream: globals (with each BOUNDSHEET8 pointing at its sheet), then the sheets. */
export function workbookStream(spec: WorkbookSpec): Buffer {
  const before = [
    bof(0x0005),
    ...(spec.extraGlobals ?? []),
    record(T.DATEMODE, u16(spec.date1904 ? 1 : 0)),
    ...(spec.formats ?? []).map(([id, code]) => record(T.FORMAT, u16(id), unicode(code))),
    xf(0),
    ...(spec.xfFormats ?? []).map(xf),
  ];
  const sheetNames = spec.sheets.map((s) =>
    Buffer.concat([Buffer.from([s.name.length, 1]), Buffer.from(s.name, 'utf16le')]),
  );
  const boundSheetSize = (i: number) => 4 + 6 + sheetNames[i]!.byteLength;
  const after = [sst(spec.strings ?? [], spec.splitLastStringAt), record(T.EOF)];
  let offset = [...before, ...after].reduce((n, b) => n + b.byteLength, 0);
  offset += spec.sheets.reduce((n, _s, i) => n + boundSheetSize(i), 0);
  const bodies = spec.sheets.map((s) => Buffer.concat([bof(0x0010), ...s.cells, record(T.EOF)]));
  const boundSheets = spec.sheets.map((_s, i) => {
    const at = offset;
    offset += bodies[i]!.byteLength;
    return record(T.BOUNDSHEET8, u32(at), Buffer.from([0, 0]), sheetNames[i]!);
  });
  return Buffer.concat([...before, ...boundSheets, ...after, ...bodies]);
}

const SECTOR = 512;
const END = 0xfffffffe;
const FREE = 0xffffffff;
const FAT_SECTOR = 0xfffffffd;
const NO_STREAM = 0xffffffff;

function directoryEntry(name: string, type: number, start: number, size: number, child = NO_STREAM): Buffer {
  const entry = Buffer.alloc(128);
  if (name) {
    entry.write(name, 0, 'utf16le');
    entry.writeUInt16LE((name.length + 1) * 2, 64);
  }
  entry[66] = type;
  entry[67] = 1; // black
  entry.writeUInt32LE(NO_STREAM, 68);
  entry.writeUInt32LE(NO_STREAM, 72);
  entry.writeUInt32LE(child, 76);
  entry.writeUInt32LE(start, 116);
  entry.writeUInt32LE(size, 120);
  return entry;
}

/**
 * An OLE2 container (version 3, 512-byte sectors) holding one stream. Below 4,096 bytes the
 * stream goes into the mini stream (64-byte sectors chained by the mini FAT), as the format says.
 */
export function compoundFile(streamName: string, data: Buffer): Buffer {
  const sectors: Buffer[] = [];
  const fat: number[] = [];
  const addChain = (bytes: Buffer): number => {
    const start = sectors.length;
    const count = Math.max(1, Math.ceil(bytes.byteLength / SECTOR));
    for (let i = 0; i < count; i++) {
      const sector = Buffer.alloc(SECTOR);
      bytes.copy(sector, 0, i * SECTOR, (i + 1) * SECTOR);
      sectors.push(sector);
      fat.push(i < count - 1 ? start + i + 1 : END);
    }
    return start;
  };
  let streamStart: number;
  let root = { start: END, size: 0 };
  let miniFat = { start: END, count: 0 };
  if (data.byteLength < 4096) {
    const miniSectors = Math.max(1, Math.ceil(data.byteLength / 64));
    const container = Buffer.alloc(miniSectors * 64);
    data.copy(container);
    root = { start: addChain(container), size: container.byteLength };
    const table = Buffer.alloc(SECTOR, 0xff);
    for (let i = 0; i < miniSectors; i++) table.writeUInt32LE(i < miniSectors - 1 ? i + 1 : END, i * 4);
    miniFat = { start: addChain(table), count: 1 };
    streamStart = 0;
  } else {
    streamStart = addChain(data);
  }
  const directory = Buffer.concat([
    directoryEntry('Root Entry', 5, root.start, root.size, 1),
    directoryEntry(streamName, 2, streamStart, data.byteLength),
    directoryEntry('', 0, 0, 0),
    directoryEntry('', 0, 0, 0),
  ]);
  const directoryStart = addChain(directory);
  let fatSectors = 1;
  while (fatSectors * (SECTOR / 4) < sectors.length + fatSectors) fatSectors++;
  const fatIds: number[] = [];
  for (let i = 0; i < fatSectors; i++) {
    fatIds.push(sectors.length);
    sectors.push(Buffer.alloc(SECTOR));
    fat.push(FAT_SECTOR);
  }
  const fatBytes = Buffer.alloc(fatSectors * SECTOR, 0xff);
  fat.forEach((next, i) => fatBytes.writeUInt32LE(next, i * 4));
  fatIds.forEach((id, i) => fatBytes.copy(sectors[id]!, 0, i * SECTOR, (i + 1) * SECTOR));

  const header = Buffer.alloc(SECTOR);
  Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(header);
  header.writeUInt16LE(0x003e, 0x18);
  header.writeUInt16LE(3, 0x1a);
  header.writeUInt16LE(0xfffe, 0x1c);
  header.writeUInt16LE(9, 0x1e);
  header.writeUInt16LE(6, 0x20);
  header.writeUInt32LE(fatSectors, 0x2c);
  header.writeUInt32LE(directoryStart, 0x30);
  header.writeUInt32LE(4096, 0x38);
  header.writeUInt32LE(miniFat.start, 0x3c);
  header.writeUInt32LE(miniFat.count, 0x40);
  header.writeUInt32LE(END, 0x44);
  header.writeUInt32LE(0, 0x48);
  for (let i = 0; i < 109; i++) header.writeUInt32LE(fatIds[i] ?? FREE, 0x4c + i * 4);
  return Buffer.concat([header, ...sectors]);
}

/** Where the FAT's first sector lies in a file this writer made (for the tests that break it). */
export const firstFatOffset = (file: Buffer) => (file.readUInt32LE(0x4c) + 1) * SECTOR;
