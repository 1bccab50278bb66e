// The page's side of the engine worker: request ids mapped to promises.
import type { GpuProbe, WorkerRequest, WorkerResponse } from './protocol.ts';

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

export class EngineWorkerClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor() {
    this.worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'tabswarm-engine' });
    this.worker.onmessage = (event: MessageEvent<WorkerResponse>) => this.settle(event.data);
    this.worker.onerror = (event) => {
      const error = new Error(`engine worker crashed: ${event.message}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
  }

  probe(): Promise<GpuProbe> {
    return this.request({ id: 0, type: 'probe' }) as Promise<GpuProbe>;
  }

  terminate(): void {
    this.worker.terminate();
  }

  private request(message: WorkerRequest): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  private settle(message: WorkerResponse): void {
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.type === 'error') {
      const error = new Error(message.error.message);
      error.name = message.error.name;
      pending.reject(error);
    } else {
      pending.resolve(message.result);
    }
  }
}
