/**
 * /metrics after real work: an execution through a real Jupyter Server (Open WebUI's calls), a
 * download, an upload and a preview; the text is checked by Prometheus's own `promtool check
 * metrics`, the numbers against what happened, and no chat id or file name is in it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { runLikeOpenWebUi } from '../support/open-webui-run.ts';
import { API_PREFIX, filesApiPaths, type FileListResponse } from '../../contract/files-api.ts';

const METRICS_TOKEN = 'metrics-token-6d1f0c2a9b7e4415';
const PROMTOOL = '/usr/bin/promtool';

let bed: TestBed;
let proxy: RunningSidecar;

before(async () => {
  bed = await startTestBed();
  proxy = await startSidecar(bed, { metrics: 'on' }, {}, { METRICS_TOKEN });
});
after(async () => {
  await proxy?.stop();
  await bed?.stop();
});

const scrape = (headers: Record<string, string> = { authorization: `Bearer ${METRICS_TOKEN}` }) =>
  fetch(new URL('/metrics', proxy.url), { headers });

/** `name{labels} value` lines as a map from `name{labels}` to the number. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('/metrics', () => {
  test('asks for the token when METRICS_TOKEN is set', async () => {
    const none = await scrape({});
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await scrape({ authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await scrape()).status, 200);
  });

  test('counts an execution, its file, a download, an upload and a preview; promtool accepts it', async (t) => {
    const chatId = 'metrics-chat-4471';
    const run = await runLikeOpenWebUi(
      `${proxy.url}chats/${chatId}/`,
      bed.jupyter.token,
      "open('/mnt/data/secret-name-report.csv', 'w').write('a,b\\n1,2\\n')\nprint('ok')",
    );
    assert.equal(run.stdout, 'ok\n');
    const list = (await (await fetch(new URL(filesApiPaths.files(chatId), proxy.url))).json()) as FileListResponse;
    const file = list.files.find((f) => f.path === 'secret-name-report.csv');
    assert.ok(file, 'the execution recorded its file');
    const content = await fetch(new URL(filesApiPaths.fileContent(chatId, file.id), proxy.url));
    assert.equal(await content.text(), 'a,b\n1,2\n');
    const upload = await fetch(new URL(filesApiPaths.upload(chatId, 'uploaded-name.csv'), proxy.url), {
      method: 'PUT',
      body: 'x,y\n',
    });
    assert.equal(upload.status, 201, await upload.clone().text());
    for (let i = 0; i < 2; i++) {
      const preview: Response = await fetch(
        new URL(`${API_PREFIX}/chats/${chatId}/files/${file.id}/preview`, proxy.url),
      );
      assert.equal(preview.status, 200);
    }

    const res = await scrape();
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const values = samples(text);
    assert.equal(values.get('sidecar_executions_total{reason="completed"}'), 1);
    assert.equal(values.get('sidecar_execution_duration_seconds_count{reason="completed"}'), 1);
    assert.equal(values.get('sidecar_executions_running'), 0);
    assert.equal(values.get('sidecar_files_recorded_total{source="execution"}'), 1);
    assert.equal(values.get('sidecar_recorded_bytes_total{source="execution"}'), 8);
    assert.equal(values.get('sidecar_files_recorded_total{source="upload"}'), 1);
    assert.equal(values.get('sidecar_downloads_total{kind="file",outcome="ok"}'), 1);
    assert.equal(values.get('sidecar_uploads_total{outcome="stored"}'), 1);
    assert.equal(values.get('sidecar_preview_renders_total{task="preview",outcome="ok"}'), 1);
    assert.equal(values.get('sidecar_preview_cache_total{task="preview",result="miss"}'), 1);
    assert.equal(values.get('sidecar_preview_cache_total{task="preview",result="hit"}'), 1);
    assert.ok((values.get('sidecar_scan_duration_seconds_count{cause="execution",outcome="ok"}') ?? 0) >= 1);
    assert.ok((values.get('sidecar_store_operation_duration_seconds_count{operation="append"}') ?? 0) >= 2);
    assert.ok((values.get('sidecar_relayed_bytes_total{direction="from-client"}') ?? 0) > 0, 'the execute_request');
    assert.ok((values.get('sidecar_relayed_bytes_total{direction="to-client"}') ?? 0) > 0, 'its output');
    assert.equal(values.get('sidecar_kernel_connections'), 0, 'Open WebUI closed its socket');
    assert.equal(values.get('sidecar_live_kernels'), 0);
    assert.ok(values.has('process_resident_memory_bytes'), 'process metrics too');
    assert.ok(values.has('sidecar_sse_clients'));
    assert.equal(
      values.get('sidecar_watched_chats'),
      1,
      "the one chat's workspace is watched (--watch-workspaces is on)",
    );
    assert.ok(text.includes('# TYPE sidecar_tool_calls_total counter'), 'the counter a tool server fills');
    for (const leak of [chatId, 'secret-name-report', 'uploaded-name', run.kernelId, file.id])
      assert.ok(!text.includes(leak), `no label carries ${leak}`);

    if (!existsSync(PROMTOOL)) {
      t.skip(`promtool not installed (Debian's prometheus package; scripts/setup.sh installs it)`);
      return;
    }
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);
    assert.equal(check.stdout + check.stderr, '', 'no lint findings either');
  });

  test('live kernels and connections while a kernel channel is open', async () => {
    const created = await fetch(new URL(`chats/live-chat/api/kernels?token=${bed.jupyter.token}`, proxy.url), {
      method: 'POST',
    });
    const kernelId = ((await created.json()) as { id: string }).id;
    const { default: WebSocket } = await import('ws');
    const url = new URL(`chats/live-chat/api/kernels/${kernelId}/channels?token=${bed.jupyter.token}`, proxy.url);
    url.protocol = 'ws:';
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));
    try {
      const values = samples(await (await scrape()).text());
      assert.equal(values.get('sidecar_kernel_connections'), 1);
      assert.equal(values.get('sidecar_live_kernels'), 1);
    } finally {
      socket.close();
      await new Promise((resolve) => socket.once('close', resolve));
      await fetch(new URL(`api/kernels/${kernelId}?token=${bed.jupyter.token}`, proxy.url), { method: 'DELETE' });
    }
  });
});

describe('/metrics is off by default', () => {
  test('the sidecar serves none of its own', async () => {
    const plain = await startSidecar(bed);
    try {
      assert.equal(plain.sidecar.metrics, null);
      const res = await fetch(new URL('/metrics', plain.url));
      assert.ok(!(await res.text()).includes('sidecar_'), 'whatever the gateway answers, not ours');
    } finally {
      await plain.stop();
    }
  });
});
