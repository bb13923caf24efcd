import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalJupyter, type LocalJupyter, type LocalJupyterOptions } from '../../proxy/local-jupyter.ts';
import { resolveOptions, type SidecarOptions } from '../../proxy/options.ts';
import { createSidecar, type Sidecar, type SidecarParts } from '../../proxy/sidecar.ts';

export interface TestBed {
  dir: string;
  jupyter: LocalJupyter;
  workspaceRoot: string;
  stop(): Promise<void>;
}

/** A real Jupyter Server on 127.0.0.1 serving a fresh temp folder whose `workspaces/` the sidecar uses. */
export async function startTestBed(jupyterOptions: Partial<LocalJupyterOptions> = {}): Promise<TestBed> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gf-test-'));
  const workspaceRoot = path.join(dir, 'workspaces');
  const jupyter = await startLocalJupyter({ rootDir: workspaceRoot, ...jupyterOptions });
  return {
    dir,
    jupyter,
    workspaceRoot,
    async stop() {
      await jupyter.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RunningSidecar {
  sidecar: Sidecar;
  url: string;
  options: SidecarOptions;
  stop(): Promise<void>;
}

export async function startSidecar(
  bed: TestBed,
  flags: Record<string, string> = {},
  parts: SidecarParts = {},
  env: Record<string, string> = {},
): Promise<RunningSidecar> {
  const options = resolveOptions(
    {
      'gateway-url': bed.jupyter.url,
      port: '1',
      'workspace-root': bed.workspaceRoot,
      'data-dir': path.join(bed.dir, 'store'),
      ...flags,
    },
    env,
  );
  options.port = 0;
  const sidecar = await createSidecar(options, parts);
  const url = await sidecar.listen();
  return { sidecar, url, options, stop: () => sidecar.close() };
}
