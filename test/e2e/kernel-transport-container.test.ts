/**
 * `--file-transport kernel` in front of a Jupyter container that shares no volume with the
 * sidecar (podman; skipped with the reason where it cannot run): Open WebUI's calls write a file
 * under /mnt/data in the container, the file comes over the kernel's own channel, is recorded,
 * and downloads byte for byte. Reuses container.test.ts's Jupyter image (made locally by
 * scripts/container-base-images.sh); the sidecar runs here, built as main.ts builds it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { executeAndDownload, startJupyterContainer } from '../support/container-checks.ts';
import { listenSidecar, type RunningSidecar } from '../support/harness.ts';
import { ensureBaseImages, podman, podmanUnavailable, PodmanScope } from '../support/podman.ts';

const skip = podmanUnavailable();
if (skip) console.log(`# kernel transport container test skipped: ${skip}`);

const JUPYTER_TOKEN = 'kernel-transport-container-7c2d';

const scope = new PodmanScope();
let dir: string;
let sidecar: RunningSidecar;
let jupyter: string;

before(async () => {
  if (skip) return;
  await ensureBaseImages();
  // No -v at all: the kernel's files exist only inside the container.
  const container = await startJupyterContainer(scope, 'jupyter-alone', JUPYTER_TOKEN, '/home/jovyan');
  jupyter = container.name;
  dir = await mkdtemp(path.join(tmpdir(), 'gf-transport-container-'));
  sidecar = await listenSidecar({
    'gateway-url': container.url,
    'file-transport': 'kernel',
    'workspace-root': path.join(dir, 'workspaces'),
    'kernel-workspace-root': '/home/jovyan/chats',
    'gateway-root-dir': '/home/jovyan',
    'data-dir': path.join(dir, 'store'),
  });
});

after(async () => {
  await sidecar?.stop();
  await scope.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test(
  'a Jupyter container with no shared volume: the file is recorded and downloads byte for byte',
  { skip: skip ?? false },
  async () => {
    await executeAndDownload({ url: sidecar.url }, JUPYTER_TOKEN, 'no-volume-chat');
    // It is in the container, and nowhere on this side but the sidecar's own copy and store.
    assert.match(await podman(['exec', jupyter, 'ls', '/home/jovyan/chats/no-volume-chat']), /made-in-container\.csv/);
    assert.deepEqual(await readdir(path.join(dir, 'workspaces', 'no-volume-chat')), ['made-in-container.csv']);
  },
);
