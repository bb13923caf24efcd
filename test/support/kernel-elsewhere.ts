import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_JUPYTER_PYTHON, type LocalJupyter } from '../../proxy/local-jupyter.ts';
import type { SidecarParts } from '../../proxy/sidecar.ts';
import { listenSidecar, startJupyterInTempDir, type RunningSidecar } from './harness.ts';
import { privateMountsAvailable } from './private-mounts.ts';

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

export async function startKernelElsewhere(): Promise<KernelElsewhere> {
  const privateMounts = privateMountsAvailable();
  const started = await startJupyterInTempDir('gf-elsewhere-', async (dir) => {
    const kernelRoot = path.join(dir, 'kernel-host', 'root');
    await mkdir(kernelRoot, { recursive: true });
    if (!privateMounts) return { rootDir: kernelRoot };
    const python = path.join(dir, 'python-in-namespace.sh');
    await writeFile(
      python,
      `#!/bin/sh\nexec unshare -r -m sh -c 'mount -t tmpfs -o size=1g none "$0" && exec ${DEFAULT_JUPYTER_PYTHON} "$@"' ${JSON.stringify(kernelRoot)} "$@"\n`,
    );
    await chmod(python, 0o755);
    return { rootDir: kernelRoot, python };
  });
  return {
    ...started,
    kernelRoot: path.join(started.dir, 'kernel-host', 'root'),
    sidecarRoot: path.join(started.dir, 'sidecar-host', 'workspaces'),
    privateMounts,
  };
}

/** A sidecar with `--file-transport kernel` in front of it, built as main.ts builds one. */
export function startKernelTransportSidecar(
  bed: KernelElsewhere,
  flags: Record<string, string> = {},
  parts: SidecarParts = {},
  env: Record<string, string> = {},
): Promise<RunningSidecar> {
  return listenSidecar(
    {
      'gateway-url': bed.jupyter.url,
      'file-transport': 'kernel',
      'workspace-root': bed.sidecarRoot,
      'kernel-workspace-root': path.join(bed.kernelRoot, 'workspaces'),
      'gateway-root-dir': bed.kernelRoot,
      'data-dir': path.join(bed.dir, 'sidecar-host', 'store'),
      ...flags,
    },
    parts,
    env,
  );
}
