/** Worker-thread entry of `RenderPool`: runs one render job, posts its result, and is then terminated. */
import { parentPort } from 'node:worker_threads';
import { runRenderJob, type RenderJob, type RenderWorkerMessage } from './render-job.ts';

const port = parentPort;
if (!port) throw new Error('render-worker runs only as a worker thread');

port.once('message', (job: RenderJob) => {
  port.postMessage({ started: true } satisfies RenderWorkerMessage);
  void runRenderJob(job).then((result) => port.postMessage(result satisfies RenderWorkerMessage));
});
