// One worker thread of the SAPO experiment: loads the model folder once, then runs the (arm, seed) jobs
// it is sent, one at a time, and posts each result back.
import { parentPort, workerData } from 'node:worker_threads';
import { runJob, type JobSpec } from './experiment.ts';
import { loadModelFolder } from './load.ts';

if (!parentPort) throw new Error('experiment-worker.ts runs as a worker thread');
const port = parentPort;
const folder = await loadModelFolder((workerData as { model: string }).model);
port.on('message', async (spec: JobSpec) => {
  try {
    port.postMessage({ ok: true, result: await runJob(folder, spec) });
  } catch (e) {
    port.postMessage({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
});
port.postMessage({ ready: true });
