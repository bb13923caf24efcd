/**
 * The xls reader (BIFF8 in an OLE2 container), called directly, on workbooks from our test-only
 * writer: every kind of cell, cached formula results, strings split across CONTINUE records, the
 * mini stream; then cut into hostile shapes (truncated, looping chains, lying counts, overlapping
 * sheets) and fuzzed: every file ends in a table or a PreviewError, never a hang or a crash.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readXls } from '../../proxy/previews/sheets/xls-read.ts';
import {
  compoundFile,
  firstFatOffset,
  labelSst,
  number,
  record,
  SAMPLE_WORKBOOK,
  T,
  workbookStream,
  type WorkbookSpec,
} from './biff8-writer.ts';
import { LIMITS, mutations, readsOrRefuses, refusal } from './reader-helpers.ts';

const xls = (spec: WorkbookSpec) => compoundFile('Workbook', workbookStream(spec));

describe('xls: BIFF8 in an OLE2 container', () => {
  const sample = SAMPLE_WORKBOOK;

  it('cells of every kind, formula results as cached (never evaluated), numbers through their formats', () => {
    const [sheet, empty] = readXls(xls(sample), LIMITS, 100);
    assert.deepEqual(sheet, {
      name: 'Données',
      rows: [
        ['name', 'value'],
        ['25.60%', '2024-03-05'],
        ['7', '-3', '12.34'],
        ['42.5', 'from the cache', 'TRUE', '#DIV/0!'],
        ['FALSE', '#N/A'],
        ['', '', '', '', 'label'],
      ],
      rowCount: 6,
      columnCount: 5,
    });
    assert.deepEqual(empty, { name: 'Empty', rows: [], rowCount: 0, columnCount: 0 });
  });

  it('the 1904 date system', () => {
    const [sheet] = readXls(
      xls({ date1904: true, xfFormats: [14], sheets: [{ name: 'S', cells: [number(0, 0, 1, 43894)] }] }),
      LIMITS,
      10,
    );
    assert.deepEqual(sheet!.rows, [['2024-03-05']]);
  });

  it('a shared string split across a CONTINUE record, going on in 16-bit characters', () => {
    const long = 'a'.repeat(50) + 'Ωmega ✓';
    const [sheet] = readXls(
      xls({ strings: ['x', long], splitLastStringAt: 50, sheets: [{ name: 'S', cells: [labelSst(0, 0, 1)] }] }),
      LIMITS,
      10,
    );
    assert.equal(sheet!.rows[0]![0], long);
  });

  it('a stream of 4 KB or more is read from regular sectors, a smaller one from the mini stream', () => {
    const cells = Array.from({ length: 400 }, (_, i) => number(i, 0, 0, i));
    const big = xls({ sheets: [{ name: 'S', cells }] });
    const [sheet] = readXls(big, LIMITS, 1000);
    assert.equal(sheet!.rowCount, 400);
    assert.equal(sheet!.rows[399]![0], '399');
    assert.ok(workbookStream(sample).byteLength < 4096, 'the sample is small enough for the mini stream');
  });

  it('limits: rows, cells across sheets', async () => {
    const cells = Array.from({ length: 30 }, (_, i) => number(i, 0, 0, i));
    const twice = xls({
      sheets: [
        { name: 'A', cells },
        { name: 'B', cells },
      ],
    });
    const rows = await refusal(() => readXls(twice, { ...LIMITS, maxRows: 20 }, 10));
    assert.equal(rows.code, 'ERR_PREVIEW_TOO_MANY_ROWS');
    const total = await refusal(() => readXls(twice, { ...LIMITS, maxCells: 50 }, 10));
    assert.equal(total.code, 'ERR_PREVIEW_TOO_MANY_CELLS');
  });

  it('encrypted and Excel 95 files say why (422 unsupported); anything else is unreadable', async () => {
    const encrypted = xls({ extraGlobals: [record(T.FILEPASS, Buffer.alloc(6))], sheets: [] });
    assert.match((await refusal(() => readXls(encrypted, LIMITS, 10))).message, /encrypted/);
    const biff5 = compoundFile('Book', workbookStream({ sheets: [] }));
    const old = await refusal(() => readXls(biff5, LIMITS, 10));
    assert.equal(old.code, 'ERR_PREVIEW_UNSUPPORTED');
    assert.match(old.message, /Excel 95/);
    for (const junk of [
      Buffer.from('x'),
      Buffer.alloc(4096),
      Buffer.from('PK\u0003\u0004 not an ole2 file at all'.repeat(40)),
    ]) {
      assert.equal((await refusal(() => readXls(junk, LIMITS, 10))).code, 'ERR_PREVIEW_UNREADABLE');
    }
  });

  it('a truncated file is unreadable, not a partial table', async () => {
    const file = xls({ sheets: [{ name: 'S', cells: Array.from({ length: 400 }, (_, i) => number(i, 0, 0, i)) }] });
    for (const length of [600, 2048, file.length - 700]) {
      assert.equal((await refusal(() => readXls(file.subarray(0, length), LIMITS, 10))).code, 'ERR_PREVIEW_UNREADABLE');
    }
  });

  it('a sector chain that loops, a DIFAT that loops with a count of 4 billion: refused, not followed forever', async () => {
    const file = xls({ sheets: [{ name: 'S', cells: Array.from({ length: 400 }, (_, i) => number(i, 0, 0, i)) }] });
    const looped = Buffer.from(file);
    // The stream starts at sector 0: make sector 1 point back at sector 0.
    looped.writeUInt32LE(0, firstFatOffset(looped) + 4);
    assert.match((await refusal(() => readXls(looped, LIMITS, 10))).message, /loops/);
    const difat = Buffer.from(file);
    difat.writeUInt32LE(0xffffffff, 0x2c); // 4 billion FAT sectors
    difat.writeUInt32LE(0, 0x44); // DIFAT starts at sector 0…
    difat.writeUInt32LE(0xffffffff, 0x48); // …and claims 4 billion sectors
    assert.equal((await refusal(() => readXls(difat, LIMITS, 10))).code, 'ERR_PREVIEW_UNREADABLE');
    // Past 109 FAT sectors the list goes on in DIFAT sectors: make the first one point at itself.
    const big = xls({ sheets: [{ name: 'S', cells: Array.from({ length: 8000 }, (_, i) => number(i, 0, 0, i)) }] });
    const sectors = big.length / 512 - 1;
    assert.ok(sectors > 109 + 127, `enough sectors to need a second DIFAT sector (${sectors})`);
    const selfDifat = Buffer.from(big);
    selfDifat.writeUInt32LE(sectors, 0x2c);
    selfDifat.writeUInt32LE(0, 0x44);
    selfDifat.writeUInt32LE(0xffffffff, 0x48);
    selfDifat.writeUInt32LE(0, 512 + 127 * 4); // sector 0's "next DIFAT sector" is itself
    assert.match((await refusal(() => readXls(selfDifat, LIMITS, 10))).message, /DIFAT chain is broken or loops/);
  });

  it('a stream or a string that claims more bytes than exist: refused before anything is allocated for it', async () => {
    const file = xls(sample);
    const huge = Buffer.from(file);
    // The stream's directory entry (the second, in the directory sector) claims 4 GB - 1.
    const directory = (huge.readUInt32LE(0x30) + 1) * 512;
    huge.writeUInt32LE(0xffffffff, directory + 128 + 120);
    assert.match((await refusal(() => readXls(huge, LIMITS, 10))).message, /claims more bytes/);
    const sst = workbookStream({ strings: ['a', 'b'], sheets: [{ name: 'S', cells: [labelSst(0, 0, 1)] }] });
    const at = sst.indexOf(Buffer.from([0xfc, 0x00]));
    const lying = Buffer.from(sst);
    lying.writeUInt32LE(0xffffffff, at + 4); // cstTotal
    lying.writeUInt32LE(0xffffffff, at + 8); // cstUnique: only the strings that are there are read
    const [sheet] = readXls(compoundFile('Workbook', lying), LIMITS, 10);
    assert.deepEqual(sheet!.rows, [['b']]);
    const longString = Buffer.from(sst);
    longString.writeUInt16LE(0xffff, at + 12); // the first string claims 65,535 characters
    assert.match((await refusal(() => readXls(compoundFile('Workbook', longString), LIMITS, 10))).message, /string/);
  });

  it('a thousand sheets pointing at one substream are refused, not read a thousand times', async () => {
    const stream = workbookStream({
      sheets: [{ name: 'S', cells: Array.from({ length: 50 }, (_, i) => number(i, 0, 0, i)) }],
    });
    const boundSheet = stream.indexOf(Buffer.from([0x85, 0x00]));
    const size = 4 + stream.readUInt16LE(boundSheet + 2);
    const copies = Buffer.concat(Array.from({ length: 1000 }, () => stream.subarray(boundSheet, boundSheet + size)));
    // Every copy's offset must move by the bytes inserted before the sheet.
    const inserted = copies.byteLength - size;
    for (let i = 0; i < 1000; i++) copies.writeUInt32LE(stream.readUInt32LE(boundSheet + 4) + inserted, i * size + 4);
    const many = Buffer.concat([stream.subarray(0, boundSheet), copies, stream.subarray(boundSheet + size)]);
    assert.match((await refusal(() => readXls(compoundFile('Workbook', many), LIMITS, 10))).message, /overlap/);
  });

  it('fuzz: 600 mutations of a workbook read to a table or a PreviewError', async () => {
    const small = xls(sample);
    const large = xls({
      ...sample,
      sheets: [{ name: 'S', cells: Array.from({ length: 400 }, (_, i) => number(i, i % 5, 0, i)) }],
    });
    for (const file of mutations(small, 300, 1)) await readsOrRefuses(() => readXls(file, LIMITS, 100));
    for (const file of mutations(large, 300, 2)) await readsOrRefuses(() => readXls(file, LIMITS, 100));
  });
});
