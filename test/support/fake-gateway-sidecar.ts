import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveOptions, type SidecarOptions } from '../../proxy/options.ts';
import { createSidecar, type Sidecar, type SidecarParts } from '../../proxy/sidecar.ts';
import { startFakeGateway, type FakeGateway } from './fake-gateway.ts';

export interface FakeGatewaySidecar {
  sidecar: Sidecar;
  gateway: FakeGateway;
  options: SidecarOptions;
  /** A temp folder holding the workspaces (`ws`) and the store (`store`). */
  dir: string;
  /** The sidecar's URL, ending in `/`. */
  url: string;
  stop(): Promise<void>;
}

/**
 * A whole sidecar (createSidecar, from options as main.ts resolves them) in front of the fake
 * gateway, over a fresh temp folder (removed by `stop`), or over `keptDir` (left as it is: a
 * restart over the same workspaces and store): for files-API tests that never run a kernel.
 */
export async function startFakeGatewaySidecar(
  flags: Record<string, string> = {},
  env: Record<string, string> = {},
  parts: SidecarParts = {},
  keptDir?: string,
): Promise<FakeGatewaySidecar> {
  const dir = keptDir ?? (await mkdtemp(path.join(tmpdir(), 'gf-sidecar-')));
  const gateway = await startFakeGateway();
  const options = resolveOptions(
    {
      'gateway-url': gateway.url,
      'workspace-root': path.join(dir, 'ws'),
      'data-dir': path.join(dir, 'store'),
      ...flags,
    },
    env,
  );
  options.port = 0;
  const sidecar = await createSidecar(options, parts);
  const url = await sidecar.listen();
  return {
    sidecar,
    gateway,
    options,
    dir,
    url,
    async stop() {
      await sidecar.close();
      await gateway.close();
      if (!keptDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
