/**
 * Issue 22's amplifying workbooks: a few kilobytes whose every cell shows one 32,767-character
 * string (Excel's longest cell). xlsx by hand (one shared string), ods by hand (one cell repeated
 * across the row), xls with xlwt (its shared string table). Two versions of each differ in that
 * string, so a diff lists every row as changed, before and after.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import yazl from 'yazl';
import { runPython } from '../previews/python-files.ts';

export const LONGEST_CELL = 32_767;

async function collect(zip: yazl.ZipFile): Promise<Buffer> {
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `rows` rows with a unique key in column A and `columns` more cells, all the one shared string `fill`. */
export async function amplifyingXlsx(rows: number, columns: number, fill: string): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(
    Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>',
    ),
    '[Content_Types].xml',
  );
  zip.addBuffer(
    Buffer.from(
      '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>',
    ),
    'xl/workbook.xml',
  );
  zip.addBuffer(
    Buffer.from(
      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    ),
    'xl/_rels/workbook.xml.rels',
  );
  zip.addBuffer(
    Buffer.from(
      `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>${fill.repeat(Math.ceil(LONGEST_CELL / fill.length)).slice(0, LONGEST_CELL)}</t></si></sst>`,
    ),
    'xl/sharedStrings.xml',
  );
  const sheet: string[] = [];
  for (let r = 1; r <= rows; r++) {
    // Cells and rows without references are placed in order: the file stays a few kilobytes.
    sheet.push(`<row><c t="inlineStr"><is><t>key${r}</t></is></c>${'<c t="s"><v>0</v></c>'.repeat(columns)}</row>`);
  }
  zip.addBuffer(
    Buffer.from(
      `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${sheet.join('')}</sheetData></worksheet>`,
    ),
    'xl/worksheets/sheet1.xml',
  );
  return collect(zip);
}

/** The same as an .ods: each row a key cell and one string cell repeated `columns` times. */
export async function amplifyingOds(rows: number, columns: number, fill: string): Promise<Buffer> {
  const long = fill.repeat(Math.ceil(LONGEST_CELL / fill.length)).slice(0, LONGEST_CELL);
  const rowXml = (r: number) =>
    `<table:table-row><table:table-cell office:value-type="string"><text:p>key${r}</text:p></table:table-cell><table:table-cell table:number-columns-repeated="${columns}" office:value-type="string"><text:p>${long}</text:p></table:table-cell></table:table-row>`;
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from('application/vnd.oasis.opendocument.spreadsheet'), 'mimetype', { compress: false });
  const body = Array.from({ length: rows }, (_, r) => rowXml(r + 1)).join('');
  zip.addBuffer(
    Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3"><office:body><office:spreadsheet><table:table table:name="Data">${body}</table:table></office:spreadsheet></office:body></office:document-content>`,
    ),
    'content.xml',
  );
  return collect(zip);
}

/** The same with xlwt (BIFF8, the string once in its shared string table), written to `dir`. */
export async function amplifyingXls(dir: string, rows: number, columns: number, fill: string): Promise<Buffer> {
  const file = path.join(dir, `amplifying-${fill}.xls`);
  await runPython(`
import xlwt
book = xlwt.Workbook()
sheet = book.add_sheet("Data")
long = (${JSON.stringify(fill)} * ${LONGEST_CELL})[:${LONGEST_CELL}]
for r in range(${rows}):
    sheet.write(r, 0, "key%d" % r)
    for c in range(1, ${columns} + 1):
        sheet.write(r, c, long)
book.save(${JSON.stringify(file)})
`);
  return readFile(file);
}
