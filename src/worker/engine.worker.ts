/// <reference lib="webworker" />
// The engine worker: a WorkerHost wired to postMessage. Training runs here so the page stays responsive.
import { createContributor } from './contributor.ts';
import { WorkerHost } from './host.ts';
import { openCheckpointStore } from './persist.ts';
import { probeGpu } from './probe.ts';
import type { WorkerMessage } from './protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

function transferables(message: WorkerMessage): Transferable[] {
  // exported model files can be hundreds of MB: move them instead of copying
  if (message.type === 'result' && message.request === 'export') return message.result.map((f) => f.data);
  if (message.type === 'result' && message.request === 'exportAverage') return message.result.files.map((f) => f.data);
  return [];
}

const host = new WorkerHost((message) => scope.postMessage(message, transferables(message)), {
  probe: probeGpu,
  createContributor,
  openStore: (key) => openCheckpointStore(key),
});

scope.onmessage = (event: MessageEvent<unknown>) => void host.handle(event.data);
