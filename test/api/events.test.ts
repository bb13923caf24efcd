import assert from 'node:assert/strict';
import http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import { signToken } from '../support/tokens.ts';
import type { FileSummary, SkippedFile } from '../../contract/files-api.ts';
import { seed, SECRET, startApi, url, type ApiFixture } from '../support/api-fixture.ts';

interface SseClient {
  response: http.IncomingMessage;
  /** Resolves with the next event of that name. */
  next(event: string): Promise<unknown>;
  /** Resolves once the raw stream so far matches. */
  seen(pattern: RegExp): Promise<void>;
  raw(): string;
  close(): void;
}

/** A real SSE client: a plain GET whose body is read as it streams. */
function connect(origin: string, path: string): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${origin}${path}`, (response) => {
      let buffer = '';
      let all = '';
      const events: Array<{ event: string; data: string }> = [];
      const waiters: Array<() => void> = [];
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        all += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data });
        }
        for (const waiter of waiters.splice(0)) waiter();
      });
      resolve({
        response,
        raw: () => all,
        seen(pattern) {
          return new Promise((done) => {
            const check = () => (pattern.test(all) ? done() : void waiters.push(check));
            check();
          });
        },
        next(name) {
          return new Promise((done, fail) => {
            const timer = setTimeout(() => fail(new Error(`no ${name} event`)), 3000);
            const check = () => {
              const index = events.findIndex((e) => e.event === name);
              if (index === -1) return void waiters.push(check);
              clearTimeout(timer);
              done(JSON.parse(events.splice(index, 1)[0]!.data));
            };
            check();
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

describe('files API events (SSE)', () => {
  let api: ApiFixture;
  afterEach(() => api.close());

  it('streams file and skipped events, heartbeats, and cleans up on close', async () => {
    api = await startApi({ auth: { secret: SECRET }, sseHeartbeatMs: 30, policy: { maxFileBytes: 5 } });
    await seed(api, 'c1', { 'first.csv': '1' });
    const token = await signToken(SECRET, { chat: 'c1' });
    const client = await connect(api.origin, `${url('c1', '/events')}?token=${token}`);
    assert.equal(client.response.statusCode, 200);
    assert.match(client.response.headers['content-type']!, /^text\/event-stream/);
    assert.equal(api.recorder.events.listenerCount('c1'), 1);

    await api.write('c1', 'first.csv', '2');
    await api.write('c1', 'huge.csv', '123456789');
    await api.recorder.scan('c1', { source: 'between-executions' });
    const file = (await client.next('file')) as FileSummary;
    assert.equal(file.path, 'first.csv');
    assert.equal(file.version, 2);
    assert.deepEqual(
      file.versions.map((v) => v.version),
      [2, 1],
    );
    const skipped = (await client.next('skipped')) as SkippedFile;
    assert.deepEqual([skipped.path, skipped.reason], ['huge.csv', 'too-large']);

    await client.seen(/: heartbeat\n\n/);

    client.close();
    for (let i = 0; i < 1000 && api.recorder.events.listenerCount() > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(api.recorder.events.listenerCount(), 0);
  });

  it('needs a token for the chat', async () => {
    api = await startApi({ auth: { secret: SECRET } });
    await seed(api, 'c1', { 'a.csv': 'a' });
    const none = await connect(api.origin, url('c1', '/events'));
    assert.equal(none.response.statusCode, 401);
    none.close();
    const other = await connect(api.origin, `${url('c1', '/events')}?token=${await signToken(SECRET, { chat: 'c2' })}`);
    assert.equal(other.response.statusCode, 404);
    other.close();
    assert.equal(api.recorder.events.listenerCount(), 0);
  });
});
