/**
 * compose.yaml started for real, as an operator starts it: `podman-compose up -d jupyter sidecar
 * postgres` on the file unchanged (podman and podman-compose; skipped with the reason where they
 * cannot run). Open WebUI's own image cannot be had here, so it is the one service left out; its
 * calls are replayed against the sidecar service instead. The only override is where the two
 * secret files live (an operator's ./secrets is not the test's to write); the sidecar's host port
 * comes from the file's own SIDECAR_PUBLISHED_PORT. The sidecar image is the container test's
 * (cached by content hash), tagged with the name compose.yaml gives it, so nothing is built twice.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { filesApiPaths } from '../../contract/files-api.ts';
import { readCompose, repoRoot, seconds } from '../support/compose-file.ts';
import { executeAndDownload, assertRecordKept, type SidecarAt } from '../support/container-checks.ts';
import { freePort } from '../support/free-port.ts';
import {
  buildRepoImage,
  composeUnavailable,
  ensureBaseImages,
  podman,
  podmanCompose,
  podmanUnavailable,
  removeComposeProject,
  untilHealthy,
} from '../support/podman.ts';
import { signToken } from '../support/tokens.ts';

const skip = podmanUnavailable() ?? composeUnavailable();
if (skip) console.log(`# compose stack test skipped: ${skip}`);

const compose = readCompose();
/** Every service but Open WebUI, in the order `podman-compose stop` should stop them in reverse. */
const SERVICES = ['postgres', 'jupyter', 'sidecar'];
const CHAT = 'compose-chat';

describe('compose.yaml through podman-compose', { skip: skip ?? false }, () => {
  const project = `gf-test-compose-${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'gf-compose-'));
  const secrets = { files_api_secret: randomBytes(32).toString('hex'), metrics_token: randomBytes(16).toString('hex') };
  const env = {
    JUPYTER_TOKEN: randomBytes(12).toString('hex'),
    SIDECAR_DB_PASSWORD: randomBytes(12).toString('hex'),
    OPENWEBUI_DB_PASSWORD: randomBytes(12).toString('hex'),
    SIDECAR_PUBLISHED_PORT: '',
  };
  const composeArgs = ['-p', project, '-f', path.join(repoRoot, 'compose.yaml'), '-f', path.join(dir, 'here.yaml')];
  const container = (service: string) => `${project}_${service}_1`;
  let sidecar: SidecarAt;
  let imageTag: string;
  let fileId: string;

  before(async () => {
    await ensureBaseImages();
    const built = await buildRepoImage('localhost/generated-files-sidecar-test');
    console.log(`# image ${built.tag} ${built.built ? 'built' : 'cached'}`);
    imageTag = `localhost/${compose.services.sidecar!.image}`;
    await podman(['tag', built.tag, imageTag]);
    const override: Record<string, { file: string }> = {};
    for (const [name, value] of Object.entries(secrets)) {
      // Mounted into the containers, read there by the non-root `node` user.
      writeFileSync(path.join(dir, name), value, { mode: 0o644 });
      override[name] = { file: path.join(dir, name) };
    }
    writeFileSync(path.join(dir, 'here.yaml'), JSON.stringify({ secrets: override }));
    env.SIDECAR_PUBLISHED_PORT = String(await freePort());
    sidecar = {
      url: `http://127.0.0.1:${env.SIDECAR_PUBLISHED_PORT}/`,
      filesToken: await signToken(secrets.files_api_secret, { chat: CHAT }),
    };
  });
  after(async () => {
    await removeComposeProject(project);
    // The name given twice: `podman untag IMAGE` alone strips every name, the cached tag too.
    if (imageTag) await podman(['untag', imageTag, imageTag]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  async function untilAllHealthy(): Promise<void> {
    for (const service of SERVICES) await untilHealthy(container(service));
  }

  /** `podman-compose stop` with the file's stop_grace_period: every service exits 0 within it. */
  async function stopCleanly(): Promise<void> {
    const graceS = seconds(compose.services.sidecar!.stop_grace_period!);
    const started = performance.now();
    await podmanCompose([...composeArgs, 'stop', '-t', String(graceS), ...SERVICES], env);
    const took = (performance.now() - started) / 1000;
    for (const service of SERVICES) {
      const state = await podman(['inspect', container(service), '--format', '{{.State.Status}} {{.State.ExitCode}}']);
      assert.equal(state, 'exited 0', `${service} stopped cleanly`);
    }
    assert.ok(took < graceS * SERVICES.length, `stopped in ${took.toFixed(1)} s`);
  }

  test("`up -d` starts the services healthy; Open WebUI's calls run through the sidecar service", async () => {
    await podmanCompose([...composeArgs, 'up', '-d', '--no-build', ...SERVICES], env);
    await untilAllHealthy();
    // Open WebUI reaches the sidecar by its service name (CODE_INTERPRETER_JUPYTER_URL): from
    // another container of the stack, that name resolves and the sidecar answers to it.
    const viaServiceName = await podman([
      'exec',
      container('jupyter'),
      'python3',
      '-c',
      `import urllib.request; print(urllib.request.urlopen('${compose.services['open-webui']!.environment!.CODE_INTERPRETER_JUPYTER_URL}api/kernelspecs?token=${env.JUPYTER_TOKEN}').status)`,
    ]);
    assert.equal(viaServiceName, '200');

    fileId = await executeAndDownload(sidecar, env.JUPYTER_TOKEN, CHAT);
    const anonymous = await fetch(new URL(filesApiPaths.files(CHAT), sidecar.url));
    assert.equal(anonymous.status, 401, 'FILES_API_SECRET_FILE: the files API asks for a token');
    const metrics = new URL('metrics', sidecar.url);
    assert.equal((await fetch(metrics)).status, 401, 'METRICS_TOKEN_FILE: /metrics asks for the token');
    const scraped = await fetch(metrics, { headers: { authorization: `Bearer ${secrets.metrics_token}` } });
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /^sidecar_executions_total\{reason="completed"\} 1$/m);
  });

  test('`stop` exits 0 everywhere; started again, the records are all there', async () => {
    assert.ok(fileId, 'the first test recorded a file');
    await stopCleanly();
    await podmanCompose([...composeArgs, 'start', ...SERVICES], env);
    await untilAllHealthy();
    await assertRecordKept(sidecar, CHAT, fileId);
    await stopCleanly();
  });
});
