/**
 * Child process for kills.test.ts: a whole sidecar in front of the test's Jupyter Server, with
 * one kernel writing files in a loop through it until the test kills this process with SIGKILL.
 * Arguments: a JSON object { dir, workspaceRoot, dataDir, jupyterUrl, token, chat }.
 */
import { startSidecar, type TestBed } from '../support/harness.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';

const args = JSON.parse(process.argv[2]!) as {
  dir: string;
  workspaceRoot: string;
  dataDir: string;
  jupyterUrl: string;
  token: string;
  chat: string;
};
const bed = {
  dir: args.dir,
  workspaceRoot: args.workspaceRoot,
  jupyter: { url: args.jupyterUrl, token: args.token },
} as TestBed;
const proxy = await startSidecar(bed, { 'data-dir': args.dataDir });
const base = `${proxy.url}chats/${args.chat}/`;
const res = await fetch(`${base}api/kernels?token=${args.token}`, { method: 'POST' });
const { id } = (await res.json()) as { id: string };
process.stdout.write(`kernel ${id}\n`);
const client = await RawKernelClient.connect(
  `${base.replace(/^http/, 'ws')}api/kernels/${id}/channels?token=${args.token}`,
  'legacy',
);
for (let i = 0; ; i++) {
  await client.execute(`import os\nfor j in range(5): open(f'/mnt/data/f{j}.csv', 'w').write(os.urandom(1500).hex())`);
  if (i === 2) process.stdout.write('ready\n');
}
