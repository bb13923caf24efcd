/** The xlsx reader, called directly, on parts written by hand: strings, styles, relationships, limits. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readXlsx } from '../../proxy/previews/sheets/xlsx-read.ts';
import { zipOf } from './hostile-files.ts';
import { LIMITS, mutations, readsOrRefuses, refusal } from './reader-helpers.ts';

describe('xlsx: our streaming reader', () => {
  const xlsx = (parts: Record<string, string>) => zipOf(parts);
  const NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
  const REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

  it('shared strings (rich runs, no phonetic hints), inline strings, cached formula results, styles, gaps, the 1904 system', async () => {
    const file = await xlsx({
      '_rels/.rels': `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="r1" Type="${REL}/officeDocument" Target="book/main.xml"/></Relationships>`,
      'book/main.xml': `<x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="${REL}"><x:workbookPr date1904="1"/><x:sheets><x:sheet name="Report" sheetId="1" r:id="s1"/><x:sheet name="Chart" sheetId="2" r:id="c1"/></x:sheets></x:workbook>`,
      'book/_rels/main.xml.rels': `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="s1" Type="${REL}/worksheet" Target="/book/sheets/one.xml"/><Relationship Id="c1" Type="${REL}/chartsheet" Target="sheets/chart.xml"/><Relationship Id="st" Type="${REL}/styles" Target="styles.xml"/><Relationship Id="ss" Type="${REL}/sharedStrings" Target="strings.xml"/></Relationships>`,
      'book/strings.xml': `<sst ${NS}><si><t>plain</t></si><si><r><t>ri</t></r><r><t>ch</t></r><rPh><t>ヒント</t></rPh></si></sst>`,
      'book/styles.xml': `<styleSheet ${NS}><numFmts><numFmt numFmtId="170" formatCode="#,##0.00\\ &quot;€&quot;"/></numFmts><cellXfs><xf numFmtId="0"/><xf numFmtId="170"/><xf numFmtId="14"/><xf numFmtId="10"/></cellXfs></styleSheet>`,
      'book/sheets/one.xml':
        `<worksheet ${NS}><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>` +
        '<row r="3"><c r="A3" s="1"><v>1234.5</v></c><c r="B3" s="2"><v>43894</v></c><c r="C3" s="3"><v>0.125</v></c>' +
        '<c r="D3" t="inlineStr"><is><t>=cmd|\' /C calc\'!A0</t></is></c><c r="E3" t="str"><f>"a"&amp;"b"</f><v>ab</v></c>' +
        '<c r="F3" t="b"><v>1</v></c><c r="G3" t="e"><v>#REF!</v></c><c r="H3"><f>1/0</f></c></row></sheetData></worksheet>',
    });
    const tables = await readXlsx(file, LIMITS, 100);
    assert.deepEqual(tables, [
      {
        name: 'Report',
        rows: [
          ['plain', '', 'rich'],
          [],
          ['1,234.50 €', '2024-03-05', '12.50%', "=cmd|' /C calc'!A0", 'ab', 'TRUE', '#REF!'],
        ],
        rowCount: 3,
        columnCount: 7,
      },
    ]);
  });

  it('a cell far away is refused by the limits, from its reference alone', async () => {
    const file = await xlsx({
      'xl/workbook.xml': `<workbook ${NS} xmlns:r="${REL}"><sheets><sheet name="S" r:id="a"/></sheets></workbook>`,
      'xl/_rels/workbook.xml.rels': `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="a" Type="${REL}/worksheet" Target="s.xml"/></Relationships>`,
      'xl/s.xml': `<worksheet ${NS}><sheetData><row><c r="ZZZZZZ999999999"><v>1</v></c></row></sheetData></worksheet>`,
    });
    assert.equal((await refusal(() => readXlsx(file, LIMITS, 100))).code, 'ERR_PREVIEW_TOO_MANY_ROWS');
  });

  it('fuzz: 300 mutations of a workbook read to a table or a PreviewError', async () => {
    const file = await xlsx({
      'xl/workbook.xml': `<workbook ${NS} xmlns:r="${REL}"><sheets><sheet name="S" r:id="a"/></sheets></workbook>`,
      'xl/_rels/workbook.xml.rels': `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="a" Type="${REL}/worksheet" Target="s.xml"/><Relationship Id="b" Type="${REL}/sharedStrings" Target="t.xml"/></Relationships>`,
      'xl/t.xml': `<sst ${NS}><si><t>a</t></si></sst>`,
      'xl/s.xml': `<worksheet ${NS}><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>2.5</v></c></row></sheetData></worksheet>`,
    });
    for (const mutated of mutations(file, 300, 4)) await readsOrRefuses(() => readXlsx(mutated, LIMITS, 100));
  });
});
