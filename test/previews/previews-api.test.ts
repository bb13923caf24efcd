/** Previews, diffs and restore through the files API, on real files and real HTTP. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { FileListResponse, FileSummary } from '../../contract/files-api.ts';
import type { DiffResponse, PreviewResponse } from '../../contract/files-api.ts';
import { seed, startApi, url, type ApiFixture } from '../support/api-fixture.ts';
import { compoundFile, number, workbookStream } from './biff8-writer.ts';
import { bigCsv, hostileDocx, lyingZipBomb, odsRow, odsWith, zipBomb } from './hostile-files.ts';
import { DOCX_PY, FORMATS_PY, HTML_PY, LEGACY_WORKBOOKS_PY, WORKBOOK_PY, runPython } from './python-files.ts';

async function fileAt(api: ApiFixture, chatId: string, rel: string): Promise<FileSummary> {
  const list = (await api.request.get(url(chatId, '/files')).expect(200)).body as FileListResponse;
  const file = list.files.find((f) => f.path === rel);
  assert.ok(file, `${rel} is listed`);
  return file;
}

const previewOf = (api: ApiFixture, chatId: string, file: { id: string }) =>
  api.request.get(url(chatId, `/files/${file.id}/preview`));

describe('previews', () => {
  let api: ApiFixture;
  afterEach(() => api.close());

  it('an openpyxl workbook: both sheets, the header and the first 100 rows, dates as dates, full counts, formula-like text as text; cached by hash', async () => {
    api = await startApi();
    const dir = await api.write('c1', 'keep.txt', 'x').then((p) => path.dirname(p));
    await runPython(WORKBOOK_PY(dir));
    await seed(api, 'c1', {});
    const file = await fileAt(api, 'c1', 'report.xlsx');
    const res = await previewOf(api, 'c1', file).expect(200).expect('content-type', /json/);
    const { preview } = res.body as PreviewResponse;
    assert.equal(preview.kind, 'table');
    if (preview.kind !== 'table') return;
    assert.deepEqual(
      preview.sheets.map((s) => s.name),
      ['Data', 'Summary'],
    );
    const [data, summary] = preview.sheets;
    assert.equal(data!.rowCount, 10_001);
    assert.equal(data!.columnCount, 4);
    assert.equal(data!.rows.length, 101, 'the header row and the first 100 rows under it');
    assert.equal(data!.truncated, true);
    assert.deepEqual(data!.rows[0], ['id', 'date', 'amount', 'region']);
    assert.deepEqual(data!.rows[2], ['2', '2024-01-02', '1.5', 'EU']);
    assert.deepEqual(summary!.rows[1]!.slice(3), ['=HYPERLINK("http://evil.example","click")']);
    assert.deepEqual(summary!.rows[2]!.slice(3), ["=cmd|' /C calc'!A0"]);
    // The same bytes in another chat: served from the cache, byte for byte the same preview.
    await api.write('c2', 'copy.xlsx', await readFile(path.join(dir, 'report.xlsx')));
    await seed(api, 'c2', {});
    const copy = await fileAt(api, 'c2', 'copy.xlsx');
    const again = await previewOf(api, 'c2', copy).expect(200);
    assert.deepEqual((again.body as PreviewResponse).preview, preview);
  });

  it('an odfpy .ods and an xlwt .xls: both sheets, dates as the file shows them, full counts, formula-like text as text', async () => {
    api = await startApi();
    const dir = await api.write('c1', 'keep.txt', 'x').then((p) => path.dirname(p));
    await runPython(LEGACY_WORKBOOKS_PY(dir));
    await seed(api, 'c1', {});
    for (const [name, date] of [
      ['report.ods', '01/02/24'], // odfpy writes the display text pandas gave it (strftime's %x)
      ['report.xls', '2024-01-02'], // xlwt: a serial date with pandas' yyyy-mm-dd format
    ] as const) {
      const { preview } = (await previewOf(api, 'c1', await fileAt(api, 'c1', name)).expect(200))
        .body as PreviewResponse;
      assert.ok(preview.kind === 'table', name);
      assert.deepEqual(
        preview.sheets.map((s) => [s.name, s.rowCount, s.columnCount, s.rows.length]),
        [
          ['Data', 2001, 4, 101],
          ['Summary', 3, 2, 3],
        ],
        name,
      );
      assert.deepEqual(preview.sheets[0]!.rows[0], ['id', 'date', 'amount', 'region'], name);
      assert.deepEqual(preview.sheets[0]!.rows[2], ['2', date, '1.5', 'EU'], name);
      assert.deepEqual(
        preview.sheets[1]!.rows.slice(1).map((r) => r[1]),
        ['=HYPERLINK("http://evil.example","click")', "=cmd|' /C calc'!A0"],
        name,
      );
    }
  });

  it('number formats as the workbook shows them: currency, percentage, date, custom (xlsx and xls)', async () => {
    api = await startApi();
    const dir = await api.write('c1', 'keep.txt', 'x').then((p) => path.dirname(p));
    await runPython(FORMATS_PY(dir));
    await seed(api, 'c1', {});
    for (const name of ['formats.xlsx', 'formats.xls']) {
      const { preview } = (await previewOf(api, 'c1', await fileAt(api, 'c1', name)).expect(200))
        .body as PreviewResponse;
      assert.ok(preview.kind === 'table', name);
      assert.deepEqual(
        preview.sheets[0]!.rows,
        [
          ['amount', 'share', 'due', 'count', 'formula', 'text'],
          // [$€-407] is German: a comma for decimals. The formula was never computed: no cached value.
          ['1.234,50 €', '25.6%', '2024-03-05', 'Qty: 12', '', '=HYPERLINK("http://evil.example","x")'],
        ],
        name,
      );
    }
  });

  it('an ods with a giant repeated row count: an empty run costs nothing, a run with values is refused (413)', async () => {
    api = await startApi({ previewLimits: { maxRows: 100 } });
    const empty =
      '<table:table-row table:number-rows-repeated="1048576"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>';
    const full =
      '<table:table-row table:number-rows-repeated="1048576"><table:table-cell office:value-type="float" office:value="1"/></table:table-row>';
    await seed(api, 'c1', {
      'tail.ods': await odsWith(`<table:table table:name="S">${odsRow('a', 'b')}${empty}</table:table>`),
      'flood.ods': await odsWith(`<table:table table:name="S">${odsRow('a', 'b')}${full}</table:table>`),
    });
    const { preview } = (await previewOf(api, 'c1', await fileAt(api, 'c1', 'tail.ods')).expect(200))
      .body as PreviewResponse;
    assert.deepEqual(preview, {
      kind: 'table',
      sheets: [{ name: 'S', rows: [['a', 'b']], rowCount: 1, columnCount: 2, truncated: false }],
    });
    const flood = await previewOf(api, 'c1', await fileAt(api, 'c1', 'flood.ods')).expect(413);
    assert.equal(flood.body.error.code, 'ERR_PREVIEW_TOO_MANY_ROWS');
  });

  it('a truncated or garbled .xls is refused as unreadable (422), never a hang', async () => {
    api = await startApi();
    const good = compoundFile(
      'Workbook',
      workbookStream({ sheets: [{ name: 'S', cells: Array.from({ length: 400 }, (_, i) => number(i, 0, 0, i)) }] }),
    );
    const garbled = Buffer.from(good);
    garbled.fill(0xff, 512, 1024); // the stream's first sector: no BOF any more
    await seed(api, 'c1', { 'cut.xls': good.subarray(0, 3000), 'garbled.xls': garbled, 'good.xls': good });
    for (const name of ['cut.xls', 'garbled.xls']) {
      const res = await previewOf(api, 'c1', await fileAt(api, 'c1', name)).expect(422);
      assert.equal(res.body.error.code, 'ERR_PREVIEW_UNREADABLE', name);
    }
    const { preview } = (await previewOf(api, 'c1', await fileAt(api, 'c1', 'good.xls')).expect(200))
      .body as PreviewResponse;
    assert.ok(preview.kind === 'table' && preview.sheets[0]!.rowCount === 400);
  });

  it('a python-docx document with a table and a picture: sanitized HTML, the picture inlined byte for byte', async () => {
    api = await startApi();
    const dir = await api.write('c1', 'keep.txt', 'x').then((p) => path.dirname(p));
    await runPython(DOCX_PY(dir));
    await seed(api, 'c1', {});
    const { preview } = (await previewOf(api, 'c1', await fileAt(api, 'c1', 'report.docx')).expect(200))
      .body as PreviewResponse;
    assert.equal(preview.kind, 'document');
    if (preview.kind !== 'document') return;
    assert.match(preview.html, /<h1>Quarterly report<\/h1>/);
    assert.match(preview.html, /<table>.*Region.*EU.*<\/table>/s);
    assert.match(preview.html, /&lt;script&gt;/);
    assert.doesNotMatch(preview.html, /<script/i);
    const png = await readFile(path.join(dir, 'pixel.png'));
    assert.ok(preview.html.includes(`<img src="data:image/png;base64,${png.toString('base64')}"`), preview.html);
  });

  it('a hostile docx: no script, no handler, no javascript: link, no remote image', async () => {
    api = await startApi();
    await seed(api, 'c1', { 'evil.docx': await hostileDocx() });
    const { preview } = (await previewOf(api, 'c1', await fileAt(api, 'c1', 'evil.docx')).expect(200))
      .body as PreviewResponse;
    assert.equal(preview.kind, 'document');
    if (preview.kind !== 'document') return;
    assert.doesNotMatch(preview.html, /<script|<[^>]*\son\w+=|javascript:|evil\.example/i);
    assert.match(preview.html, /click me/);
    assert.match(preview.html, /<td><p>EU<\/p><\/td>/);
  });

  for (const kind of ['xlsx', 'ods', 'docx'] as const) {
    it(`a ${kind} zip bomb is refused from its declared sizes, without inflating (413)`, async () => {
      api = await startApi({ previewLimits: { maxUnzippedBytes: 16 * 1024 * 1024 } });
      const bomb = await zipBomb(kind, 64 * 1024 * 1024);
      assert.ok(bomb.byteLength < 200 * 1024, `a small file (${bomb.byteLength} bytes)`);
      await seed(api, 'c1', { [`bomb.${kind}`]: bomb });
      const res = await previewOf(api, 'c1', await fileAt(api, 'c1', `bomb.${kind}`)).expect(413);
      assert.equal(res.body.error.code, 'ERR_PREVIEW_UNZIPPED_TOO_LARGE');
      assert.match(res.body.error.message, /declares 671\d{5} bytes/);
    });

    it(`a ${kind} zip bomb that lies about its sizes is stopped while inflating (413)`, async () => {
      api = await startApi({ previewLimits: { maxUnzippedBytes: 16 * 1024 * 1024 } });
      await seed(api, 'c1', { [`liar.${kind}`]: await lyingZipBomb(kind, 64 * 1024 * 1024) });
      const res = await previewOf(api, 'c1', await fileAt(api, 'c1', `liar.${kind}`)).expect(413);
      assert.equal(res.body.error.code, 'ERR_PREVIEW_UNZIPPED_TOO_LARGE');
    });
  }

  it('a CSV of 10 million cells is refused with its reason (413), and the refusal is cached', async () => {
    api = await startApi();
    await seed(api, 'c1', { 'huge.csv': bigCsv(1_000_000, 10) });
    const file = await fileAt(api, 'c1', 'huge.csv');
    const res = await previewOf(api, 'c1', file).expect(413);
    assert.equal(res.body.error.code, 'ERR_PREVIEW_TOO_MANY_CELLS');
    assert.match(res.body.error.message, /more than 2000000 cells/);
    await previewOf(api, 'c1', file).expect(413);
  });

  it('CSV and TSV: cells as text, formulas never evaluated or linked; counts of the whole file', async () => {
    api = await startApi({ policy: { extensions: '*' } });
    await seed(api, 'c1', {
      'inj.csv': 'name,link\n"a, b","=HYPERLINK(""http://evil.example"",""x"")"\nc,=cmd|\' /C calc\'!A0\n',
      'sheet.tsv': 'a\tb\n1\t2\n',
    });
    const { preview } = (await previewOf(api, 'c1', await fileAt(api, 'c1', 'inj.csv')).expect(200))
      .body as PreviewResponse;
    assert.deepEqual(preview, {
      kind: 'table',
      sheets: [
        {
          name: 'Sheet1',
          rows: [
            ['name', 'link'],
            ['a, b', '=HYPERLINK("http://evil.example","x")'],
            ['c', "=cmd|' /C calc'!A0"],
          ],
          rowCount: 3,
          columnCount: 2,
          truncated: false,
        },
      ],
    });
    const tsv = (await previewOf(api, 'c1', await fileAt(api, 'c1', 'sheet.tsv')).expect(200)).body as PreviewResponse;
    assert.equal(tsv.preview.kind === 'table' && tsv.preview.sheets[0]!.rows[1]![1], '2');
  });

  it('JSON pretty-printed, Markdown as text and sanitized HTML, long text cut with a marker', async () => {
    api = await startApi();
    await seed(api, 'c1', { 'a.json': '{"a":[1,2]}', 'notes.md': '# Title\n', 'big.txt': 'x'.repeat(300 * 1024) });
    const json = (await previewOf(api, 'c1', await fileAt(api, 'c1', 'a.json')).expect(200)).body as PreviewResponse;
    assert.deepEqual(json.preview, {
      kind: 'text',
      language: 'json',
      text: '{\n  "a": [\n    1,\n    2\n  ]\n}',
      truncated: false,
    });
    const md = (await previewOf(api, 'c1', await fileAt(api, 'c1', 'notes.md')).expect(200)).body as PreviewResponse;
    assert.deepEqual(md.preview, {
      kind: 'text',
      language: 'markdown',
      text: '# Title\n',
      truncated: false,
      html: '<h1>Title</h1>\n',
    });
    const big = (await previewOf(api, 'c1', await fileAt(api, 'c1', 'big.txt')).expect(200)).body as PreviewResponse;
    assert.ok(big.preview.kind === 'text' && big.preview.truncated && big.preview.text.endsWith('… (truncated)'));
  });

  it('Markdown renders with the sanitizer a docx has: no script, handler, style or outside origin', async () => {
    api = await startApi();
    const hostile = [
      '# Report',
      '',
      '| region | total |',
      '| --- | ---: |',
      '| EU | 1,200 |',
      '',
      '<script>parent.postMessage("script ran", "*")</script>',
      '<img src="https://tracker.example/pixel.gif" alt="pixel"> <img src=x onerror="alert(1)">',
      '![remote](https://tracker.example/remote.png) [bad](javascript:alert(1)) [ok](https://example.com/doc)',
      '<p style="position:fixed" onclick="alert(1)">styled</p><iframe src="https://evil.example"></iframe>',
      '<a href="//evil.example/x">relative to the protocol</a>',
    ].join('\n');
    await seed(api, 'c1', { 'notes.md': hostile });
    const { preview } = (await previewOf(api, 'c1', await fileAt(api, 'c1', 'notes.md')).expect(200))
      .body as PreviewResponse;
    assert.ok(preview.kind === 'text' && preview.html !== undefined, 'rendered');
    const html = preview.html;
    assert.match(html, /<h1>Report<\/h1>/);
    assert.match(html, /<table>[\s\S]*<td>EU<\/td>[\s\S]*<\/table>/, 'a GitHub-flavoured table');
    for (const gone of [
      /<script/i,
      /onerror|onclick/i,
      /style=/i,
      /<iframe/i,
      /tracker\.example/,
      /javascript:/i,
      /evil\.example/,
    ])
      assert.doesNotMatch(html, gone);
    assert.match(
      html,
      /<a href="https:\/\/example\.com\/doc" rel="noopener noreferrer nofollow" target="_blank">ok<\/a>/,
    );
    assert.equal(preview.text, hostile, 'the source is kept as written, for the Source view');
  });

  it('HTML: a frame URL served with a CSP sandbox that allows no script; SVG as an image', async () => {
    api = await startApi();
    const dir = await api.write('c1', 'keep.txt', 'x').then((p) => path.dirname(p));
    await runPython(HTML_PY(dir));
    await seed(api, 'c1', {});
    const page = await fileAt(api, 'c1', 'page.html');
    const { preview } = (await previewOf(api, 'c1', page).expect(200)).body as PreviewResponse;
    assert.deepEqual(preview, { kind: 'frame', url: url('c1', `/files/${page.id}/preview/frame`) });
    const frame = await api.request.get(url('c1', `/files/${page.id}/preview/frame`)).expect(200);
    const csp = frame.headers['content-security-policy'] as string;
    assert.match(csp, /^sandbox;/);
    assert.doesNotMatch(csp, /allow-scripts|script-src/);
    assert.match(csp, /default-src 'none'/);
    assert.equal(frame.headers['x-content-type-options'], 'nosniff');
    const svg = (await previewOf(api, 'c1', await fileAt(api, 'c1', 'logo.svg')).expect(200)).body as PreviewResponse;
    assert.equal(svg.preview.kind, 'image');
    const pdfLike = await previewOf(api, 'c1', await fileAt(api, 'c1', 'keep.txt')).expect(200);
    assert.equal((pdfLike.body as PreviewResponse).preview.kind, 'text');
  });

  it('formats without a preview say why (422); a render past its time is stopped (422)', async () => {
    api = await startApi({ previewLimits: { timeoutMs: 1 } });
    await seed(api, 'c1', { 'a.parquet': 'PAR1', 'deck.pptx': 'x', 'slow.csv': bigCsv(100_000, 10) });
    const parquet = await previewOf(api, 'c1', await fileAt(api, 'c1', 'a.parquet')).expect(422);
    assert.equal(parquet.body.error.code, 'ERR_PREVIEW_UNSUPPORTED');
    const pptx = await previewOf(api, 'c1', await fileAt(api, 'c1', 'deck.pptx')).expect(422);
    assert.match(pptx.body.error.message, /No preview for \.pptx files/);
    const slow = await previewOf(api, 'c1', await fileAt(api, 'c1', 'slow.csv')).expect(422);
    assert.equal(slow.body.error.code, 'ERR_PREVIEW_TIMEOUT');
  });

  it('files over the byte limit are refused before any work (413)', async () => {
    api = await startApi({ previewLimits: { maxBytes: 10 } });
    await seed(api, 'c1', { 'a.csv': 'a,b\n1,2\n3,4\n' });
    const res = await previewOf(api, 'c1', await fileAt(api, 'c1', 'a.csv')).expect(413);
    assert.equal(res.body.error.code, 'ERR_PREVIEW_TOO_LARGE');
  });
});

describe('diff and restore', () => {
  let api: ApiFixture;
  afterEach(() => api.close());

  async function twoVersions(rel: string, first: string | Buffer, second: string | Buffer): Promise<FileSummary> {
    await seed(api, 'c1', { [rel]: first });
    await seed(api, 'c1', { [rel]: second });
    const file = await fileAt(api, 'c1', rel);
    assert.equal(file.versions.length, 2);
    return file;
  }
  const diffOf = (file: FileSummary) =>
    api.request.get(url('c1', `/files/${file.id}/diff?from=${file.versions[1]!.id}`));

  it('CSV with a unique first column: rows matched by key, with counts', async () => {
    api = await startApi();
    const file = await twoVersions('t.csv', 'id,v\n1,a\n2,b\n3,c\n', 'id,v\n1,a\n3,C\n4,d\n');
    const { diff } = (await diffOf(file).expect(200)).body as DiffResponse;
    assert.equal(diff.kind, 'table');
    if (diff.kind !== 'table') return;
    const [sheet] = diff.sheets;
    assert.equal(sheet!.keyColumn, 'id');
    assert.deepEqual(sheet!.counts, { added: 1, removed: 1, changed: 1 });
    assert.deepEqual(sheet!.rows, [
      { change: 'removed', key: '2', before: ['2', 'b'] },
      { change: 'changed', key: '3', before: ['3', 'c'], after: ['3', 'C'] },
      { change: 'added', key: '4', after: ['4', 'd'] },
    ]);
  });

  it('CSV without a unique first column: rows matched by position', async () => {
    api = await startApi();
    const file = await twoVersions('p.csv', 'k,v\nx,1\nx,2\n', 'k,v\nx,1\nx,3\ny,4\n');
    const { diff } = (await diffOf(file).expect(200)).body as DiffResponse;
    assert.ok(diff.kind === 'table');
    assert.equal(diff.sheets[0]!.keyColumn, null);
    assert.deepEqual(diff.sheets[0]!.counts, { added: 1, removed: 0, changed: 1 });
    assert.equal(diff.sheets[0]!.rows[0]!.key, 'row 2');
  });

  it('text: a unified line diff; other formats: size and hash only', async () => {
    api = await startApi();
    const text = await twoVersions('n.md', 'a\nb\nc\n', 'a\nB\nc\nd\n');
    const { diff, from, to } = (await diffOf(text).expect(200)).body as DiffResponse;
    assert.ok(diff.kind === 'text');
    assert.deepEqual(diff.counts, { added: 2, removed: 1 });
    assert.match(diff.patch, /^-b$/m);
    assert.match(diff.patch, /^\+B$/m);
    assert.equal(from.version, 1);
    assert.equal(to.version, 2);
    const bin = await twoVersions('i.png', Buffer.from([1, 2]), Buffer.from([1, 2, 3]));
    const binary = (await diffOf(bin).expect(200)).body as DiffResponse;
    assert.deepEqual(binary.diff, { kind: 'binary' });
    assert.equal(binary.from.size, 2);
    assert.equal(binary.to.size, 3);
    await api.request.get(url('c1', `/files/${text.id}/diff`)).expect(400);
    await api.request.get(url('c1', `/files/${text.id}/diff?from=${bin.id}`)).expect(400);
  });

  it('restore puts an old version back into the workspace as a new version (source: restore)', async () => {
    api = await startApi();
    const file = await twoVersions('r.csv', 'first\n', 'second\n');
    const res = await api.request.post(url('c1', `/files/${file.versions[1]!.id}/restore`)).expect(201);
    const restored = res.body as FileSummary;
    assert.equal(restored.version, 3);
    assert.equal(restored.source, 'restore');
    assert.equal(restored.sha256, file.versions[1]!.sha256);
    assert.equal(await readFile(path.join(api.workspaces.pathFor('c1'), 'r.csv'), 'utf8'), 'first\n');
    // The next scan sees the restored file as known: nothing new is recorded.
    await seed(api, 'c1', {});
    assert.equal((await fileAt(api, 'c1', 'r.csv')).version, 3);
    // Restoring what is already current changes nothing.
    await api.request.post(url('c1', `/files/${restored.id}/restore`)).expect(200);
  });
});
