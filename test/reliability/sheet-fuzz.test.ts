/**
 * Issue 27: the three spreadsheet readers (xls, xlsx, ods) fuzzed through the real preview path,
 * on a sidecar in a process of its own: every file is uploaded through the files API and its
 * preview asked for, so it is read on a render worker exactly as a user's would be. The files
 * are hand-crafted attacks (entity expansion, external entities, cells at the grid's far corner,
 * repeat counts in the billions, sector chains that loop, an SST that claims four billion
 * strings, hostile number formats) and structure-aware mutations of a valid workbook of each
 * kind, from a fixed seed (so a failure replays): XML attributes and text swapped for hostile
 * values, elements repeated or cut off, BIFF records with their fields at the extremes,
 * repeated, dropped or resized, and plain byte damage.
 *
 * Each preview must be a table (200) or a refusal with its code (413, 422): never a 500, never a
 * dropped connection, never a render that runs into the timeout (a hang), never a file read from
 * the server's disk; the sidecar must still answer /health afterwards, and its peak RSS (VmHWM)
 * must stay under PEAK_RSS_BOUND for the whole run (a memory spike).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FileSummary } from '../../contract/files-api.ts';
import {
  compoundFile,
  firstFatOffset,
  number,
  SAMPLE_WORKBOOK,
  workbookStream,
  type WorkbookSpec,
} from '../previews/biff8-writer.ts';
import { zipOf } from '../previews/hostile-files.ts';
import { LIMITS, mutations, random } from '../previews/reader-helpers.ts';
import { PreviewError } from '../../proxy/previews/preview-errors.ts';
import { readOds } from '../../proxy/previews/sheets/ods-read.ts';
import { readXls } from '../../proxy/previews/sheets/xls-read.ts';
import { readXlsx } from '../../proxy/previews/sheets/xlsx-read.ts';
import { MiB, mib, startChildSidecar, type ChildSidecar } from './child-sidecar.ts';
import { refused, reportAfter, survived } from './reliability-counter.ts';

reportAfter('sheet-fuzz');

/**
 * Mutated files per format previewed through the sidecar: each render starts a fresh worker
 * (about a second under tsx), so this stage is kept small; the readers the worker runs take the
 * bulk of the mutations in this process (IN_PROCESS_PER_FORMAT, milliseconds each).
 */
const MUTATIONS_PER_FORMAT = 6;
const IN_PROCESS_PER_FORMAT = 400;
const SEED = 27;
/** An idle sidecar is ~100 MiB; each render worker adds its own heap (capped by --preview-worker-heap-mb). */
const PEAK_RSS_BOUND = 512 * MiB;
/** The refusals a hostile file may end in. */
const REFUSALS = new Set([
  'ERR_PREVIEW_TOO_LARGE',
  'ERR_PREVIEW_UNZIPPED_TOO_LARGE',
  'ERR_PREVIEW_TOO_MANY_ROWS',
  'ERR_PREVIEW_TOO_MANY_COLUMNS',
  'ERR_PREVIEW_TOO_MANY_CELLS',
  'ERR_PREVIEW_ANSWER_TOO_LARGE',
  'ERR_PREVIEW_UNSUPPORTED',
  'ERR_PREVIEW_UNREADABLE',
]);

let dir: string;
let sidecar: ChildSidecar;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gf-sheet-fuzz-'));
  sidecar = await startChildSidecar(dir);
});

after(async () => {
  await sidecar?.stop();
  await rm(dir, { recursive: true, force: true });
});

const zip = zipOf;

const NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
const REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

