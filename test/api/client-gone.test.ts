import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { Readable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import type { FileListResponse } from '../../contract/files-api.ts';
import { seed, startApi, url, type ApiFixture } from '../support/api-fixture.ts';
import { within } from '../support/within.ts';

/** Stored in a zip, not deflated, and far more than the sockets' buffers hold: never read to its end. */
const BIG_BYTES = 32 * 1024 * 1024;

/**
 * Holds requests ahead of the routes until their client has gone, then lets them through, while
 * `holding` is on; `arrival()` resolves when the next held request reached the sidecar.
 */
function clientGoneHold() {
  let arrived: (() => void) | null = null;
  const hold = {
    holding: false,
    arrival: () => new Promise<void>((resolve) => (arrived = resolve)),
    handler: (req: http.IncomingMessage, _res: unknown, next: () => void) => {
      if (!hold.holding) return next();
      arrived?.();
      if (req.destroyed) next();
      else req.once('close', () => next());
    },
  };
  return hold;
}

/** The first blob stream a route opens after this call. */
function nextBlobStream(api: ApiFixture): Promise<Readable> {
  return new Promise((resolve) => {
    const open = api.blobs.open.bind(api.blobs);
    api.blobs.open = async (...args) => {
      const stream = await open(...args);
      resolve(stream);
      return stream;
    };
  });
}

/** A GET whose client goes away once the request reached the sidecar. */
async function getAndLeave(api: ApiFixture, path: string, arrival: Promise<void>): Promise<void> {
  const req = http.get(`${api.origin}${path}`);
  req.on('error', () => {});
  await arrival;
  req.destroy();
}

describe('files API: a client that went away before its route ran', () => {
  let api: ApiFixture;
  afterEach(() => api.close());

  it('an event stream subscribes and is unsubscribed again', { timeout: 10_000 }, async () => {
    const hold = clientGoneHold();
    api = await startApi({ beforeRoutes: hold.handler, sseHeartbeatMs: 10 });
    await seed(api, 'c1', { 'a.csv': 'a' });
    const events = api.recorder.events;
    const unsubscribed = new Promise<void>((resolve) => {
      const on = events.on.bind(events);
      events.on = (chatId, listener) => {
        const unsubscribe = on(chatId, listener);
        return () => {
          unsubscribe();
          resolve();
        };
      };
    });
    hold.holding = true;
    await getAndLeave(api, url('c1', '/events'), hold.arrival());
    // Before the fix the route listened for a 'close' that had come already: the listener and
    // the heartbeat stayed for good.
    await within(unsubscribed, 5000, 'the event stream was never unsubscribed');
    assert.equal(events.listenerCount(), 0);
  });

  it("an HTML frame's blob stream is closed", { timeout: 10_000 }, async () => {
    const hold = clientGoneHold();
    api = await startApi({ beforeRoutes: hold.handler });
    await seed(api, 'c1', { 'page.html': '<p>hello</p>' });
    const { files } = (await api.request.get(url('c1', '/files'))).body as FileListResponse;
    const page = files.find((f) => f.name === 'page.html')!;
    const opened = nextBlobStream(api);
    hold.holding = true;
    await getAndLeave(api, url('c1', `/files/${page.id}/preview/frame`), hold.arrival());
    const stream = await within(opened, 5000, 'no blob stream was opened');
    // Before the fix it was piped into the closed response and waited for a 'drain' that never comes.
    if (!stream.destroyed) await within(once(stream, 'close'), 5000, "the blob stream's fd was never closed");
  });
  it("an archive's blob stream is closed", { timeout: 10_000 }, async () => {
    const hold = clientGoneHold();
    api = await startApi({ beforeRoutes: hold.handler });
    await seed(api, 'c1', { 'big.png': randomBytes(BIG_BYTES) });
    const opened = nextBlobStream(api);
    hold.holding = true;
    await getAndLeave(api, url('c1', '/archive.zip'), hold.arrival());
    const stream = await within(opened, 5000, 'no blob stream was opened');
    if (!stream.destroyed) await within(once(stream, 'close'), 5000, "the blob stream's fd was never closed");
  });
});

describe('files API: a download cut mid-way', () => {
  let api: ApiFixture;
  afterEach(() => api.close());

  it("an archive's blob stream is closed", { timeout: 10_000 }, async () => {
    api = await startApi();
    await seed(api, 'c1', { 'big.png': randomBytes(BIG_BYTES) });
    const opened = nextBlobStream(api);
    const req = http.get(`${api.origin}${url('c1', '/archive.zip')}`);
    req.on('error', () => {});
    const [response] = (await once(req, 'response')) as [http.IncomingMessage];
    await once(response, 'data');
    response.pause();
    const stream = await within(opened, 5000, 'no blob stream was opened');
    req.destroy();
    if (!stream.destroyed) await within(once(stream, 'close'), 5000, "the blob stream's fd was never closed");
  });
});

describe('files API: a restore refused before its bytes are read', () => {
  let api: ApiFixture;
  afterEach(() => api.close());

  it("closes the version's blob stream", { timeout: 10_000 }, async () => {
    api = await startApi();
    // A scan records any name the code wrote; an upload (and so a restore) refuses backslashes.
    await seed(api, 'c1', { 'back\\slash.csv': 'a,b\n' });
    const { files } = (await api.request.get(url('c1', '/files'))).body as FileListResponse;
    const file = files.find((f) => f.name === 'back\\slash.csv')!;
    const opened = nextBlobStream(api);
    await api.request.post(url('c1', `/files/${file.id}/restore`)).expect(400);
    const stream = await within(opened, 5000, 'no blob stream was opened');
    // Before the fix nothing read it, and nothing closed it: one fd more per refused restore.
    if (!stream.destroyed) await within(once(stream, 'close'), 5000, "the blob stream's fd was never closed");
  });
});
