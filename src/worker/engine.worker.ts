/// <reference lib="webworker" />
import type { WorkerRequest, WorkerResponse } from './protocol.ts';
import { probeGpu } from './probe.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

function reply(message: WorkerResponse): void {
  scope.postMessage(message);
}

scope.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const request = event.data;
  try {
    switch (request.type) {
      case 'probe':
        reply({ id: request.id, type: 'probe', result: await probeGpu() });
        break;
      default:
        request.type satisfies never;
    }
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    reply({ id: request.id, type: 'error', error: { name: e.name, message: e.message, stack: e.stack } });
  }
};
