import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { answerJson, httpCall, HttpCallError } from '../../proxy/http-call.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

let server: http.Server;
let base: URL;
const handlers = new Map<string, Handler>();
/** Requests whose connection closed before their answer ended, by path. */
const cutOff = new Set<string>();

before(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handlers.get(req.url!)!(req, res, Buffer.concat(chunks)));
    res.on('close', () => {
      if (!res.writableFinished) cutOff.add(req.url!);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
});

after(() => {
  server.closeAllConnections();
  server.close();
});

async function failure(call: Promise<unknown>): Promise<HttpCallError> {
  const error = await call.then(
    () => assert.fail('the call should have failed'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof HttpCallError, String(error));
  return error;
}

it('sends the method, headers and body, and returns the whole answer', async () => {
  handlers.set('/echo', (req, res, body) => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        method: req.method,
        auth: req.headers.authorization,
        length: req.headers['content-length'],
        body: body.toString(),
      }),
    );
  });
  const answer = await httpCall(new URL('echo', base), {
    method: 'POST',
    headers: { authorization: 'token t' },
    body: '{"é":1}',
    timeoutMs: 5000,
  });
  assert.equal(answer.status, 200);
  assert.equal(answer.headers['content-type'], 'application/json');
  assert.deepEqual(answerJson(answer), { method: 'POST', auth: 'token t', length: '8', body: '{"é":1}' });
});

it('returns a redirect as the answer, without following it', async () => {
  handlers.set('/moved', (_req, res) => {
    res.writeHead(302, { location: '/echo' }).end();
  });
  const answer = await httpCall(new URL('moved', base));
  assert.equal(answer.status, 302);
  assert.equal(answer.headers.location, '/echo');
});

it('fails with ETIMEDOUT when no answer comes in time, and closes the connection', async () => {
  let closed!: () => void;
  const gone = new Promise<void>((resolve) => (closed = resolve));
  handlers.set('/silent', (_req, res) => res.on('close', closed));
  const error = await failure(httpCall(new URL('silent', base), { timeoutMs: 50 }));
  assert.equal(error.code, 'ETIMEDOUT');
  await gone;
  assert.ok(cutOff.has('/silent'));
});

it('reads no more than the limit: a longer body fails with EMSGSIZE and the connection closes', async () => {
  let closed!: () => void;
  const gone = new Promise<void>((resolve) => (closed = resolve));
  handlers.set('/flood', (_req, res) => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pump = () => {
      while (res.write(chunk));
    };
    res.on('drain', pump);
    res.on('close', closed);
    pump();
  });
  const error = await failure(httpCall(new URL('flood', base), { maxBodyBytes: 100_000 }));
  assert.equal(error.code, 'EMSGSIZE');
  await gone;
  assert.ok(cutOff.has('/flood'));
});

it('with maxBodyBytes 0, drains the body without keeping it', async () => {
  handlers.set('/big', (_req, res) => res.end(Buffer.alloc(3 * 1024 * 1024)));
  const answer = await httpCall(new URL('big', base), { maxBodyBytes: 0 });
  assert.equal(answer.status, 200);
  assert.equal(answer.body.length, 0);
});

it('fails with the socket errno when nothing listens, or the answer breaks off', async () => {
  const spare = http.createServer();
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
  const port = (spare.address() as AddressInfo).port;
  await new Promise((resolve) => spare.close(resolve));
  assert.equal((await failure(httpCall(new URL(`http://127.0.0.1:${port}/`)))).code, 'ECONNREFUSED');

  handlers.set('/cut', (_req, res) => {
    res.writeHead(200, { 'content-length': '1000' });
    res.write('partial', () => res.destroy());
  });
  assert.equal((await failure(httpCall(new URL('cut', base)))).code, 'ECONNRESET');
});