/** A valid xlsx's parts: shared strings, styles with custom formats, a merged range, a formula. */
function xlsxParts(sheet: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    '[Content_Types].xml':
      '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
    '_rels/.rels': `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="r1" Type="${REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    'xl/workbook.xml': `<workbook ${NS} xmlns:r="${REL}"><sheets><sheet name="Data" sheetId="1" r:id="s1"/></sheets></workbook>`,
    'xl/_rels/workbook.xml.rels': `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="s1" Type="${REL}/worksheet" Target="sheet1.xml"/><Relationship Id="st" Type="${REL}/styles" Target="styles.xml"/><Relationship Id="ss" Type="${REL}/sharedStrings" Target="strings.xml"/></Relationships>`,
    'xl/strings.xml': `<sst ${NS} count="3" uniqueCount="3"><si><t>name</t></si><si><r><t>ri</t></r><r><t>ch</t></r></si><si><t xml:space="preserve"> value </t></si></sst>`,
    'xl/styles.xml': `<styleSheet ${NS}><numFmts count="2"><numFmt numFmtId="170" formatCode="#,##0.00\\ &quot;€&quot;"/><numFmt numFmtId="171" formatCode="[$-409]d\\-mmm\\-yy;@"/></numFmts><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="170"/><xf numFmtId="14"/><xf numFmtId="171"/></cellXfs></styleSheet>`,
    'xl/sheet1.xml': sheet,
    ...extra,
  };
}

const XLSX_SHEET =
  `<worksheet ${NS}><dimension ref="A1:D4"/><sheetData>` +
  '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>' +
  '<row r="2"><c r="A2" s="1"><v>1234.5</v></c><c r="B2" s="2"><v>43894</v></c><c r="C2" s="3"><v>45000</v></c><c r="D2" t="b"><v>1</v></c></row>' +
  '<row r="3"><c r="A3" t="inlineStr"><is><t>inline</t></is></c><c r="B3" t="str"><f>A3&amp;"!"</f><v>inline!</v></c><c r="C3" t="e"><v>#DIV/0!</v></c></row>' +
  '<row r="4" spans="1:4"><c r="D4"><v>-0.000001</v></c></row></sheetData><mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells></worksheet>';

const ODS_NAMESPACES =
  'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"';

function odsParts(body: string, prolog = ''): Record<string, string> {
  return {
    mimetype: 'application/vnd.oasis.opendocument.spreadsheet',
    'content.xml': `<?xml version="1.0" encoding="UTF-8"?>${prolog}<office:document-content ${ODS_NAMESPACES} office:version="1.3"><office:body><office:spreadsheet>${body}</office:spreadsheet></office:body></office:document-content>`,
  };
}

const ODS_TABLE =
  '<table:table table:name="Data"><table:table-column table:number-columns-repeated="3"/>' +
  '<table:table-row><table:table-cell office:value-type="string"><text:p>name</text:p></table:table-cell><table:table-cell table:number-columns-spanned="2" office:value-type="string"><text:p>a <text:span>rich</text:span><text:s text:c="3"/>cell</text:p></table:table-cell><table:covered-table-cell/></table:table-row>' +
  '<table:table-row table:number-rows-repeated="2"><table:table-cell office:value-type="float" office:value="1234.5"/><table:table-cell office:value-type="date" office:date-value="2024-03-05T10:00:00"/><table:table-cell office:value-type="percentage" office:value="0.125"/></table:table-row>' +
  '<table:table-row><table:table-cell office:value-type="boolean" office:boolean-value="true"/><table:table-cell table:number-columns-repeated="2" office:value-type="currency" office:currency="EUR" office:value="-3"/></table:table-row></table:table>';

/** The reader tests' workbook, with a format of two sections and a negative number that uses it. */
const XLS_SAMPLE: WorkbookSpec = {
  ...SAMPLE_WORKBOOK,
  formats: [...SAMPLE_WORKBOOK.formats!, [165, '#,##0.00 "€";[Red]-#,##0.00 "€"']],
  xfFormats: [...SAMPLE_WORKBOOK.xfFormats!, 165],
  sheets: [{ ...SAMPLE_WORKBOOK.sheets[0]!, cells: [...SAMPLE_WORKBOOK.sheets[0]!.cells, number(6, 2, 3, -1234.5)] }],
};

/** Values a hostile file puts where the readers expect a count, an index, a reference or a format. */
const HOSTILE_VALUES = [
  '-1',
  '0',
  '4294967295',
  '4294967296',
  '9007199254740993',
  '1e308',
  '-1e308',
  'NaN',
  'Infinity',
  'XFD1048576',
  'A0',
  'ZZZZZZ99999999',
  'A1:XFD1048576',
  '',
  ' ',
  '&#0;',
  '&#xD800;',
  '9'.repeat(400),
  '[$-F800]dddd\\,\\ mmmm\\ dd\\,\\ yyyy',
  '0'.repeat(300) + '.' + '#'.repeat(300),
  '#,##0;;;@;@;@',
  '[h]:mm:ss.000000000',
  '0.00E+00E+00',
  '[<0][Red]0;[>1e300]0;0',
  '"',
  '\\',
  'yyyy'.repeat(200),
];

/** XML text mutated at one place: an attribute's value, a text node, an element repeated or cut. */
function mutateXml(xml: string, next: () => number): string {
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  const kind = Math.floor(next() * 5);
  if (kind === 0) {
    const attrs = [...xml.matchAll(/="([^"]*)"/g)];
    if (attrs.length === 0) return xml;
    const m = pick(attrs);
    const value = pick(HOSTILE_VALUES).replace(/"/g, '&quot;');
    return xml.slice(0, m.index! + 2) + value + xml.slice(m.index! + 2 + m[1]!.length);
  }
  if (kind === 1) {
    const texts = [...xml.matchAll(/>([^<]+)</g)];
    if (texts.length === 0) return xml;
    const m = pick(texts);
    return xml.slice(0, m.index! + 1) + pick(HOSTILE_VALUES) + xml.slice(m.index! + 1 + m[1]!.length);
  }
  if (kind === 2) {
    // An element (with what it holds, when it closes on the same name) repeated many times.
    const opens = [...xml.matchAll(/<([\w:]+)[^>]*?(\/?)>/g)];
    if (opens.length === 0) return xml;
    const m = pick(opens);
    const end = m[2] ? m.index! + m[0].length : xml.indexOf(`</${m[1]}>`, m.index!);
    if (end < 0) return xml;
    const stop = m[2] ? end : end + m[1]!.length + 3;
    const element = xml.slice(m.index!, stop);
    return xml.slice(0, stop) + element.repeat(1 + Math.floor(next() * 200)) + xml.slice(stop);
  }
  if (kind === 3) return xml.slice(0, Math.floor(next() * xml.length));
  // A deep nest of unknown elements where one element stood.
  const at = xml.indexOf('<', Math.floor(next() * xml.length));
  if (at < 0) return xml;
  const depth = 1 + Math.floor(next() * 5000);
  return xml.slice(0, at) + '<x>'.repeat(depth) + '</x>'.repeat(depth) + xml.slice(at);
}

/** One part of a zip-based workbook mutated (1 to 3 times), zipped again. */
async function mutatedZips(
  parts: Record<string, string>,
  count: number,
  seed: number,
  stored: string[] = [],
): Promise<Buffer[]> {
  const next = random(seed);
  const names = Object.keys(parts).filter((n) => n.endsWith('.xml') || n.endsWith('.rels'));
  const files: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const copy = { ...parts };
    for (let n = 0; n < 1 + Math.floor(next() * 3); n++) {
      const name = names[Math.floor(next() * names.length)]!;
      copy[name] = mutateXml(copy[name]!, next);
    }
    files.push(await zip(copy, stored));
  }
  return files;
}

/** BIFF records of a Workbook stream: [offset, type, size]. */
function records(stream: Buffer): Array<[offset: number, type: number, size: number]> {
  const found: Array<[number, number, number]> = [];
  for (let at = 0; at + 4 <= stream.byteLength;) {
    const size = stream.readUInt16LE(at + 2);
    found.push([at, stream.readUInt16LE(at), size]);
    at += 4 + size;
  }
  return found;
}

const EXTREMES_16 = [0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff];
const EXTREMES_32 = [0, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** The Workbook stream with one record damaged as an attacker would: fields at extremes, repeated, dropped or resized. */
function mutatedXls(spec: WorkbookSpec, count: number, seed: number): Buffer[] {
  const next = random(seed);
  const stream = workbookStream(spec);
  const all = records(stream);
  const files: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const [at, , size] = all[Math.floor(next() * all.length)]!;
    const whole = stream.subarray(at, at + 4 + size);
    let damaged: Buffer;
    const kind = Math.floor(next() * 5);
    if (kind === 0 && size >= 2) {
      const record = Buffer.from(whole);
      for (let n = 0; n < 1 + Math.floor(next() * 3); n++) {
        const field = 4 + 2 * Math.floor((next() * (size - 1)) / 2);
        if (field + 4 <= record.byteLength && next() < 0.5)
          record.writeUInt32LE(EXTREMES_32[Math.floor(next() * EXTREMES_32.length)]!, field);
        else record.writeUInt16LE(EXTREMES_16[Math.floor(next() * EXTREMES_16.length)]!, field);
      }
      damaged = record;
    } else if (kind === 1) damaged = Buffer.concat(Array.from({ length: 2 + Math.floor(next() * 300) }, () => whole));
    else if (kind === 2) damaged = Buffer.alloc(0);
    else if (kind === 3) {
      const record = Buffer.from(whole);
      record.writeUInt16LE(EXTREMES_16[Math.floor(next() * EXTREMES_16.length)]!, 2);
      damaged = record;
    } else damaged = whole.subarray(0, 4 + Math.floor(next() * size));
    files.push(
      compoundFile('Workbook', Buffer.concat([stream.subarray(0, at), damaged, stream.subarray(at + 4 + size)])),
    );
  }
  return files;
}

/** Hand-crafted attacks, each named. */
async function handCrafted(): Promise<Array<[name: string, file: Buffer]>> {
  const laughs =
    '<!DOCTYPE lolz [<!ENTITY lol "lollollollollollollollollollol">' +
    Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('') +
    ']>';
  const external = '<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>';
  const xls = (spec: WorkbookSpec) => compoundFile('Workbook', workbookStream(spec));
  const loopingFat = Buffer.from(
    xls({ ...XLS_SAMPLE, sheets: [{ name: 'S', cells: Array.from({ length: 400 }, (_, i) => number(i, 0, 0, i)) }] }),
  );
  // Every FAT entry points at the sector itself: each chain loops at its first step.
  const fat = firstFatOffset(loopingFat);
  for (let i = 0; i < 128; i++)
    if (loopingFat.readUInt32LE(fat + i * 4) < 0xfffffffa) loopingFat.writeUInt32LE(i, fat + i * 4);
  const hugeSst = workbookStream(XLS_SAMPLE);
  const sst = hugeSst.indexOf(Buffer.from([0xfc, 0x00]));
  hugeSst.writeUInt32LE(0xffffffff, sst + 4);
  hugeSst.writeUInt32LE(0xffffffff, sst + 8);
  return [
    [
      'xlsx billion laughs',
      await zip(
        xlsxParts(XLSX_SHEET.replace('<worksheet', `${laughs}<worksheet`).replace('<v>1234.5</v>', '<v>&lol9;</v>')),
      ),
    ],
    [
      'xlsx external entity',
      await zip(
        xlsxParts(
          XLSX_SHEET.replace('<worksheet', `${external}<worksheet`).replace('<t>inline</t>', '<t>&secret;</t>'),
        ),
      ),
    ],
    [
      'xlsx far corner',
      await zip(
        xlsxParts(
          `<worksheet ${NS}><dimension ref="A1:XFD1048576"/><sheetData><row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>`,
        ),
      ),
    ],
    [
      'xlsx string index past the table',
      await zip(
        xlsxParts(
          `<worksheet ${NS}><sheetData><row r="1"><c r="A1" t="s"><v>4294967294</v></c><c r="B1" t="s"><v>-1</v></c></row></sheetData></worksheet>`,
        ),
      ),
    ],
    [
      'xlsx deep nesting',
      await zip(
        xlsxParts(
          `<worksheet ${NS}><sheetData>${'<row>'.repeat(100_000)}${'</row>'.repeat(100_000)}</sheetData></worksheet>`,
        ),
      ),
    ],
    [
      'xlsx 50,000 styles',
      await zip(
        xlsxParts(XLSX_SHEET, {
          'xl/styles.xml': `<styleSheet ${NS}><cellXfs>${'<xf numFmtId="170"/>'.repeat(50_000)}</cellXfs></styleSheet>`,
        }),
      ),
    ],
    [
      'xlsx relationship cycle',
      await zip({
        ...xlsxParts(XLSX_SHEET),
        'xl/_rels/workbook.xml.rels': `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="s1" Type="${REL}/worksheet" Target="workbook.xml"/></Relationships>`,
      }),
    ],
    [
      'ods billion laughs',
      await zip(odsParts(ODS_TABLE.replace('<text:p>name</text:p>', '<text:p>&lol9;</text:p>'), laughs), ['mimetype']),
    ],
    [
      'ods external entity',
      await zip(odsParts(ODS_TABLE.replace('<text:p>name</text:p>', '<text:p>&secret;</text:p>'), external), [
        'mimetype',
      ]),
    ],
    [
      'ods a billion repeated columns and rows',
      await zip(
        odsParts(
          '<table:table table:name="T"><table:table-row table:number-rows-repeated="1073741823"><table:table-cell table:number-columns-repeated="1073741823" office:value-type="float" office:value="1"/></table:table-row></table:table>',
        ),
        ['mimetype'],
      ),
    ],
    [
      'ods spaces repeated a billion times',
      await zip(
        odsParts(
          '<table:table table:name="T"><table:table-row><table:table-cell office:value-type="string"><text:p><text:s text:c="1000000000"/></text:p></table:table-cell></table:table-row></table:table>',
        ),
        ['mimetype'],
      ),
    ],
    [
      'ods 10,000 sheets',
      await zip(
        odsParts(
          '<table:table table:name="T"><table:table-row><table:table-cell/></table:table-row></table:table>'.repeat(
            10_000,
          ),
        ),
        ['mimetype'],
      ),
    ],
    ['xls looping sector chains', loopingFat],
    ['xls SST claiming four billion strings', compoundFile('Workbook', hugeSst)],
    [
      'xls hostile number formats',
      xls({
        ...XLS_SAMPLE,
        formats: HOSTILE_VALUES.slice(-9).map((code, i) => [164 + i, code] as [number, string]),
        xfFormats: HOSTILE_VALUES.slice(-9).map((_, i) => 164 + i),
        sheets: [
          { name: 'F', cells: Array.from({ length: 9 }, (_, i) => number(0, i, i + 1, i % 2 ? -1e300 : 45356.75)) },
        ],
      }),
    ],
  ];
}

let uploads = 0;

/** Uploads the file and asks for its preview: a table or a refusal with its code, never anything else. */
async function previewOf(name: string, extension: string, file: Buffer): Promise<void> {
  const chat = `fuzz-${extension}`;
  const fileName = `f${++uploads}.${extension}`;
  const api = `${sidecar.base}sidecar/v1/chats/${chat}/`;
  const put = await fetch(`${api}uploads/${fileName}`, { method: 'PUT', body: new Uint8Array(file) });
  assert.equal(put.status, 201, `${name}: upload ${await put.clone().text()}`);
  const summary = (await put.json()) as FileSummary;
  const res = await fetch(`${api}files/${summary.id}/preview`);
  const text = await res.text();
  assert.ok(!text.includes('root:x:0:0'), `${name}: a file of the server's disk in the answer`);
  if (res.status === 200) {
    JSON.parse(text);
    survived();
    return;
  }
  const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? '';
  assert.ok(REFUSALS.has(code), `${name}: HTTP ${res.status} ${text.slice(0, 300)}`);
  refused();
}

