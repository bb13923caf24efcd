/**
 * Revoking a chat's links when sidecars' clocks differ. A link is stamped by the clock of the
 * sidecar that minted it; revocation is stamped by the revoking sidecar's. A minting sidecar whose
 * clock is ahead stamps a link minted just before the revocation as after it, and that link would
 * outlive the revocation. --revocation-skew-s (30 s) refuses links stamped up to that long after
 * a revocation. One sidecar plays both, its clock moved between minting and revoking.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FileLinkResponse, FileListResponse } from '../../contract/files-api.ts';
import { signToken } from '../support/tokens.ts';
import { startFakeGatewaySidecar, type FakeGatewaySidecar } from '../support/fake-gateway-sidecar.ts';
import { refused, reportAfter } from './reliability-counter.ts';

reportAfter('link-revocation-skew');

const SECRET = 'reliability-secret-that-is-at-least-32-bytes!';
const SECOND = 1000;
/** The sidecar's clock: real time plus this (ahead when positive). */
let offsetMs = 0;
let running: FakeGatewaySidecar;

before(async () => {
  running = await startFakeGatewaySidecar({}, { FILES_API_SECRET: SECRET }, { now: () => Date.now() + offsetMs });
});

after(() => running?.stop());

async function call(chat: string, method: string, rest: string, body?: string): Promise<Response> {
  const token = await signToken(SECRET, { chat });
  return fetch(`${running.url}sidecar/v1/chats/${chat}${rest}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
    body,
  });
}

/** Uploads one file to `chat` and answers its id. */
async function fileIn(chat: string): Promise<string> {
  assert.equal((await call(chat, 'PUT', '/uploads/report.csv', 'a,b\n1,2\n')).status, 201);
  const list = (await (await call(chat, 'GET', '/files')).json()) as FileListResponse;
  return list.files[0]!.id;
}

/** A download link minted with the sidecar's clock `offset` ms off. */
async function linkMinted(chat: string, id: string, offset: number): Promise<string> {
  offsetMs = offset;
  const res = await call(chat, 'POST', `/files/${id}/link`);
  assert.equal(res.status, 200);
  return new URL(((await res.json()) as FileLinkResponse).url, running.url).href;
}

async function revokedWithClock(chat: string, offset: number): Promise<void> {
  offsetMs = offset;
  assert.equal((await call(chat, 'POST', '/links/revoke')).status, 200);
}

test('the default skew is 30 s, as the tokens own clock tolerance', () => {
  assert.equal(running.options.revocationSkewMs, 30 * SECOND);
});

test('a link minted before the revocation by a sidecar whose clock is 20 s ahead is refused (401)', async () => {
  const id = await fileIn('ahead');
  const link = await linkMinted('ahead', id, 20 * SECOND);
  assert.equal((await fetch(link)).status, 200, 'the link works before the revocation');
  await revokedWithClock('ahead', 0);
  const res = await fetch(link);
  assert.equal(res.status, 401, 'stamped 20 s after the revocation, minted before it: refused');
  assert.match(res.headers.get('www-authenticate') ?? '', /invalid_token/);
  refused();
});

test('a link minted more than the skew after the revocation works; one within it is refused', async () => {
  const id = await fileIn('later');
  // The revoking sidecar's clock 40 s behind: the revocation is stamped 40 s before now.
  await revokedWithClock('later', -40 * SECOND);
  const later = await linkMinted('later', id, 0);
  assert.equal((await fetch(later)).status, 200, 'stamped 40 s after the revocation: past the 30 s skew');
  await revokedWithClock('later', -10 * SECOND);
  const within = await linkMinted('later', id, 0);
  assert.equal((await fetch(within)).status, 401, 'stamped 10 s after the revocation: within the skew, refused');
  refused();
});
