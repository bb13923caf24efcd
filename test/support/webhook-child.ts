/**
 * Child process for webhooks.test.ts: a sidecar with webhooks on (its receiver down), one
 * execution that writes files; prints `recorded` once the file card arrived (records and
 * outbox are durable by then), then waits for the test's SIGKILL.
 * Argument: JSON { dir, workspaceRoot, dataDir, jupyterUrl, token, chat, webhookUrl, secret }.
 */
import { startSidecar, type TestBed } from './harness.ts';
import { RawKernelClient } from './raw-kernel-client.ts';

const args = JSON.parse(process.argv[2]!) as Record<string, string>;
const bed = {
  dir: args.dir,
  workspaceRoot: args.workspaceRoot,
  jupyter: { url: args.jupyterUrl, token: args.token },
} as unknown as TestBed;
const proxy = await startSidecar(
  bed,
  // Retries come soon (and fail: the receiver is down until the kill), so the restarted sidecar
  // finds each delivery due within ~50 ms instead of waiting out a long backoff saved with it.
  {
    'data-dir': args.dataDir!,
    'webhook-url': args.webhookUrl!,
    'webhook-retry-min': '50ms',
    'webhook-retry-max': '50ms',
  },
  {},
  { WEBHOOK_SECRET: args.secret! },
);
const base = `${proxy.url}chats/${args.chat}/`;
const res = await fetch(`${base}api/kernels?token=${args.token}`, { method: 'POST' });
const { id } = (await res.json()) as { id: string };
const client = await RawKernelClient.connect(
  `${base.replace(/^http/, 'ws')}api/kernels/${id}/channels?token=${args.token}`,
  'legacy',
);
const run = await client.execute("for j in range(3): open(f'/mnt/data/k{j}.csv', 'w').write(str(j))");
const card = run.messages.find((m) => m.header.msg_type === 'display_data');
process.stdout.write(card ? 'recorded\n' : 'no card\n');
setInterval(() => {}, 1 << 30);
