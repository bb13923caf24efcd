/**
 * Open WebUI's Jupyter executor replayed for tests: the calls it makes, in its order.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { executeRequestText, openKernelSocket } from './client-frames.ts';

export interface OpenWebUiRun {
  stdout: string;
  stderr: string;
  /** What Open WebUI passes on as the run's results (text/plain or a PNG data URL per output). */
  result: string[];
  kernelId: string;
  /** msg_type of every message of the execution it read, in order, up to idle. */
  seen: string[];
}

const ws = (url: string) => url.replace(/^http/, 'ws');

/**
 * Open WebUI's Jupyter executor (backend/open_webui/utils/code_interpreter.py), call for call:
 * paths relative to its configured URL, POST with no body, ?token=, legacy frames, the
 * top-level msg_type, idle = done, DELETE of the kernel after the run.
 */
export async function runLikeOpenWebUi(base: string, token: string, code: string): Promise<OpenWebUiRun> {
  const params = `?token=${token}`;
  const created = await fetch(new URL(`api/kernels${params}`, base), { method: 'POST' });
  assert.equal(created.status, 201);
  const kernelId = ((await created.json()) as { id: string }).id;
  const socket = await openKernelSocket(`${ws(base)}api/kernels/${kernelId}/channels${params}`);
  const msgId = randomUUID().replace(/-/g, '');
  socket.send(
    executeRequestText(
      code,
      { msg_id: msgId, username: 'user', session: randomUUID().replace(/-/g, ''), date: '', version: '5.3' },
      'shell',
    ),
  );
  let stdout = '';
  let stderr = '';
  const result: string[] = [];
  const seen: string[] = [];
  let done = false;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Open WebUI run timed out')), 60_000);
    socket.on('message', (raw: Buffer, binary) => {
      // Open WebUI leaves its read loop at idle: what arrives after it is never read.
      if (done) return;
      assert.equal(binary, false, 'Open WebUI reads text frames');
      const message = JSON.parse(raw.toString());
      if (message.parent_header?.msg_id !== msgId) return;
      seen.push(message.msg_type);
      switch (message.msg_type) {
        case 'stream':
          if (message.content.name === 'stdout') stdout += message.content.text;
          else stderr += message.content.text;
          break;
        case 'execute_result':
        case 'display_data':
          if ('image/png' in message.content.data)
            result.push(`data:image/png;base64,${message.content.data['image/png']}`);
          else if ('text/plain' in message.content.data) result.push(message.content.data['text/plain']);
          break;
        case 'error':
          stderr += message.content.traceback.join('\n');
          break;
        case 'status':
          if (message.content.execution_state === 'idle') {
            done = true;
            clearTimeout(timer);
            resolve();
          }
      }
    });
  });
  socket.close();
  const deleted = await fetch(new URL(`api/kernels/${kernelId}${params}`, base), { method: 'DELETE' });
  assert.equal(deleted.status, 204);
  return { stdout, stderr, result, kernelId, seen };
}
