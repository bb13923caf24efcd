/** The ods reader, called directly, on content.xml written by hand: display text, repeats, limits, a small fuzz. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import yazl from 'yazl';
import { readOds } from '../../proxy/previews/sheets/ods-read.ts';
import { odsRow, odsWith } from './hostile-files.ts';
import { LIMITS, mutations, readsOrRefuses, refusal } from './reader-helpers.ts';

describe('ods: content.xml', () => {
  it('display text preferred over the value, typed values when the text is empty, covered cells, spaces, comments left out', async () => {
    const [sheet] = await readOds(
      await odsWith(
        `<table:table table:name="Q1 €">${odsRow('amount', 'share', 'note')}<table:table-row>` +
          '<table:table-cell office:value-type="currency" office:currency="EUR" office:value="1.5"><text:p>1,50 €</text:p></table:table-cell>' +
          '<table:table-cell office:value-type="percentage" office:value="0.25"/>' +
          '<table:table-cell office:value-type="string"><office:annotation><dc:creator>x</dc:creator><text:p>a comment</text:p></office:annotation><text:p>two<text:s text:c="3"/>spaces</text:p><text:p>second line</text:p></table:table-cell>' +
          '</table:table-row><table:table-row>' +
          '<table:table-cell table:number-columns-spanned="2" office:value-type="float" office:value="0"><text:p/></table:table-cell>' +
          '<table:covered-table-cell office:value-type="string"><text:p>hidden under the merge</text:p></table:covered-table-cell>' +
          '<table:table-cell office:value-type="date" office:date-value="2024-03-05T00:00:00"/>' +
          '</table:table-row></table:table>' +
          `<table:table table:name="Links">${odsRow('=HYPERLINK("http://evil.example";"x")')}</table:table>`,
      ),
      LIMITS,
      100,
    );
    assert.deepEqual(sheet, {
      name: 'Q1 €',
      rows: [
        ['amount', 'share', 'note'],
        ['1,50 €', '25%', 'two   spaces\nsecond line'],
        ['0', '', '2024-03-05'],
      ],
      rowCount: 3,
      columnCount: 3,
    });
  });

  it('repeats are counted, never copied: a trailing run of 1,048,576 empty rows costs nothing', async () => {
    const file = await odsWith(
      `<table:table table:name="S"><table:table-row table:number-rows-repeated="3"><table:table-cell table:number-columns-repeated="2" office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell><table:table-cell table:number-columns-repeated="16380"/></table:table-row>` +
        '<table:table-row table:number-rows-repeated="1048576"><table:table-cell table:number-columns-repeated="1024"/></table:table-row></table:table>',
    );
    // Limits far below the repeat counts: only what holds a value is counted.
    const [sheet] = await readOds(file, { ...LIMITS, maxRows: 10, maxColumns: 10, maxCells: 10 }, 100);
    assert.deepEqual(sheet, {
      name: 'S',
      rows: [
        ['1', '1'],
        ['1', '1'],
        ['1', '1'],
      ],
      rowCount: 3,
      columnCount: 2,
    });
  });

  it('a repeated row or cell with a value past the limits is refused before it is stored', async () => {
    const row = (rows: number, columns: number) =>
      `<table:table table:name="S"><table:table-row table:number-rows-repeated="${rows}"><table:table-cell table:number-columns-repeated="${columns}" office:value-type="float" office:value="1"/></table:table-row></table:table>`;
    assert.equal(
      (await refusal(async () => readOds(await odsWith(row(2_000_000, 1)), LIMITS, 100))).code,
      'ERR_PREVIEW_TOO_MANY_ROWS',
    );
    assert.equal(
      (await refusal(async () => readOds(await odsWith(row(1_000_000, 3)), LIMITS, 100))).code,
      'ERR_PREVIEW_TOO_MANY_CELLS',
    );
    assert.equal(
      (await refusal(async () => readOds(await odsWith(row(1, 1e9)), LIMITS, 100))).code,
      'ERR_PREVIEW_TOO_MANY_COLUMNS',
    );
    // Every row kept (a diff keeps them all): still refused before the first copy.
    assert.equal(
      (await refusal(async () => readOds(await odsWith(row(1e15, 1)), LIMITS, Infinity))).code,
      'ERR_PREVIEW_TOO_MANY_ROWS',
    );
  });

  it('no content.xml, or not a zip: unreadable', async () => {
    const zip = new yazl.ZipFile();
    zip.addBuffer(Buffer.from('x'), 'mimetype');
    zip.end();
    const chunks: Buffer[] = [];
    for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
    assert.equal((await refusal(() => readOds(Buffer.concat(chunks), LIMITS, 10))).code, 'ERR_PREVIEW_UNREADABLE');
    assert.equal((await refusal(() => readOds(Buffer.from('not a zip'), LIMITS, 10))).code, 'ERR_PREVIEW_UNREADABLE');
  });

  it('fuzz: 300 mutations of an ods read to a table or a PreviewError', async () => {
    const file = await odsWith(`<table:table table:name="S">${odsRow('a', 'b')}${odsRow('1', '2')}</table:table>`);
    for (const mutated of mutations(file, 300, 3)) await readsOrRefuses(() => readOds(mutated, LIMITS, 100));
  });
});
