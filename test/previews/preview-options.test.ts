/**
 * The preview limits that were constants are options: set through the options table, they reach
 * the renders of a whole sidecar (createSidecar, real routes, a real render worker).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DiffResponse, FileListResponse, PreviewResponse } from '../../contract/files-api.ts';
import { startFakeGatewaySidecar, type FakeGatewaySidecar } from '../support/fake-gateway-sidecar.ts';
import { hostileDocx } from './hostile-files.ts';

type ErrorBody = { error: { code: string; message: string } };

let running: FakeGatewaySidecar;
let base: string;

before(async () => {
  running = await startFakeGatewaySidecar({
    'preview-text-kb': '1',
    // 0.002 MiB: 2,097 bytes.
    'diff-text-mb': '0.002',
    'preview-max-zip-entries': '2',
  });
  base = `${running.url}sidecar/v1/chats/c1`;
});

after(() => running?.stop());

async function upload(name: string, body: string | Buffer): Promise<string> {
  const res = await fetch(`${base}/uploads/${name}`, { method: 'PUT', body: new Uint8Array(Buffer.from(body)) });
  assert.equal(res.status, 201, await res.text());
  const list = (await (await fetch(`${base}/files`)).json()) as FileListResponse;
  return list.files.find((f) => f.path === name)!.id;
}

test('--preview-text-kb cuts a text preview at that many kilobytes', async () => {
  const id = await upload('notes.txt', 'a'.repeat(1024) + 'b'.repeat(1024));
  const { preview } = (await (await fetch(`${base}/files/${id}/preview`)).json()) as PreviewResponse;
  assert.ok(preview.kind === 'text');
  assert.equal(preview.truncated, true);
  assert.equal(preview.text, `${'a'.repeat(1024)}\n… (truncated)`);
});

test('--diff-text-mb refuses a line diff of larger versions (413)', async () => {
  const small = await upload('log.txt', 'one\n');
  const smallToo = await upload('log.txt', 'two\n');
  assert.notEqual(small, smallToo);
  const diffed = await fetch(`${base}/files/${smallToo}/diff?from=${small}`);
  assert.equal(diffed.status, 200);
  assert.equal(((await diffed.json()) as DiffResponse).diff.kind, 'text');
  const large = await upload('log.txt', 'x\n'.repeat(1100));
  const refused = await fetch(`${base}/files/${large}/diff?from=${smallToo}`);
  assert.equal(refused.status, 413);
  assert.equal(((await refused.json()) as ErrorBody).error.code, 'ERR_PREVIEW_TOO_LARGE');
});

test('--preview-max-zip-entries refuses a docx whose zip lists more entries (413)', async () => {
  const id = await upload('report.docx', await hostileDocx());
  const res = await fetch(`${base}/files/${id}/preview`);
  assert.equal(res.status, 413);
  const { error } = (await res.json()) as ErrorBody;
  assert.equal(error.code, 'ERR_PREVIEW_UNZIPPED_TOO_LARGE');
  assert.match(error.message, /more than 2 zip entries/);
});
