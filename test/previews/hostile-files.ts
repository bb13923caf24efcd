/** Files made to hurt a previewer: zip bombs (honest and lying), a hostile docx, huge CSVs, hostile ods. */
import { Readable } from 'node:stream';
import yazl from 'yazl';

/** A zip of these parts, as text (those named in `stored` left uncompressed, as ODF's mimetype must be). */
export function zipOf(parts: Record<string, string>, stored: readonly string[] = []): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, text] of Object.entries(parts))
    zip.addBuffer(Buffer.from(text), name, { compress: !stored.includes(name) });
  zip.end();
  return collect(zip);
}

async function collect(zip: yazl.ZipFile): Promise<Buffer> {
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `bytes` of one repeated character, streamed, so the test never holds them. */
function repeated(bytes: number, char = ' '): Readable {
  const block = Buffer.alloc(1024 * 1024, char);
  let left = bytes;
  return new Readable({
    read() {
      if (left <= 0) return this.push(null);
      const n = Math.min(left, block.byteLength);
      left -= n;
      this.push(n === block.byteLength ? block : block.subarray(0, n));
    },
  });
}

const CONTENT_TYPES = (main: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>${main}</Types>`;

/** The parts a reader follows to the bomb: an xlsx's workbook and its relationships (ods and docx need none). */
function bombScaffold(zip: yazl.ZipFile, kind: 'xlsx' | 'docx' | 'ods'): string {
  if (kind === 'ods') {
    zip.addBuffer(Buffer.from('application/vnd.oasis.opendocument.spreadsheet'), 'mimetype');
    return 'content.xml';
  }
  zip.addBuffer(Buffer.from(CONTENT_TYPES('')), '[Content_Types].xml');
  if (kind === 'docx') return 'word/document.xml';
  zip.addBuffer(
    Buffer.from(
      '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Bomb" sheetId="1" r:id="rId1"/></sheets></workbook>',
    ),
    'xl/workbook.xml',
  );
  zip.addBuffer(
    Buffer.from(
      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    ),
    'xl/_rels/workbook.xml.rels',
  );
  return 'xl/worksheets/sheet1.xml';
}

/** A zip whose main part inflates to `inflatedBytes` of spaces (deflate makes it ~1000x smaller). */
export async function zipBomb(kind: 'xlsx' | 'docx' | 'ods', inflatedBytes: number): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const entry = bombScaffold(zip, kind);
  zip.addReadStream(repeated(inflatedBytes), entry, { compress: true, size: inflatedBytes });
  return collect(zip);
}

/**
 * A well-formed docx whose one paragraph is `inflatedBytes` of one letter: it reaches mammoth's XML
 * parser and HTML writer, not just the zip guard. A few hundred kB for hundreds of MB.
 */
export async function docxTextBomb(inflatedBytes: number): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const head = Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>',
  );
  const tail = Buffer.from('</w:t></w:r></w:p></w:body></w:document>');
  zip.addBuffer(Buffer.from(CONTENT_TYPES('')), '[Content_Types].xml');
  zip.addReadStream(
    Readable.from(
      (async function* () {
        yield head;
        yield* repeated(inflatedBytes, 'a');
        yield tail;
      })(),
    ),
    'word/document.xml',
    { compress: true, size: head.byteLength + inflatedBytes + tail.byteLength },
  );
  return collect(zip);
}

/**
 * The same bomb with every declared size rewritten to `declared`: a reader that trusts the
 * central directory sees a small file. Local headers too, so nothing looks inconsistent.
 */
export async function lyingZipBomb(
  kind: 'xlsx' | 'docx' | 'ods',
  inflatedBytes: number,
  declared = 1000,
): Promise<Buffer> {
  const zip = await zipBomb(kind, inflatedBytes);
  const lie = (offset: number) => {
    if (zip.readUInt32LE(offset) === inflatedBytes) zip.writeUInt32LE(declared, offset);
  };
  for (let i = 0; i < zip.length - 28; i++) {
    const signature = zip.readUInt32LE(i);
    if (signature === 0x04034b50)
      lie(i + 22); // local header: uncompressed size
    else if (signature === 0x02014b50)
      lie(i + 24); // central directory
    else if (signature === 0x08074b50) lie(i + 12); // data descriptor
  }
  return zip;
}

/**
 * A docx made by hand with what a converter must not pass on: a `<script>` and an `onclick` as
 * text, a `javascript:` hyperlink, an image linked from a remote server, and a table.
 */
export async function hostileDocx(): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(
    Buffer.from(
      CONTENT_TYPES(
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>',
      ),
    ),
    '[Content_Types].xml',
  );
  zip.addBuffer(
    Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
    ),
    '_rels/.rels',
  );
  zip.addBuffer(
    Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        '<Relationship Id="rIdJs" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="javascript:alert(1)" TargetMode="External"/>' +
        '<Relationship Id="rIdImg" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="http://evil.example/pixel.png" TargetMode="External"/>' +
        '</Relationships>',
    ),
    'word/_rels/document.xml.rels',
  );
  const W =
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"';
  const run = (text: string) => `<w:r><w:t xml:space="preserve">${text}</w:t></w:r>`;
  const remoteImage =
    '<w:r><w:drawing><wp:inline><wp:docPr id="1" name="pixel" descr="pixel"/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic><pic:blipFill><a:blip r:link="rIdImg"/></pic:blipFill></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>';
  const body =
    `<w:p>${run('&lt;script&gt;window.pwned=1&lt;/script&gt;')}</w:p>` +
    `<w:p>${run('&lt;img src=x onerror="window.pwned=2"&gt;')}</w:p>` +
    `<w:p><w:hyperlink r:id="rIdJs">${run('click me')}</w:hyperlink></w:p>` +
    `<w:p>${remoteImage}</w:p>` +
    `<w:tbl><w:tr><w:tc><w:p>${run('Region')}</w:p></w:tc><w:tc><w:p>${run('Total')}</w:p></w:tc></w:tr><w:tr><w:tc><w:p>${run('EU')}</w:p></w:tc><w:tc><w:p>${run('3')}</w:p></w:tc></w:tr></w:tbl>`;
  zip.addBuffer(
    Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><w:document ${W}><w:body>${body}</w:body></w:document>`),
    'word/document.xml',
  );
  return collect(zip);
}

/** A CSV of `rows` x `columns` short cells (10 million cells is about 20 MB). */
export function bigCsv(rows: number, columns: number): Buffer {
  const line = Buffer.from(Array.from({ length: columns }, (_, i) => String(i % 10)).join(',') + '\n');
  const out = Buffer.allocUnsafe(line.byteLength * rows);
  for (let r = 0; r < rows; r++) line.copy(out, r * line.byteLength);
  return out;
}

const ODS_NAMESPACES =
  'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/"';

/** An .ods whose content.xml holds these `<table:table>` elements, written by hand. */
export async function odsWith(tables: string): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from('application/vnd.oasis.opendocument.spreadsheet'), 'mimetype', { compress: false });
  zip.addBuffer(
    Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?><office:document-content ${ODS_NAMESPACES} office:version="1.3"><office:body><office:spreadsheet>${tables}</office:spreadsheet></office:body></office:document-content>`,
    ),
    'content.xml',
  );
  return collect(zip);
}

/** A row of string cells. */
export const odsRow = (...texts: string[]) =>
  `<table:table-row>${texts.map((t) => `<table:table-cell office:value-type="string"><text:p>${t}</text:p></table:table-cell>`).join('')}</table:table-row>`;
