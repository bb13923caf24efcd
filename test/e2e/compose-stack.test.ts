/**
 * compose.yaml started for real, as an operator starts it: `podman-compose up -d jupyter sidecar
 * postgres` on the file unchanged (podman and podman-compose; skipped with the reason where they
 * cannot run). Open WebUI's own image cannot be had here, so it is the one service left out; its
 * calls are replayed against the sidecar service instead. The only override is where the two
 * secret files live (an operator's ./secrets is not the test's to write); the sidecar's host port
 * comes from the file's own SIDECAR_PUBLISHED_PORT. The sidecar image is the container test's
 * (cached by content hash), tagged with the name compose.yaml gives it, so nothing is built twice.
 * Then the same for compose.ha.yaml laid over it: two sidecars behind HAProxy on one PostgreSQL.
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
const CHAT = 'compose-chat';

/**
 * A podman-compose project of the repository's compose files, as the test runs it: fresh secrets
 * and passwords, free host ports for `portVariables`, and everything it made removed at the end.
 */
function composeProject(files: string[], portVariables: string[]) {
  const project = `gf-test-compose-${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'gf-compose-'));
  const secrets = { files_api_secret: randomBytes(32).toString('hex'), metrics_token: randomBytes(16).toString('hex') };
  const env: Record<string, string> = {
    JUPYTER_TOKEN: randomBytes(12).toString('hex'),
    SIDECAR_DB_PASSWORD: randomBytes(12).toString('hex'),
    OPENWEBUI_DB_PASSWORD: randomBytes(12).toString('hex'),
  };
  const args = [
    '-p',
    project,
    ...files.flatMap((f) => ['-f', path.join(repoRoot, f)]),
    '-f',
    path.join(dir, 'here.yaml'),
  ];
  let imageTag: string | undefined;
  return {
    env,
    secrets,
    container: (service: string) => `${project}_${service}_1`,
    run: (command: string[]) => podmanCompose([...args, ...command], env),
    async prepare(): Promise<void> {
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
      for (const name of portVariables) env[name] = String(await freePort());
    },
    async remove(): Promise<void> {
      await removeComposeProject(project);
      // The name given twice: `podman untag IMAGE` alone strips every name, the cached tag too.
      if (imageTag) await podman(['untag', imageTag, imageTag]).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('compose.yaml through podman-compose', { skip: skip ?? false }, () => {
  /** Every service but Open WebUI, in the order `podman-compose stop` stops them in reverse. */
  const SERVICES = ['postgres', 'jupyter', 'sidecar'];
  const stack = composeProject(['compose.yaml'], ['SIDECAR_PUBLISHED_PORT']);
  const { env, secrets, container } = stack;
  let sidecar: SidecarAt;
  let fileId: string;

  before(async () => {
    await stack.prepare();
    sidecar = {
      url: `http://127.0.0.1:${env.SIDECAR_PUBLISHED_PORT}/`,
      filesToken: await signToken(secrets.files_api_secret, { chat: CHAT }),
    };
  });
  after(() => stack.remove());

  async function untilAllHealthy(): Promise<void> {
    for (const service of SERVICES) await untilHealthy(container(service));
  }

  /** `podman-compose stop` with the file's stop_grace_period: every service exits 0 within it. */
  async function stopCleanly(): Promise<void> {
    const graceS = seconds(compose.services.sidecar!.stop_grace_period!);
    const started = performance.now();
    await stack.run(['stop', '-t', String(graceS), ...SERVICES]);
    const took = (performance.now() - started) / 1000;
    for (const service of SERVICES) {
      const state = await podman(['inspect', container(service), '--format', '{{.State.Status}} {{.State.ExitCode}}']);
      assert.equal(state, 'exited 0', `${service} stopped cleanly`);
    }
    assert.ok(took < graceS * SERVICES.length, `stopped in ${took.toFixed(1)} s`);
  }

  test("`up -d` starts the services healthy; Open WebUI's calls run through the sidecar service", async () => {
    await stack.run(['up', '-d', '--no-build', ...SERVICES]);
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

    fileId = await executeAndDownload(sidecar, env.JUPYTER_TOKEN!, CHAT);
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
    await stack.run(['start', ...SERVICES]);
    await untilAllHealthy();
    await assertRecordKept(sidecar, CHAT, fileId);
    await stopCleanly();
  });
});

