import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseByteRange } from '../../proxy/api/byte-range.ts';
import { contentDisposition } from '../../proxy/api/content-disposition.ts';
import { statusForCode } from '../../proxy/errors.ts';

describe('statusForCode', () => {
  const table: Array<[string, number]> = [
    ['ERR_INVALID_CHAT_ID', 400],
    ['ERR_INVALID_FILE_ID', 400],
    ['ERR_INVALID_PATH', 400],
    ['ERR_PATH_OUTSIDE_WORKSPACE', 400],
    ['ERR_BAD_REQUEST', 400],
    ['ERR_UNAUTHORIZED', 401],
    ['ERR_CHAT_NOT_FOUND', 404],
    ['ERR_FILE_NOT_FOUND', 404],
    ['ERR_NOT_FOUND', 404],
    ['ERR_UPLOAD_TOO_LARGE', 413],
    ['ERR_QUOTA_EXCEEDED', 413],
    ['ERR_RANGE_NOT_SATISFIABLE', 416],
    ['ERR_BLOB_NOT_FOUND', 500],
    ['ERR_INTERNAL', 500],
    ['ERR_BLOB_NO_SPACE', 507],
    ['ERR_SOMETHING_NEW', 500],
  ];
  for (const [code, status] of table) it(`${code} -> ${status}`, () => assert.equal(statusForCode(code), status));
});

describe('contentDisposition', () => {
  /** The name a RFC 6266 client gets: filename* when present, else filename. */
  const filenameStar = (header: string) => {
    const star = /filename\*=UTF-8''([^;]+)/.exec(header);
    return star ? decodeURIComponent(star[1]!) : /filename="([^"]*)"/.exec(header)![1]!;
  };

  it('keeps plain ASCII names as they are', () => {
    assert.equal(contentDisposition('report.xlsx'), 'attachment; filename="report.xlsx"');
    assert.equal(contentDisposition('chart.png', 'inline'), 'inline; filename="chart.png"');
  });

  it('gives non-ASCII names an ASCII fallback and an exact filename*', () => {
    const header = contentDisposition('résumé 数据.csv');
    assert.match(header, /^attachment; filename="resume __\.csv"; filename\*=UTF-8''/);
    assert.equal(filenameStar(header), 'résumé 数据.csv');
  });

  it('never lets quotes, backslashes or newlines into the header', () => {
    for (const name of [
      'a"b.csv',
      'a\\b.csv',
      'evil\r\nSet-Cookie: x=1.csv',
      'x\u0000y\u007f.txt',
      "it's (1)*.txt",
      '"";\n',
    ]) {
      const header = contentDisposition(name);
      // eslint-disable-next-line no-control-regex -- header values must not hold control characters
      assert.doesNotMatch(header, /[\r\n\u0000-\u001f\u007f]/, JSON.stringify(name));
      const fallback = /filename="([^"]*)"/.exec(header)![1]!;
      assert.doesNotMatch(fallback, /["\\]/);
      assert.equal(filenameStar(header), name, JSON.stringify(name));
    }
  });
});

describe('parseByteRange', () => {
  const cases: Array<[string | undefined, number, ReturnType<typeof parseByteRange>]> = [
    [undefined, 10, { kind: 'full' }],
    ['bytes=0-4', 10, { kind: 'partial', start: 0, end: 4 }],
    ['bytes=5-', 10, { kind: 'partial', start: 5, end: 9 }],
    ['bytes=-3', 10, { kind: 'partial', start: 7, end: 9 }],
    ['bytes=-30', 10, { kind: 'partial', start: 0, end: 9 }],
    ['bytes=2-100', 10, { kind: 'partial', start: 2, end: 9 }],
    ['bytes=10-', 10, { kind: 'unsatisfiable' }],
    ['bytes=-0', 10, { kind: 'unsatisfiable' }],
    ['bytes=0-0', 0, { kind: 'unsatisfiable' }],
    ['bytes=0-1,3-4', 10, { kind: 'full' }],
    ['items=0-1', 10, { kind: 'full' }],
    ['bytes=5-2', 10, { kind: 'full' }],
  ];
  for (const [header, size, expected] of cases) {
    it(`${header} of ${size}`, () => assert.deepEqual(parseByteRange(header, size), expected));
  }
});
