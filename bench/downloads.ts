/**
 * Scenario 4: downloads through the files API vs the same bytes from a plain Node http server
 * (fs.createReadStream piped to the response) on the same machine: one 1 GiB file, and 50
 * concurrent downloads of a 10 MB file. The sidecar's RSS is sampled during its downloads.
 */
import { open } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { FileListResponse } from '../contract/files-api.ts';
import { MB, rssBytes, sampleRss, startKernel, type BenchBed } from './bench-bed.ts';
import type { ResultRow, ScenarioResult } from './results-table.ts';
import { startScriptServer, type ScriptServer } from './script-server.ts';
import { alternate, summarize, timed } from './stats.ts';

/** Writes `bytes` of non-repeating-enough data quickly (a 1 MiB random block with a counter). */
async function writeBigFile(file: string, bytes: number): Promise<void> {
  const handle = await open(file, 'w');
  try {
    const block = Buffer.alloc(MB);
    for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
    for (let written = 0, n = 0; written < bytes; written += block.length, n++) {
      block.writeUInt32LE(n, 0);
      await handle.write(block, 0, Math.min(block.length, bytes - written));
    }
  } finally {
    await handle.close();
  }
}

/** GETs a URL and counts the body bytes; rejects unless it is a 200 of `expect` bytes. */
function download(url: string, expect: number): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let got = 0;
        res.on('data', (chunk: Buffer) => (got += chunk.length));
        res.on('end', () =>
          res.statusCode === 200 && got === expect
            ? resolve()
            : reject(new Error(`${url}: HTTP ${res.statusCode}, ${got} of ${expect} bytes`)),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/**
 * The baseline: a plain node:http server piping fs.createReadStream, in a child process of its
 * own like the sidecar (so it does not share the bench client's thread).
 */
const RAW_SERVER = `
const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
const root = process.argv[1];
const server = http.createServer((req, res) => {
  const file = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
  fs.stat(file, (error, stats) => {
    if (error) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': stats.size });
    fs.createReadStream(file).pipe(res);
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

function startRawServer(root: string): Promise<ScriptServer> {
  return startScriptServer('raw file server', RAW_SERVER, [root]);
}

export async function benchDownloads(bench: BenchBed): Promise<ScenarioResult> {
  const bigBytes = bench.quick ? 256 * MB : 1024 * MB;
  const smallBytes = 10 * MB;
  const concurrency = 50;
  const chatId = 'bench-downloads';
  const dir = path.join(bench.workspaceRoot, chatId);
  const kernel = await startKernel(bench, 'sidecar', chatId);
  const client = await kernel.connect();
  const raw = await startRawServer(path.join(bench.dataDir, 'blobs'));
  try {
    // Into the workspace, then recorded by the next execution's before-snapshot (untimed).
    await writeBigFile(path.join(dir, 'big.csv'), bigBytes);
    await writeBigFile(path.join(dir, 'small.csv'), smallBytes);
    await client.execute('1+1', { timeoutMs: 300_000 });
    const list = (await (
      await fetch(`${bench.sidecarUrl}sidecar/v1/chats/${chatId}/files`)
    ).json()) as FileListResponse;
    const big = list.files.find((f) => f.path === 'big.csv');
    const small = list.files.find((f) => f.path === 'small.csv');
    if (!big || !small) throw new Error(`files not recorded: ${JSON.stringify(list).slice(0, 300)}`);
    // Both servers read the same blob file, so the page cache favors neither.
    const blobUrl = (sha: string) => `${raw.url}${sha.slice(0, 2)}/${sha}`;

    // Recording the 1 GiB file (above) grew the sidecar's heap; measure downloads on a fresh process.
    const idleAfterRecording = await rssBytes(bench.sidecar.pid!);
    await bench.restartSidecar();
    const pid = bench.sidecar.pid!;
    const idle = await rssBytes(pid);
    const rawIdle = await rssBytes(raw.pid);
    // Both sides are sampled the same way, so the sampling costs neither side more.
    const peaks = { big: { sidecar: 0, raw: 0 }, many: { sidecar: 0, raw: 0 } };
    const sampled = (phase: keyof typeof peaks, side: 'sidecar' | 'raw', work: () => Promise<unknown>) => async () => {
      const rss = sampleRss(side === 'sidecar' ? pid : raw.pid, 10);
      try {
        return await timed(work);
      } finally {
        peaks[phase][side] = Math.max(peaks[phase][side], (await rss.stop()).peak);
      }
    };
    const runs = bench.quick ? 2 : 4;
    const one = await alternate(
      runs,
      1,
      sampled('big', 'raw', () => download(blobUrl(big.sha256), bigBytes)),
      sampled('big', 'sidecar', () => download(new URL(big.downloadUrl, bench.sidecarUrl).href, bigBytes)),
    );
    const many = await alternate(
      runs + 1,
      1,
      sampled('many', 'raw', () =>
        Promise.all(Array.from({ length: concurrency }, () => download(blobUrl(small.sha256), smallBytes))),
      ),
      sampled('many', 'sidecar', () =>
        Promise.all(
          Array.from({ length: concurrency }, () =>
            download(new URL(small.downloadUrl, bench.sidecarUrl).href, smallBytes),
          ),
        ),
      ),
    );
    const throughputRow = (metric: string, ms: { a: number[]; b: number[] }, bytes: number): ResultRow => {
      const d = summarize(ms.a.map((t) => bytes / MB / (t / 1000)));
      const s = summarize(ms.b.map((t) => bytes / MB / (t / 1000)));
      const ratio = s.median / d.median;
      return {
        scenario: '4 downloads',
        metric,
        unit: 'MB/s',
        direct: d,
        sidecar: s,
        ratio,
        goal: 'ratio ≥ 0.9',
        pass: ratio >= 0.9,
      };
    };
    const rssRow = (metric: string, peak: { sidecar: number; raw: number }, goal: string): ResultRow => ({
      scenario: '4 downloads',
      metric,
      unit: 'MB',
      direct: { median: peak.raw / MB, p95: peak.raw / MB, count: 1 },
      sidecar: { median: peak.sidecar / MB, p95: peak.sidecar / MB, count: 1 },
      ratio: peak.sidecar / peak.raw,
      goal,
      pass: goal === 'report' ? null : peak.sidecar < 100 * MB,
    });
    const manyD = summarize(many.a);
    const manyS = summarize(many.b);
    const manyRatio = manyS.median / manyD.median;
    return {
      rows: [
        throughputRow(`${(bigBytes / MB / 1024).toFixed(2)} GiB file, ${runs} runs`, one, bigBytes),
        {
          scenario: '4 downloads',
          metric: `${concurrency} concurrent downloads of 10 MB, total time, ${runs + 1} runs`,
          unit: 'ms',
          direct: manyD,
          sidecar: manyS,
          ratio: manyRatio,
          goal: 'time ratio ≤ 1.11 (≈ throughput ≥ 0.9)',
          pass: manyRatio <= 1 / 0.9,
        },
        rssRow(
          `peak RSS during the ${(bigBytes / MB / 1024).toFixed(2)} GiB downloads: raw server → sidecar`,
          peaks.big,
          'sidecar < 100 MB',
        ),
        rssRow(`peak RSS during the ${concurrency} concurrent downloads: raw server → sidecar`, peaks.many, 'report'),
      ],
      notes: [
        'The files were written into the chat workspace and recorded by the next execution (untimed), then downloaded from the files API (GET …/files/{id}/content, no auth secret set). Baseline: a plain node:http server piping fs.createReadStream of the same blob file, in a child process of its own. The client (node:http, no keep-alive) runs in the bench process for both.',
        `RSS (VmRSS, sampled every 10 ms on both sides during their own downloads): the sidecar (the compiled build, dist/proxy/main.js) started at ${(bench.startRss / MB).toFixed(0)} MB and stood at ${(idleAfterRecording / MB).toFixed(0)} MB after recording the files (copying and hashing 1 GiB, and whatever earlier scenarios left); the downloads are served by a fresh sidecar process on the same data, idle at ${(idle / MB).toFixed(0)} MB; the raw server idles at ${(rawIdle / MB).toFixed(0)} MB.`,
      ],
    };
  } finally {
    await raw.close();
    await client.close();
    await kernel.shutdown();
  }
}
