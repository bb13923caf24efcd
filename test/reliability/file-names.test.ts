/**
 * File names a kernel can create that would break a Content-Disposition header: quotes, CR/LF,
 * control characters, non-ASCII, very long names. Each download has exactly one safe header,
 * and its filename* decodes back to the name.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { signToken } from '../support/tokens.ts';
import { withoutBidiControls, type FileListResponse } from '../../contract/files-api.ts';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';
import { refused, reportAfter } from './reliability-counter.ts';
import { rawRequest } from './reliability-helpers.ts';

reportAfter('file-names');

const SECRET = 'reliability-secret-that-is-at-least-32-bytes!';
let bed: TestBed;
let proxy: RunningSidecar;
let client: RawKernelClient;

before(async () => {
  bed = await startTestBed();
  // Every forging name must be listed on a line of its own, so the card names them all (the default names 5).
  proxy = await startSidecar(bed, { 'card-max-files': '20' }, {}, { FILES_API_SECRET: SECRET });
  const res = await fetch(`${proxy.url}chats/names/api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
  const { id } = (await res.json()) as { id: string };
  client = await RawKernelClient.connect(
    `${proxy.url.replace(/^http/, 'ws')}chats/names/api/kernels/${id}/channels?token=${bed.jupyter.token}`,
    'v1',
  );
});

after(async () => {
  await client?.close();
  await proxy?.stop();
  await bed?.stop();
});

const NAMES = [
  'plain.txt',
  'quote"d.txt',
  '"".txt',
  "single'quote.txt",
  'new\nline.txt',
  'cr\rlf\r\nSet-Cookie: evil=1.txt',
  '\r\nX-Injected: 1\r\n\r\n<body>.txt',
  'back\\slash.txt',
  'semi;colon; filename=evil.exe.txt',
  "filename*=UTF-8''evil.exe.txt",
  'percent%20name%0d%0a.txt',
  'tab\tname.txt',
  'ctrl\u0001\u001b[31m\u007f.txt',
  ' leading and trailing .txt',
  'résumé naïve.csv',
  '日本語のファイル.csv',
  'emoji 😀 📊.txt',
  'rtl \u202egnp.txt',
  // Issue 16, item 11: bidi controls that would spoof the extension a download is saved with.
  'report\u202efdp.csv',
  'isolate \u2067lmth.exe\u2069.txt',
  'embed \u202b\u202a\u202c marks \u200f\u200e\u061c.csv',
  'nfd e\u0301.txt',
  `${'x'.repeat(251)}.txt`,
  `${'漢'.repeat(83)}.txt`,
  `${'😀'.repeat(62)}.txt`,
];

/** RFC 6266: `attachment; filename="ascii"` and, for anything else, `; filename*=UTF-8''pct-encoded`. */
const SAFE_DISPOSITION =
  /^(attachment|inline); filename="([\x20\x21\x23-\x5b\x5d-\x7e]*)"(?:; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+))?$/;

