/**
 * What the container tests ask of a sidecar running in a container (test/e2e/container.test.ts,
 * compose-stack.test.ts): Open WebUI's calls write a file under /mnt/data, the files API lists
 * and serves it, and after a restart the same record is still there.
 */
import assert from 'node:assert/strict';
import { filesApiPaths, type FileListResponse } from '../../contract/files-api.ts';
import { freePort } from './free-port.ts';
import { runLikeOpenWebUi } from './open-webui-run.ts';
import type { PodmanScope } from './podman.ts';

export const CONTAINER_FILE = { name: 'made-in-container.csv', content: 'x,y\n1,2\n' };

/** Waits until `url` answers `status` (a container's server is up), for at most `withinMs`. */
export async function answers(url: string, status = 200, withinMs = 120_000): Promise<void> {
  const until = Date.now() + withinMs;
  for (;;) {
    const got = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (got === status) return;
    if (Date.now() > until) throw new Error(`${url} did not answer ${status} (last: ${got})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The Jupyter image the container tests run (made locally by scripts/container-base-images.sh). */
export const JUPYTER_IMAGE = 'quay.io/jupyter/base-notebook:latest';

/**
 * A Jupyter Server container on the host network serving `rootDir`, with `podmanArgs` (volumes)
 * before the image; resolves with its name and URL once its REST API answers.
 */
export async function startJupyterContainer(
  scope: PodmanScope,
  what: string,
  token: string,
  rootDir: string,
  podmanArgs: string[] = [],
): Promise<{ name: string; url: string }> {
  const port = await freePort();
  const name = await scope.run(what, [
    ...podmanArgs,
    '-e',
    `JUPYTER_TOKEN=${token}`,
    JUPYTER_IMAGE,
    'python3',
    '-m',
    'jupyter_server',
    '--ip=127.0.0.1',
    `--port=${port}`,
    '--no-browser',
    `--ServerApp.root_dir=${rootDir}`,
  ]);
  const url = `http://127.0.0.1:${port}/`;
  await answers(`${url}api/status?token=${token}`);
  return { name, url };
}

/** A sidecar as the test reaches it: its URL, and the files API token when it asks for one. */
export interface SidecarAt {
  url: string;
  filesToken?: string;
}

function filesApiHeaders(sidecar: SidecarAt): Record<string, string> {
  return sidecar.filesToken ? { authorization: `Bearer ${sidecar.filesToken}` } : {};
}

async function listFiles(sidecar: SidecarAt, chatId: string): Promise<FileListResponse['files']> {
  const list = await fetch(new URL(filesApiPaths.files(chatId), sidecar.url), { headers: filesApiHeaders(sidecar) });
  assert.equal(list.status, 200);
  return ((await list.json()) as FileListResponse).files;
}

async function assertDownloads(
  sidecar: SidecarAt,
  chatId: string,
  fileId: string,
  expected = CONTAINER_FILE.content,
): Promise<void> {
  const content = await fetch(new URL(filesApiPaths.fileContent(chatId, fileId), sidecar.url), {
    headers: filesApiHeaders(sidecar),
  });
  assert.equal(await content.text(), expected);
}

/**
 * Open WebUI's calls under a chat's prefix (`jupyterToken` for the gateway), the file the code
 * wrote (with `content`: a run that changes nothing gets no card) listed and downloaded; returns its id.
 */
export async function executeAndDownload(
  sidecar: SidecarAt,
  jupyterToken: string,
  chatId: string,
  content = CONTAINER_FILE.content,
): Promise<string> {
  const run = await runLikeOpenWebUi(
    `${sidecar.url}chats/${chatId}/`,
    jupyterToken,
    `import os\nopen('/mnt/data/${CONTAINER_FILE.name}', 'w').write(${JSON.stringify(content)})\nprint(os.getcwd())`,
  );
  assert.equal(run.stdout, '/mnt/data\n', 'the kernel sees /mnt/data, not the volume path');
  assert.ok(run.result.at(-1)?.includes(CONTAINER_FILE.name), 'the file card');
  const file = (await listFiles(sidecar, chatId)).find((f) => f.path === CONTAINER_FILE.name);
  assert.ok(file, 'recorded by the sidecar container from the shared volume');
  await assertDownloads(sidecar, chatId, file.id, content);
  return file.id;
}

/** After a restart: the chat holds exactly the record made before it, and it downloads. */
export async function assertRecordKept(sidecar: SidecarAt, chatId: string, fileId: string): Promise<void> {
  assert.deepEqual(
    (await listFiles(sidecar, chatId)).map((f) => f.id),
    [fileId],
    'the record is there after the restart',
  );
  await assertDownloads(sidecar, chatId, fileId);
}
