import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pumpFile } from '../../proxy/api/file-pump.ts';

describe('pumpFile', () => {
  let dir: string;
  let file: string;
  const bytes = randomBytes(3 * 1024 * 1024 + 17); // not a whole number of chunks
  let server: http.Server;
  let base: string;
  /** What the last request's pump did: resolved, or the error it rejected with. */
  let outcome: Promise<unknown>;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pump-test-'));
    file = path.join(dir, 'blob');
    await writeFile(file, bytes);
    server = http.createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      const start = Number(url.searchParams.get('start'));
      const end = Number(url.searchParams.get('end'));
      const fd = openSync(file, 'r');
      res.writeHead(200, { 'content-length': String(Math.max(0, end - start + 1)) });
      outcome = pumpFile(fd, res, start, end).then(
        () => 'sent',
        (error: unknown) => {
          res.destroy(); // as sendFileContent does: the headers are gone, so cut the response
          return error;
        },
      );
      void outcome.finally(() => closeSync(fd));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('sends exactly the bytes asked for: whole file, a middle range, nothing', async () => {
    for (const [start, end] of [
      [0, bytes.length - 1],
      [131_000, 400_123],
      [0, -1],
    ] as const) {
      const res = await fetch(`${base}?start=${start}&end=${end}`);
      const body = Buffer.from(await res.arrayBuffer());
      assert.ok(body.equals(bytes.subarray(start, end + 1)), `bytes ${start}-${end}`);
      assert.equal(await outcome, 'sent');
    }
  });

  it('rejects, and does not hang, when the client goes away mid-way', { timeout: 15_000 }, async () => {
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${base}?start=0&end=${bytes.length - 1}`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      setTimeout(() => reject(new Error('no data')), 5000).unref();
    });
    const result = await outcome;
    assert.ok(result instanceof Error, `rejected: ${String(result)}`);
  });

  it('rejects with a coded error when the file is shorter than the range', async () => {
    const res = await fetch(`${base}?start=0&end=${bytes.length + 1000}`).catch(() => null);
    await res?.arrayBuffer().catch(() => null);
    const result = await outcome;
    assert.equal((result as { code?: string }).code, 'ERR_FILE_SHORTER_THAN_EXPECTED');
  });
});