test('hand-crafted hostile workbooks: each previews as a table or is refused with its code', async () => {
  for (const [name, file] of await handCrafted()) {
    const extension = name.split(' ')[0]!;
    await previewOf(name, extension, file);
  }
});

/** Mutated files of each format, from the seed: `count` each. */
async function mutatedCases(count: number): Promise<Array<[name: string, extension: string, file: Buffer]>> {
  const cases: Array<[string, string, Buffer]> = [];
  const xlsx = await mutatedZips(xlsxParts(XLSX_SHEET), count, SEED);
  const ods = await mutatedZips(odsParts(ODS_TABLE), count, SEED + 1, ['mimetype']);
  const bytes = Math.ceil(count / 4);
  const xls = [
    ...mutatedXls(XLS_SAMPLE, count - bytes, SEED + 2),
    ...mutations(compoundFile('Workbook', workbookStream(XLS_SAMPLE)), bytes, SEED + 3),
  ];
  xlsx.forEach((file, i) => cases.push([`xlsx mutation ${i}`, 'xlsx', file]));
  ods.forEach((file, i) => cases.push([`ods mutation ${i}`, 'ods', file]));
  xls.forEach((file, i) => cases.push([`xls mutation ${i}`, 'xls', file]));
  return cases;
}

test(`${MUTATIONS_PER_FORMAT} mutations of each format (seed ${SEED}) through the sidecar: a table or a refusal`, async () => {
  for (const [name, extension, file] of await mutatedCases(MUTATIONS_PER_FORMAT))
    await previewOf(name, extension, file);
});

