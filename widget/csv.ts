/**
 * A small RFC 4180 reader for previews: quoted fields, `""` escapes, commas and
 * line breaks inside quotes, CRLF or LF. Stops after `maxRows` rows so a large
 * file costs no more than its first screen.
 */
export function parseCsv(text: string, maxRows = 20, delimiter = ','): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  // A BOM would otherwise stick to the first header.
  if (text.charCodeAt(0) === 0xfeff) i = 1;

  const endRow = () => {
    row.push(field);
    rows.push(row);
    row = [];
    field = '';
  };

  for (; i < text.length && rows.length < maxRows; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += ch;
      }
    } else if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === delimiter) {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
    } else {
      field += ch;
    }
  }
  // The last line may lack a trailing newline.
  if (rows.length < maxRows && (field !== '' || row.length > 0)) endRow();
  return rows;
}

/** Tab-separated files use the same reader. */
export function delimiterFor(nameOrFormat: string): string {
  return /(^|\.)tsv$/i.test(nameOrFormat) ? '\t' : ',';
}
