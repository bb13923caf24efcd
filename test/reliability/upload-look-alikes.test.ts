/**
 * Upload names that look like another, or that Windows and macOS cannot hold, through the real
 * upload route of a whole sidecar. Files are downloaded and zipped on those systems, where
 * `café.csv` in NFC and NFD, `Report.csv` and `report.csv` are one file, and `aux.txt`, `a:b.csv`
 * or `notes.txt.` cannot be saved as named. The rule (README, "Upload names"): names are kept in
 * NFC; a name equal to a file of the chat but for case or normalization is that file (a new
 * version under its existing name); names Windows refuses or changes are refused, 400
 * ERR_UPLOAD_NAME_NOT_PORTABLE, and nothing is written or recorded.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FileListResponse, FileSummary } from '../../contract/files-api.ts';
import { startFakeGatewaySidecar, type FakeGatewaySidecar } from '../support/fake-gateway-sidecar.ts';
import { refused, reportAfter } from './reliability-counter.ts';

reportAfter('upload-look-alikes');

let running: FakeGatewaySidecar;

before(async () => {
  running = await startFakeGatewaySidecar();
});

after(() => running?.stop());

const chatUrl = (chat: string) => `${running.url}sidecar/v1/chats/${chat}`;

function upload(chat: string, relPath: string, body: string, headers: Record<string, string> = {}) {
  const encoded = relPath.split('/').map(encodeURIComponent).join('/');
  return fetch(`${chatUrl(chat)}/uploads/${encoded}`, { method: 'PUT', body, headers });
}

async function listed(chat: string): Promise<FileSummary[]> {
  const res = await fetch(`${chatUrl(chat)}/files`);
  return res.status === 404 ? [] : ((await res.json()) as FileListResponse).files;
}

async function workspaceFiles(chat: string): Promise<string[]> {
  const dir = path.join(running.dir, 'ws', chat);
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.map(String).sort();
}

test('NFD, NFC and case variants of one name are one file: new versions under its first name', async () => {
  const nfc = 'caf\u00e9.csv';
  const nfd = 'cafe\u0301.csv';
  let res = await upload('alike', nfd, 'v1\n');
  assert.equal(res.status, 201);
  assert.equal(((await res.json()) as FileSummary).path, nfc, 'kept in NFC');
  for (const [name, body] of [
    [nfc, 'v2\n'],
    ['CAF\u00c9.csv', 'v3\n'],
    ['Cafe\u0301.CSV', 'v4\n'],
  ] as const) {
    res = await upload('alike', name, body);
    assert.equal(res.status, 201, name);
    assert.equal(((await res.json()) as FileSummary).path, nfc, `${JSON.stringify(name)} is ${nfc}`);
  }
  const files = await listed('alike');
  assert.deepEqual(
    files.map((f) => [f.path, f.version]),
    [[nfc, 4]],
  );
  assert.deepEqual(await workspaceFiles('alike'), [nfc]);
  const content = await fetch(`${chatUrl('alike')}/files/${files[0]!.id}/content`);
  assert.equal(await content.text(), 'v4\n');
});

test('a look-alike counts as existing for If-None-Match: * (412), and a folder look-alike is the same folder', async () => {
  assert.equal((await upload('folders', 'Data/Report.csv', 'a\n')).status, 201);
  const conflict = await upload('folders', 'data/REPORT.csv', 'b\n', { 'if-none-match': '*' });
  assert.equal(conflict.status, 412);
  assert.equal(((await conflict.json()) as { error: { code: string } }).error.code, 'ERR_UPLOAD_CONFLICT');
  refused();
  const res = await upload('folders', 'data/report.csv', 'c\n');
  assert.equal(res.status, 201);
  assert.equal(((await res.json()) as FileSummary).path, 'Data/Report.csv');
  assert.deepEqual(await workspaceFiles('folders'), ['Data', 'Data/Report.csv']);
});

const NOT_PORTABLE = [
  'a:b.csv',
  'CON',
  'con.txt',
  'Con .txt',
  'NUL.csv',
  'aux.txt',
  'prn.tar.gz',
  'COM1.csv',
  'lpt9.txt',
  'com\u00b9.txt',
  'conin$.txt',
  'notes.txt.',
  'notes.txt ',
  'folder./x.csv',
  'aux/x.csv',
  'x<y.csv',
  'x>y.csv',
  'what?.csv',
  'star*.csv',
  'pipe|.csv',
  'quote".csv',
];

test('names Windows refuses, reserves or changes are refused (400 ERR_UPLOAD_NAME_NOT_PORTABLE); nothing is kept', async () => {
  for (const name of NOT_PORTABLE) {
    const res = await upload('names', name, 'x\n');
    assert.equal(res.status, 400, JSON.stringify(name));
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, 'ERR_UPLOAD_NAME_NOT_PORTABLE', JSON.stringify(name));
    assert.match(error.message, /Rename it and upload again/);
    refused();
  }
  assert.deepEqual(await listed('names'), []);
  assert.deepEqual(await workspaceFiles('names'), []);
});

test('names that only start like a reserved one are kept as they are', async () => {
  for (const name of ['console.csv', 'CONFIG.txt', 'com10.csv', 'nul-results.csv', 'auxiliary.txt', 'a.b.c.csv']) {
    assert.equal((await upload('fine', name, 'x\n')).status, 201, name);
  }
  assert.equal((await listed('fine')).length, 6);
});