test(`${IN_PROCESS_PER_FORMAT} mutations of each format (seed ${SEED}) through the readers the worker runs`, async () => {
  const read = {
    xlsx: (file: Buffer) => readXlsx(file, LIMITS, 100),
    ods: (file: Buffer) => readOds(file, LIMITS, 100),
    xls: (file: Buffer) => readXls(file, LIMITS, 100),
  };
  for (const [name, extension, file] of await mutatedCases(IN_PROCESS_PER_FORMAT)) {
    try {
      await read[extension as keyof typeof read](file);
      survived();
    } catch (error) {
      assert.ok(error instanceof PreviewError, `${name}: a PreviewError, not ${String((error as Error)?.stack)}`);
      refused();
    }
  }
});

test('the sidecar still answers, and its peak memory stayed bounded', async () => {
  const health = await fetch(`${sidecar.base}sidecar/v1/health/live`);
  assert.equal(health.status, 200);
  const peak = sidecar.peakRss();
  console.log(
    `# sheet fuzz: ${uploads} files previewed; peak RSS ${mib(peak)} (idle ${mib(sidecar.idleRss)}, bound ${mib(PEAK_RSS_BOUND)})`,
  );
  assert.ok(peak < PEAK_RSS_BOUND, `peak RSS ${mib(peak)}`);
});
