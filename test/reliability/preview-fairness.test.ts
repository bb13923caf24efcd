/**
 * Issue 22: 40 distinct files that always time out in one chat left another chat with 503 on
 * every try (one queue for all chats, filled by the flood). The attack on a real sidecar: chat A
 * asks for previews of 40 distinct spreadsheets whose render runs far past the time limit, all at
 * once; chat B's previews must still be served. Then A asks again for a file whose render timed
 * out: the remembered timeout is answered without a render, seen in /metrics (a counter, not a
 * clock).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import yazl from 'yazl';
import type { FileSummary } from '../../contract/files-api.ts';
import { startChildSidecar, type ChildSidecar } from './child-sidecar.ts';
import { refused, reportAfter, survived } from './reliability-counter.ts';

reportAfter('preview-fairness');

const FLOOD = 40;
/** Far below what A's render needs (tens of millions of elements to parse), far above what B's needs. */
const TIMEOUT_MS = 2000;
let dir: string;
let sidecar: ChildSidecar;

/**
 * An ods whose content.xml is ~190 MiB of empty unknown elements (under the 200 MiB unzip cap,
 * so only the time limit stops it; a few hundred kB zipped), with a two-character zip comment
 * that `withId` rewrites: distinct files (distinct hashes) from one compression.
 */
async function slowOds(): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const block = Buffer.from('<x/>'.repeat(256 * 1024));
  zip.addReadStream(
    Readable.from(
      (async function* () {
        yield Buffer.from('<document-content><body><spreadsheet><table name="T">');
        for (let i = 0; i < 190; i++) yield block;
        yield Buffer.from('</table></spreadsheet></body></document-content>');
      })(),
    ),
    'content.xml',
  );
  zip.end({ comment: '00', forceZip64Format: false });
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const withId = (zip: Buffer, id: number) => {
  const copy = Buffer.from(zip);
  copy.write(String(id).padStart(2, '0'), copy.byteLength - 2, 'latin1');
  return copy;
};

const api = (chat: string, rest: string) => `${sidecar.base}sidecar/v1/chats/${chat}/${rest}`;

async function upload(chat: string, name: string, bytes: Buffer | string): Promise<string> {
  const res = await fetch(api(chat, `uploads/${name}`), { method: 'PUT', body: new Uint8Array(Buffer.from(bytes)) });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as FileSummary).id;
}

async function preview(chat: string, id: string): Promise<{ status: number; code?: string; message?: string }> {
  const res = await fetch(api(chat, `files/${id}/preview`));
  const body = (await res.json()) as { error?: { code: string; message: string } };
  return { status: res.status, code: body.error?.code, message: body.error?.message };
}

async function metric(line: string): Promise<number> {
  const text = await (await fetch(`${sidecar.base}metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gf-fair-'));
  sidecar = await startChildSidecar(dir, { PREVIEW_TIMEOUT_MS: String(TIMEOUT_MS), METRICS: 'on' });
});

after(async () => {
  await sidecar.stop();
  await rm(dir, { recursive: true, force: true });
});

test(`chat A floods the render pool with ${FLOOD} files that always time out; chat B's previews are served`, async () => {
  const slow = await slowOds();
  const ids: string[] = [];
  for (let i = 0; i < FLOOD; i++) ids.push(await upload('chat-a', `slow${i}.ods`, withId(slow, i)));
  const small = ['b1.csv', 'b2.csv', 'b3.csv'];
  const bIds = await Promise.all(small.map((name, i) => upload('chat-b', name, `key,value\nrow,${i}\n`)));

  const settled: Array<Awaited<ReturnType<typeof preview>>> = [];
  // Not awaited as a whole: A's queued renders each run to the time limit; the sidecar is stopped instead.
  const flood = ids.map((id) =>
    preview('chat-a', id).then(
      (answer) => (settled.push(answer), answer),
      () => null,
    ),
  );
  // B asks while A's flood holds every slot A may have and fills A's queue.
  for (const id of bIds) {
    const answer = await preview('chat-b', id);
    assert.equal(answer.status, 200, `chat B got ${answer.status} ${answer.code}`);
  }
  survived();

  const first = (await flood[0])!;
  assert.equal(first.status, 422);
  assert.equal(first.code, 'ERR_PREVIEW_TIMEOUT');
  // A's one slot and its own queue (8 by default): the rest of A's flood was turned away at once.
  const busy = settled.filter((a) => a.status === 503);
  assert.ok(busy.length >= FLOOD - 1 - 8 - 1, `${busy.length} turned away`);
  assert.ok(busy.every((a) => a.code === 'ERR_PREVIEW_BUSY'));
  refused(busy.length + 1);

  // The file whose render timed out, asked for again: answered from memory, no render.
  const remembered = 'sidecar_preview_cache_total{task="preview",result="remembered"}';
  assert.equal(await metric(remembered), 0);
  const again = await preview('chat-a', ids[0]!);
  assert.equal(again.status, 422);
  assert.equal(again.code, 'ERR_PREVIEW_TIMEOUT');
  assert.match(again.message ?? '', /not tried again/);
  assert.equal(await metric(remembered), 1);
  refused();
  console.log(`# chat B: ${small.length} of ${small.length} served; chat A: ${busy.length} turned away (503)`);
});
