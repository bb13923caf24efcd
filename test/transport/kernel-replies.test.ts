import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import {
  answerText,
  parseListing,
  parseListingAnswer,
  parseRead,
  pathRefusal,
  shownName,
} from '../../proxy/transport/kernel-replies.ts';
import { DEFAULT_TRANSFER_LIMITS } from '../../proxy/transport/transfer-limits.ts';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const listing = (files: unknown[], truncated = false) => Buffer.from(JSON.stringify({ files, truncated }));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('what a kernel answers the transport', () => {
  it('takes only plain relative paths', () => {
    const cases: [string, string | null][] = [
      ['a.csv', null],
      ['sub/dir/a b.csv', null],
      ['ünï/çødé.txt', null],
      ['', 'an empty name'],
      ['../x.csv', 'a path that leaves the workspace'],
      ['a/../../x.csv', 'a path that leaves the workspace'],
      ['/etc/passwd', 'an absolute path'],
      ['a\0b', 'a NUL in its name'],
      ['a\nb', 'a control character in its name'],
      ['x\u202egnp.csv', 'a bidirectional control character in its name'],
      ['x\u2066y', 'a bidirectional control character in its name'],
      ['./a', 'a malformed path'],
      ['a//b', 'a malformed path'],
      ['a/', 'a malformed path'],
      [`${'x'.repeat(256)}.csv`, 'a name that is too long'],
      [`${'d/'.repeat(2100)}x`, 'a name that is too long'],
    ];
    for (const [path, why] of cases) assert.equal(pathRefusal(path), why, JSON.stringify(path));
  });

  it('spells hostile characters out when it names them', () => {
    assert.equal(shownName('x\u202egnp.csv'), 'x\\u202egnp.csv');
    assert.equal(shownName('a\0b'), 'a\\u0000b');
    assert.ok(shownName('y'.repeat(5000)).length < 130);
  });

  it('reads a listing, refusing bad names one by one and bad shapes as a whole', () => {
    const ok = parseListing(
      listing([
        [b64('a.csv'), 3, '1700000000123456789', '18446744073709551615'],
        [b64('../b.csv'), 4, '1', '2'],
        [Buffer.from([0xff, 0xfe]).toString('base64'), 5, '1', '3'],
      ]),
      DEFAULT_TRANSFER_LIMITS,
    );
    assert.deepEqual(ok.files, [
      { path: 'a.csv', size: 3, mtimeNs: '1700000000123456789', ino: '18446744073709551615' },
    ]);
    assert.deepEqual(
      ok.refused.map((r) => r.why),
      ['a path that leaves the workspace', 'a name that is not UTF-8'],
    );
    const bad: unknown[][] = [
      [[b64('a'), -1, '1', '1']],
      [[b64('a'), 1.5, '1', '1']],
      [[b64('a'), 1, 1, '1']],
      [[b64('a'), 1, '1e9', '1']],
      [
        [b64('a'), 1, '1', '1'],
        [b64('a'), 1, '1', '1'],
      ],
      [['!!', 1, '1', '1']],
      [[b64('a'), 1, '1']],
    ];
    for (const files of bad)
      assert.throws(() => parseListing(listing(files), DEFAULT_TRANSFER_LIMITS), { code: 'ERR_TRANSPORT_PROTOCOL' });
    assert.throws(() => parseListing(Buffer.from('{"files": ['), DEFAULT_TRANSFER_LIMITS), {
      code: 'ERR_TRANSPORT_PROTOCOL',
    });
    assert.throws(() => parseListing(Buffer.from([0x7b, 0xff, 0x7d]), DEFAULT_TRANSFER_LIMITS), {
      code: 'ERR_TRANSPORT_PROTOCOL',
    });
    const many = Array.from({ length: 3 }, (_, i) => [b64(`f${i}`), 1, '1', String(i)]);
    assert.throws(() => parseListing(listing(many), { ...DEFAULT_TRANSFER_LIMITS, maxEntries: 2 }), {
      code: 'ERR_TRANSPORT_PROTOCOL',
    });
  });

  it('takes a listing only with its own digest, and "unchanged" only without one', () => {
    const bytes = listing([[b64('a.csv'), 3, '1', '2']]);
    const answer = parseListingAnswer({ text: `L${sha(bytes)}`, buffers: [bytes] }, DEFAULT_TRANSFER_LIMITS);
    assert.equal(answer.unchanged, false);
    assert.deepEqual(answer.unchanged ? [] : answer.listing.files.map((f) => f.path), ['a.csv']);
    assert.deepEqual(parseListingAnswer({ text: `=`, buffers: [] }, DEFAULT_TRANSFER_LIMITS), { unchanged: true });
    const refused = [
      { text: `=`, buffers: [bytes] },
      { text: `'L${sha(Buffer.from('other'))}'`, buffers: [bytes] },
      { text: `L${sha(bytes)}`, buffers: [] },
      { text: `L${sha(bytes)}`, buffers: [bytes, bytes] },
      { text: `Lxyz`, buffers: [bytes] },
    ];
    for (const bad of refused)
      assert.throws(() => parseListingAnswer(bad, DEFAULT_TRANSFER_LIMITS), { code: 'ERR_TRANSPORT_PROTOCOL' });
  });

  it('reads pieces no longer than asked, each exactly as long as announced, one buffer per piece sent', () => {
    const x = Buffer.from('x');
    assert.deepEqual(parseRead({ text: `1:2:3:1,-`, buffers: [x] }, [1, 5]), [
      { size: 1, mtimeNs: '2', ino: '3', data: x },
      'gone',
    ]);
    assert.throws(() => parseRead({ text: `1:2:3:2`, buffers: [Buffer.from('xy')] }, [1]), /longer than asked/);
    assert.throws(() => parseRead({ text: `1:2:3:1`, buffers: [x] }, [1, 1]), /number of pieces/);
    assert.throws(() => parseRead({ text: `1:2:3:1`, buffers: [Buffer.from('xy')] }, [5]), /not as long/);
    assert.throws(() => parseRead({ text: `1:2:3:1`, buffers: [] }, [1]), /did not come/);
    assert.throws(() => parseRead({ text: `1:2:3:1,-`, buffers: [x, x] }, [1, 1]), /not asked for/);
    assert.throws(() => parseRead({ text: `1:2:x:1`, buffers: [x] }, [1]), /wrong shape/);
    assert.throws(() => answerText(`'1'`), /not the collector/);
    assert.throws(() => answerText('1:2\n'), /not the collector/);
    assert.throws(() => parseRead({ text: `'1:2:3:1'`, buffers: [x] }, [1]), /not the collector/);
  });
});
