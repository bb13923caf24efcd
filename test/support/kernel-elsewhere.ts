import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalJupyter, DEFAULT_JUPYTER_PYTHON, type LocalJupyter } from '../../proxy/local-jupyter.ts';
import { resolveOptions } from '../../proxy/options.ts';
import { createSidecar, type SidecarParts } from '../../proxy/sidecar.ts';
import type { RunningSidecar } from './harness.ts';

/**
 * A real Jupyter Server whose files the sidecar is not given: its root is another folder tree, and
 * where user namespaces allow it, a tmpfs mounted in a private mount namespace of Jupyter's own
 * (`unshare -r -m`), so that nothing the kernel writes exists for the sidecar at all.
 */
export interface KernelElsewhere {
  dir: string;
  jupyter: LocalJupyter;
  /** Jupyter's root as the kernel sees it (in its namespace). */
  kernelRoot: string;
  /** The sidecar's own workspace root (the mirror), in another tree. */
  sidecarRoot: string;
  privateMounts: boolean;
  stop(): Promise<void>;
}

export function privateMountsAvailable(): boolean {
  return spawnSync('unshare', ['-r', '-m', 'true']).status === 0;
}

export async function startKernelElsewhere(): Promise<KernelElsewhere> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gf-elsewhere-'));
  const kernelRoot = path.join(dir, 'kernel-host', 'root');
  const sidecarRoot = path.join(dir, 'sidecar-host', 'workspaces');
  await mkdir(kernelRoot, { recursive: true });
  const privateMounts = privateMountsAvailable();
  let python = DEFAULT_JUPYTER_PYTHON;
  if (privateMounts) {
    python = path.join(dir, 'python-in-namespace.sh');
    await writeFile(
      python,
      `#!/bin/sh\nexec unshare -r -m sh -c 'mount -t tmpfs -o size=1g none "$0" && exec ${DEFAULT_JUPYTER_PYTHON} "$@"' ${JSON.stringify(kernelRoot)} "$@"\n`,
    );
    await chmod(python, 0o755);
  }
  const jupyter = await startLocalJupyter({ rootDir: kernelRoot, python });
  return {
    dir,
    jupyter,
    kernelRoot,
    sidecarRoot,
    privateMounts,
    async stop() {
      await jupyter.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A sidecar with `--file-transport kernel` in front of it, built as main.ts builds one. */
export async function startKernelTransportSidecar(
  bed: KernelElsewhere,
  flags: Record<string, string> = {},
  parts: SidecarParts = {},
  env: Record<string, string> = {},
): Promise<RunningSidecar> {
  const options = resolveOptions(
    {
      'gateway-url': bed.jupyter.url,
      port: '1',
      'file-transport': 'kernel',
      'workspace-root': bed.sidecarRoot,
      'kernel-workspace-root': path.join(bed.kernelRoot, 'workspaces'),
      'gateway-root-dir': bed.kernelRoot,
      'data-dir': path.join(bed.dir, 'sidecar-host', 'store'),
      ...flags,
    },
    env,
  );
  options.port = 0;
  const sidecar = await createSidecar(options, parts);
  const url = await sidecar.listen();
  return { sidecar, url, options, stop: () => sidecar.close() };
}