describe('compose.ha.yaml: two sidecars behind HAProxy on one PostgreSQL', { skip: skip ?? false }, () => {
  const SERVICES = ['postgres', 'jupyter', 'sidecar', 'sidecar-2', 'proxy'];
  const SIDECARS = ['sidecar', 'sidecar-2'];
  const stack = composeProject(['compose.yaml', 'compose.ha.yaml'], ['SIDECAR_PUBLISHED_PORT', 'PROXY_PUBLISHED_PORT']);
  const { env, secrets, container } = stack;
  before(() => stack.prepare());
  after(() => stack.remove());

  /** A GET answered by one sidecar itself, from inside its container (sidecar-2 publishes no port). */
  async function askSidecar(service: string, route: string, token: string): Promise<string> {
    return podman([
      'exec',
      container(service),
      'node',
      '-e',
      `fetch('http://127.0.0.1:8890${route}', { headers: { authorization: 'Bearer ${token}' } }).then(async (r) => { if (!r.ok) process.exit(1); console.log(await r.text()); })`,
    ]);
  }

  const completedOn = async (service: string) =>
    Number(
      /^sidecar_executions_total\{reason="completed"\} (\d+)$/m.exec(
        await askSidecar(service, '/metrics', secrets.metrics_token),
      )?.[1] ?? 0,
    );

  test("a chat's executions through the proxy land on both sidecars; its files are listed by both", async () => {
    await stack.run(['up', '-d', '--no-build', ...SERVICES]);
    for (const service of SERVICES) await untilHealthy(container(service));
    const proxy: SidecarAt = {
      url: `http://127.0.0.1:${env.PROXY_PUBLISHED_PORT}/`,
      filesToken: await signToken(secrets.files_api_secret, { chat: CHAT }),
    };
    // Open WebUI's URL in this variant is the proxy's service name.
    const openWebUiUrl =
      readCompose('compose.ha.yaml').services['open-webui']!.environment!.CODE_INTERPRETER_JUPYTER_URL;
    const viaProxyName = await podman([
      'exec',
      container('jupyter'),
      'python3',
      '-c',
      `import urllib.request; print(urllib.request.urlopen('${openWebUiUrl}api/kernelspecs?token=${env.JUPYTER_TOKEN}').status)`,
    ]);
    assert.equal(viaProxyName, '200');

    // Each run is three requests (create, channels, delete), spread round robin: the channels of
    // successive runs land on alternate sidecars. Run until both have run one (at most four runs).
    let fileId = await executeAndDownload(proxy, env.JUPYTER_TOKEN!, CHAT);
    for (let runs = 1; runs < 4 && (await Promise.all(SIDECARS.map(completedOn))).includes(0); runs++)
      fileId = await executeAndDownload(proxy, env.JUPYTER_TOKEN!, CHAT, `run,${runs}\n`);
    const counts = await Promise.all(SIDECARS.map(completedOn));
    assert.ok(
      counts.every((n) => n > 0),
      `executions per sidecar: ${counts.join(', ')}`,
    );

    // One chat, one file at its latest version (each version has its own id): both sidecars list it.
    for (const service of SIDECARS) {
      const listed = JSON.parse(await askSidecar(service, filesApiPaths.files(CHAT), proxy.filesToken!)) as {
        files: { id: string }[];
      };
      assert.deepEqual(
        listed.files.map((f) => f.id),
        [fileId],
        `${service} lists the chat's file`,
      );
    }
  });
});
