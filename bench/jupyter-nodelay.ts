/**
 * A Jupyter Server config folder for benches that compare round trips. Jupyter Server (Tornado)
 * never turns Nagle's algorithm off on its kernel WebSocket, so a small message written while the
 * previous one is unacknowledged waits for the reader's delayed ACK (40 ms on Linux), in a random
 * share of runs of every arm, direct included. A server started with this folder sets TCP_NODELAY
 * as each kernel socket opens, so a ratio measures what is in front of it, not that stall.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { quantile } from './stats.ts';

/** Jupyter Server 1.x and 2.x: turn Nagle off on the kernel WebSocket as it opens. */
const NODELAY_CONFIG = `
try:
    from jupyter_server.services.kernels.handlers import ZMQChannelsHandler as _KernelSocket
except ImportError:
    from jupyter_server.services.kernels.websocket import KernelWebsocketHandler as _KernelSocket
_open = _KernelSocket.open
def _open_without_nagle(self, *args, **kwargs):
    self.set_nodelay(True)
    return _open(self, *args, **kwargs)
_KernelSocket.open = _open_without_nagle
`;

/**
 * Writes a JUPYTER_CONFIG_DIR into `dir`: IOPub rate limits off (as the bench bed of scenarios
 * 1-8 has them, so figures compare), and with `nodelay` the TCP_NODELAY patch.
 */
export async function writeJupyterConfig(dir: string, nodelay: boolean): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, 'jupyter_server_config.json'),
    JSON.stringify({ ServerApp: { limit_rate: false, iopub_msg_rate_limit: 0, iopub_data_rate_limit: 0 } }),
  );
  if (nodelay) await writeFile(path.join(dir, 'jupyter_server_config.py'), NODELAY_CONFIG);
  return dir;
}

/** A run this much slower than its arm's fastest quarter waited for a delayed ACK. */
export const STALL_MS = 30;

/**
 * The share of runs that stalled ~40 ms, as "12%". `fastMs` is a run that did not stall: by
 * default the arm's fastest quarter, which undercounts when most runs stall (a stock server), so
 * callers with a TCP_NODELAY twin of the arm pass that one's.
 */
export function stalledShare(samples: readonly number[], fastMs = quantile(samples, 0.25)): string {
  if (samples.length === 0) return '–';
  const stalled = samples.filter((s) => s > fastMs + STALL_MS).length;
  return `${Math.round((100 * stalled) / samples.length)}%`;
}
