// The typed protocol between the page and the engine worker. Every request carries an id; every reply
// names the id it answers. Errors cross as {name, message, stack}.

export interface GpuProbe {
  webgpu: boolean;
  adapter: string | null;
  /** Why there is no WebGPU, in words a person can act on. */
  reason: string | null;
}

export type WorkerRequest = { id: number; type: 'probe' };

export type WorkerResponse =
  | { id: number; type: 'probe'; result: GpuProbe }
  | { id: number; type: 'error'; error: { name: string; message: string; stack?: string } };