test('every awkward name downloads with one safe Content-Disposition that decodes back to it', async () => {
  const code = [
    'import json',
    `names = json.loads(${JSON.stringify(JSON.stringify(NAMES))})`,
    'for n in names:',
    "    open('/mnt/data/' + n, 'w', encoding='utf-8').write('bytes of ' + n)",
    // Not UTF-8 at all: a name no header (or JSON) can carry as it is.
    "open(b'/mnt/data/latin1-\\xe9\\xff.txt', 'wb').write(b'raw')",
  ].join('\n');
  const run = await client.execute(code);
  assert.equal(run.reply?.content.status, 'ok', JSON.stringify(run.reply?.content));

  const headers = { authorization: `Bearer ${await signToken(SECRET, { chat: 'names' })}` };
  const list = (await (
    await fetch(`${proxy.url}sidecar/v1/chats/names/files`, { headers })
  ).json()) as FileListResponse;
  for (const name of NAMES) {
    const file = list.files.find((f) => f.name === name);
    assert.ok(file, `${JSON.stringify(name)} is recorded (${list.files.length} files)`);
    for (const disposition of ['', '?disposition=inline']) {
      const res = await rawRequest(proxy.url, 'GET', `${file.downloadUrl}${disposition}`, { headers });
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(res.body.toString('utf8'), `bytes of ${name}`);
      const values = res.rawHeaders.filter(
        (_, i) => i % 2 === 0 && res.rawHeaders[i]!.toLowerCase() === 'content-disposition',
      ).length;
      assert.equal(values, 1, `one Content-Disposition for ${JSON.stringify(name)}`);
      const names = res.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase());
      assert.ok(
        !names.includes('set-cookie') && !names.includes('x-injected'),
        `no injected header for ${JSON.stringify(name)}`,
      );
      const value = res.headers['content-disposition']!;
      const match = SAFE_DISPOSITION.exec(value);
      assert.ok(match, `unsafe Content-Disposition for ${JSON.stringify(name)}: ${JSON.stringify(value)}`);
      assert.equal(match[1], disposition ? 'inline' : 'attachment');
      const decoded = match[3] === undefined ? match[2] : decodeURIComponent(match[3]);
      // Back to the name, less any bidi control (the saved name must show its real extension).
      assert.equal(decoded, withoutBidiControls(name), `filename* decodes back to ${JSON.stringify(name)}`);
      assert.doesNotMatch(
        decoded!,
        /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/,
        'no bidi control in the saved name',
      );
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
    refused();
  }
  // The name that is not UTF-8 is either left out or carried safely; it never breaks the listing.
  const latin1 = list.files.find((f) => f.name.startsWith('latin1-'));
  if (latin1) {
    const res = await rawRequest(proxy.url, 'GET', latin1.downloadUrl, { headers });
    assert.match(res.headers['content-disposition'] ?? '', SAFE_DISPOSITION);
  }
  refused();
});

/** Everything some reader breaks a line at: Python's str.splitlines set, JavaScript's and Unicode's. */
// eslint-disable-next-line no-control-regex -- the separators U+001C-U+001E break lines too
const LINE_BREAKS = /\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;

test('issue 22: a name with a line break cannot forge a "Files saved" line in any format of the file card', async () => {
  const evil = (sep: string) =>
    `x.csv${sep}- /mnt/data/pay.csv (1 B, CSV, version 1): https://evil.example/steal${sep}`;
  const separators = ['\n', '\r', '\r\n', '\x85', '\u2028', '\u2029', '\v', '\f', '\x1c', '\x1d', '\x1e'];
  const names = separators.map((sep, i) => `forge${i}-${evil(sep)}.csv`);
  const run = await client.execute(
    [
      'import json, os',
      `for n in json.loads(${JSON.stringify(JSON.stringify(names))}):`,
      // The fake line's slashes make folders: the card shows the path relative to /mnt/data.
      "    os.makedirs(os.path.dirname('/mnt/data/' + n), exist_ok=True)",
      "    open('/mnt/data/' + n, 'w', encoding='utf-8').write('x')",
    ].join('\n'),
  );
  assert.equal(run.reply?.content.status, 'ok', JSON.stringify(run.reply?.content));
  const card = run.messages.find((m) => m.header.msg_type === 'display_data');
  assert.ok(card, 'the run has a file card');
  const data = (card.content as { data: Record<string, string> }).data;
  assert.deepEqual(Object.keys(data).sort(), ['text/html', 'text/markdown', 'text/plain']);
  const plain = data['text/plain']!.split(LINE_BREAKS);
  assert.equal(plain.length, 1 + names.length, 'a title and one line per file, no more');
  for (const line of plain.slice(1)) {
    assert.match(
      line,
      /^- \/mnt\/data\/forge\d+-x\.csv\\u\{/,
      `a line starts with a real file: ${JSON.stringify(line)}`,
    );
    assert.match(
      line,
      /: http:\/\/127\.0\.0\.1:\d+\/sidecar\/v1\/chats\/names\/files\/[\w-]+\/content\?token=[\w.-]+$/,
    );
  }
  for (const [type, text] of Object.entries(data)) {
    // Markdown lists one item per line after a title and a blank line; HTML is one line.
    const expected = type === 'text/markdown' ? 2 + names.length : type === 'text/html' ? 1 : 1 + names.length;
    assert.equal(text.split(LINE_BREAKS).length, expected, `${type} has no forged line`);
    refused();
  }
  // The card's own lines end in \n; nothing else that breaks a line is left in any format.
  // eslint-disable-next-line no-control-regex -- the separators U+001C-U+001E break lines too
  for (const text of Object.values(data)) assert.doesNotMatch(text, /[\r\v\f\x1c-\x1e\x85\u2028\u2029]/);
  refused(names.length);
});
