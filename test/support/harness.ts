import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { startLocalJupyter, type LocalJupyter, type LocalJupyterOptions } from '../../proxy/local-jupyter.ts';
import { resolveOptions, type SidecarOptions } from '../../proxy/options.ts';
import { createSidecar, type Sidecar, type SidecarParts } from '../../proxy/sidecar.ts';

export interface TestBed {
  dir: string;
  jupyter: LocalJupyter;
  workspaceRoot: string;
  stop(): Promise<void>;
}

/**
 * A fresh temp folder (`prefix` + random) and a real Jupyter Server on 127.0.0.1 started with the
 * options `configure` gives for it; `stop` ends the server and removes the folder.
 */
export async function startJupyterInTempDir(
  prefix: string,
  configure: (dir: string) => Promise<LocalJupyterOptions> | LocalJupyterOptions,
): Promise<{ dir: string; jupyter: LocalJupyter; stop(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  const jupyter = await startLocalJupyter(await configure(dir));
  return {
    dir,
    jupyter,
    async stop() {
      await jupyter.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A real Jupyter Server on 127.0.0.1 serving a fresh temp folder whose `workspaces/` the sidecar uses. */
export async function startTestBed(jupyterOptions: Partial<LocalJupyterOptions> = {}): Promise<TestBed> {
  const started = await startJupyterInTempDir('gf-test-', (dir) => ({
    rootDir: path.join(dir, 'workspaces'),
    ...jupyterOptions,
  }));
  return { ...started, workspaceRoot: path.join(started.dir, 'workspaces') };
}

export interface RunningSidecar {
  sidecar: Sidecar;
  url: string;
  options: SidecarOptions;
  stop(): Promise<void>;
}

/** A sidecar built from `flags` and `env` as main.ts builds one, listening on a free port. */
export async function listenSidecar(
  flags: Record<string, string>,
  parts: SidecarParts = {},
  env: Record<string, string> = {},
): Promise<RunningSidecar> {
  const options = resolveOptions({ port: '1', ...flags }, env);
  options.port = 0;
  const sidecar = await createSidecar(options, parts);
  const url = await sidecar.listen();
  return { sidecar, url, options, stop: () => sidecar.close() };
}

export function startSidecar(
  bed: TestBed,
  flags: Record<string, string> = {},
  parts: SidecarParts = {},
  env: Record<string, string> = {},
): Promise<RunningSidecar> {
  return listenSidecar(
    {
      'gateway-url': bed.jupyter.url,
      'workspace-root': bed.workspaceRoot,
      'data-dir': path.join(bed.dir, 'store'),
      ...flags,
    },
    parts,
    env,
  );
}

/** More a file starts on the bed, after its sidecar, and stops first. */
export interface BedExtra {
  start(bed: TestBed, proxy: RunningSidecar): Promise<void>;
  stop(): Promise<unknown>;
}

/**
 * Registers the `before`/`after` hooks most end-to-end files share: one Jupyter Server test bed
 * and one sidecar in front of it for the whole file, both stopped after it. The two objects are
 * returned at once and filled in place by the `before` hook, so a file can name them at its top.
 * What else a file starts on them goes in `extra`: a file's own root-level `before` hooks run
 * concurrently with this one, so they cannot count on the bed.
 */
export function useSidecarBed(
  flags: Record<string, string> = {},
  extra?: BedExtra,
): { bed: TestBed; proxy: RunningSidecar } {
  const bed = {} as TestBed;
  const proxy = {} as RunningSidecar;
  before(async () => {
    Object.assign(bed, await startTestBed());
    Object.assign(proxy, await startSidecar(bed, flags));
    await extra?.start(bed, proxy);
  });
  after(async () => {
    await extra?.stop();
    await proxy.stop?.();
    await bed.stop?.();
  });
  return { bed, proxy };
}
