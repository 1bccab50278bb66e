// The worker's API without a worker (tests, and pages that must not spawn one).
import { ProtocolClient } from './client.ts';
import { WorkerHost, type HostDeps } from './host.ts';
import type { WorkerMessage } from './protocol.ts';

/**
 * The worker's API without a worker: messages are structured-cloned and delivered asynchronously, as
 * postMessage would, so tests exercise the same code paths (and catch anything that does not clone).
 */
export function createInThreadWorker(deps: HostDeps): ProtocolClient {
  let toClient: ((message: WorkerMessage) => void) | null = null;
  let closed = false;
  const host = new WorkerHost((message) => {
    const copy = structuredClone(message);
    queueMicrotask(() => !closed && toClient?.(copy));
  }, deps);
  return new ProtocolClient({
    post: (request) => {
      const copy = structuredClone(request);
      queueMicrotask(() => void (!closed && host.handle(copy)));
    },
    listen: (onMessage) => (toClient = onMessage),
    close: () => (closed = true),
  });
}
