/**
 * The preview cache is cleaned by retention, as the sidecar wires it: a cached preview of a
 * version whose blob retention collects goes with the blob, and one of a kept version stays.
 * A whole sidecar (createSidecar) restarted over the same data folder, its clock given so that
 * the blobs' grace period has passed: no sleeping.
 */
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import type { FileListResponse, FileSummary } from '../../contract/files-api.ts';
import { startFakeGatewaySidecar, type FakeGatewaySidecar } from '../support/fake-gateway-sidecar.ts';

const HOUR = 60 * 60 * 1000;
let first: FakeGatewaySidecar | undefined;
let second: FakeGatewaySidecar | undefined;

after(async () => {
  await second?.stop();
  if (second) await rm(second.dir, { recursive: true, force: true });
});

async function uploadAndPreview(running: FakeGatewaySidecar, chat: string, body: string): Promise<FileSummary> {
  const chatUrl = `${running.url}sidecar/v1/chats/${chat}`;
  assert.equal((await fetch(`${chatUrl}/uploads/table.csv`, { method: 'PUT', body })).status, 201);
  const [file] = ((await (await fetch(`${chatUrl}/files`)).json()) as FileListResponse).files;
  assert.equal((await fetch(`${chatUrl}/files/${file!.id}/preview`)).status, 200);
  return file!;
}

/** The cache entries on disk made from `sha256` (previews/ab/<sha256>.<key>.json). */
async function cachedOf(dataDir: string, sha256: string): Promise<string[]> {
  const shard = path.join(dataDir, 'previews', sha256.slice(0, 2));
  return (await readdir(shard).catch(() => [] as string[])).filter((name) => name.startsWith(`${sha256}.`));
}

test("retention removes a cached preview once its version's blob is collected, and keeps the others", async () => {
  first = await startFakeGatewaySidecar();
  const { dir } = first;
  const dataDir = first.options.dataDir;
  const kept = await uploadAndPreview(first, 'kept', 'id,total\n1,10\n2,20\n');
  const gone = await uploadAndPreview(first, 'gone', 'id,total\n1,99\n');
  await first.sidecar.close();
  await first.gateway.close();
  // The operator deletes the chat "gone" from the record store: nothing points to its blob now.
  for (const name of ['gone.json', 'gone.jsonl']) await rm(path.join(dataDir, 'records', name), { force: true });

  let offsetMs = 0;
  second = await startFakeGatewaySidecar({}, {}, { now: () => Date.now() + offsetMs }, dir);
  assert.equal((await cachedOf(dataDir, gone.sha256)).length, 1, 'the cached preview outlived its record');

  const young = await second.sidecar.sweep();
  assert.deepEqual([young.blobsRemoved, young.cachedRemoved], [0, 0], 'within the blobs grace period: kept');
  assert.equal((await cachedOf(dataDir, gone.sha256)).length, 1);

  offsetMs = 2 * HOUR;
  const swept = await second.sidecar.sweep();
  assert.deepEqual([swept.blobsRemoved, swept.cachedRemoved], [1, 1]);
  assert.deepEqual(await cachedOf(dataDir, gone.sha256), [], 'the cached preview went with its blob');
  assert.equal(await second.sidecar.blobs.has(gone.sha256), false);
  assert.equal((await cachedOf(dataDir, kept.sha256)).length, 1, 'a kept version keeps its cached preview');
  const preview = await fetch(`${second.url}sidecar/v1/chats/kept/files/${kept.id}/preview`);
  assert.equal(preview.status, 200);
});
