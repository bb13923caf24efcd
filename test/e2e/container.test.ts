/**
 * The image as operators run it, with real containers (podman; skipped with the reason where it
 * cannot run): the repository's Dockerfile built unchanged from local stand-ins of the official
 * base images (--pull=never), beside a Jupyter Server container that mounts the same named volume
 * at another path (--kernel-workspace-root). An execution with Open WebUI's exact calls, the file
 * downloaded, `podman stop`: exit 0 within the grace period, and after a restart every record is
 * there. Then the same on the PostgreSQL container.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { answers, assertRecordKept, executeAndDownload, startJupyterContainer } from '../support/container-checks.ts';
import { freePort } from '../support/free-port.ts';
import { buildRepoImage, ensureBaseImages, podman, podmanUnavailable, PodmanScope } from '../support/podman.ts';

const skip = podmanUnavailable();
if (skip) console.log(`# container test skipped: ${skip}`);

const POSTGRES_IMAGE = 'docker.io/library/postgres:15-bookworm';
const JUPYTER_TOKEN = 'container-test-token-5e1b';
const STOP_TIMEOUT_S = 10;

describe('the image, with real containers', { skip: skip ?? false }, () => {
  const scope = new PodmanScope();
  let image: string;
  let jupyterUrl: string;
  let workspaces: string;

  before(async () => {
    const started = performance.now();
    await ensureBaseImages();
    const built = await buildRepoImage('localhost/generated-files-sidecar-test');
    image = built.tag;
    console.log(
      `# image ${image} ${built.built ? 'built' : 'cached'} in ${Math.round((performance.now() - started) / 1000)} s`,
    );
    workspaces = await scope.volume('workspaces');
    ({ url: jupyterUrl } = await startJupyterContainer(scope, 'jupyter', JUPYTER_TOKEN, '/home/jovyan/work', [
      '-v',
      `${workspaces}:/home/jovyan/work`,
    ]));
  });
  after(() => scope.cleanup());

  /** The sidecar container, on the shared workspace volume at its own path. */
  async function runSidecar(what: string, data: string, env: string[]): Promise<{ name: string; url: string }> {
    const port = await freePort();
    const name = await scope.run(what, [
      '--stop-timeout',
      String(STOP_TIMEOUT_S),
      '-v',
      `${workspaces}:/workspaces`,
      '-v',
      `${data}:/data`,
      '-e',
      `GATEWAY_URL=${jupyterUrl}`,
      '-e',
      'SIDECAR_HOST=127.0.0.1',
      '-e',
      `SIDECAR_PORT=${port}`,
      '-e',
      'KERNEL_WORKSPACE_ROOT=/home/jovyan/work',
      ...env.flatMap((e) => ['-e', e]),
      image,
    ]);
    const url = `http://127.0.0.1:${port}/`;
    await answers(`${url}sidecar/v1/health/ready`);
    return { name, url };
  }

  /** `podman stop`: exit 0 within the grace period (137 would be the kill after it). */
  async function stopCleanly(name: string): Promise<void> {
    const started = performance.now();
    await podman(['stop', '-t', String(STOP_TIMEOUT_S), name]);
    const seconds = (performance.now() - started) / 1000;
    assert.equal(await podman(['inspect', name, '--format', '{{.State.ExitCode}}']), '0');
    assert.ok(seconds < STOP_TIMEOUT_S, `stopped in ${seconds.toFixed(1)} s`);
  }

  async function restartAndFind(name: string, url: string, chatId: string, fileId: string): Promise<void> {
    await podman(['start', name]);
    await answers(`${url}sidecar/v1/health/ready`);
    await assertRecordKept({ url }, chatId, fileId);
  }

  test('runs as non-root with a health check, and runs an execution beside a Jupyter container', async () => {
    const [inspected] = JSON.parse(await podman(['image', 'inspect', image])) as {
      Config: { User?: string; Entrypoint?: string[] };
      Healthcheck?: { Test?: string[] };
    }[];
    const config = { ...inspected!.Config, Healthcheck: inspected!.Healthcheck };
    assert.equal(config.User, 'node');
    assert.match(config.Healthcheck?.Test?.join(' ') ?? '', /health\/live/);
    assert.deepEqual(config.Entrypoint?.slice(0, 3), ['node', '--max-semi-space-size=2', 'dist/proxy/main.js']);

    const data = await scope.volume('data');
    const sidecar = await runSidecar('sidecar', data, []);
    assert.equal(await podman(['exec', sidecar.name, 'id', '-u']), '1000');
    const fileId = await executeAndDownload(sidecar, JUPYTER_TOKEN, 'container-chat');
    await stopCleanly(sidecar.name);
    await restartAndFind(sidecar.name, sidecar.url, 'container-chat', fileId);
    await stopCleanly(sidecar.name);
  });

  test('the same on the PostgreSQL container', async () => {
    const pgPort = await freePort();
    const pgData = await scope.volume('pgdata');
    await scope.run('postgres', [
      '-v',
      `${pgData}:/var/lib/postgresql/data`,
      '-e',
      'POSTGRES_PASSWORD=container-pg-password',
      '-e',
      'POSTGRES_USER=sidecar',
      '-e',
      'POSTGRES_DB=sidecar',
      POSTGRES_IMAGE,
      'postgres',
      '-p',
      String(pgPort),
    ]);
    const pgName = scope.name('postgres');
    // Ready when pg_isready in the container says so (the official image's own health check).
    const until = Date.now() + 120_000;
    while (
      !(await podman(['exec', pgName, 'pg_isready', '-q', '-h', '127.0.0.1', '-p', String(pgPort)]).then(
        () => true,
        () => false,
      ))
    ) {
      assert.ok(Date.now() < until, 'PostgreSQL did not start');
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const data = await scope.volume('pg-blobs');
    const sidecar = await runSidecar('sidecar-pg', data, [
      `DATABASE_URL=postgres://sidecar:container-pg-password@127.0.0.1:${pgPort}/sidecar`,
    ]);
    const fileId = await executeAndDownload(sidecar, JUPYTER_TOKEN, 'container-pg-chat');
    await stopCleanly(sidecar.name);
    await restartAndFind(sidecar.name, sidecar.url, 'container-pg-chat', fileId);
    await stopCleanly(sidecar.name);
  });
});
