// The page's side of the engine worker: request ids mapped to promises, events fanned out to listeners.
// `MessagePortLike` lets the same client talk to a real Worker or to an in-thread host (tests).
import type { RolloutBatch } from '../rl/transport.ts';
import type { GameMessage } from '../rl/game/transport.ts';
import type { VerifyReply, VerifyRequest } from './verify-protocol.ts';
import {
  deserializeError,
  WorkerGoneError,
  type ExportedFile,
  type SwarmModelExport,
  type ChainStage,
  type GameOptions,
  type GpuProbe,
  type LoadOptions,
  type LoadResult,
  type Results,
  type RunOptions,
  type TabswarmWorkerApi,
  type WorkerEvent,
  type WorkerMessage,
  type WorkerRequest,
} from './protocol.ts';
// the bundled worker's URL (Vite builds it as its own chunk); resolved against this module, not the page
import engineWorkerUrl from './engine.worker.ts?worker&url';

export interface MessagePortLike {
  post(request: WorkerRequest): void;
  /** called once by the client with its handlers */
  listen(onMessage: (message: WorkerMessage) => void, onCrash: (reason: string) => void): void;
  close(): void;
}

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type Body<T extends WorkerRequest> = T extends unknown ? Omit<T, 'id'> : never;

export class ProtocolClient implements TabswarmWorkerApi {
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(event: WorkerEvent) => void>();
  private nextId = 1;
  private gone: string | null = null;

  constructor(private readonly port: MessagePortLike) {
    port.listen(
      (message) => this.receive(message),
      (reason) => this.fail(reason),
    );
  }

  probe(): Promise<GpuProbe> {
    return this.call<'probe'>({ type: 'probe' });
  }
  load(options: LoadOptions): Promise<LoadResult> {
    return this.call<'load'>({ type: 'load', options });
  }
  start(options: RunOptions): Promise<void> {
    return this.call<'start'>({ type: 'start', options });
  }
  pause(): Promise<void> {
    return this.call<'pause'>({ type: 'pause' });
  }
  resume(): Promise<void> {
    return this.call<'resume'>({ type: 'resume' });
  }
  stop(): Promise<void> {
    return this.call<'stop'>({ type: 'stop' });
  }
  throttle(duty: number): Promise<void> {
    return this.call<'throttle'>({ type: 'throttle', duty });
  }
  deliver(batch: RolloutBatch): Promise<void> {
    return this.call<'deliver'>({ type: 'deliver', batch });
  }
  reset(): Promise<void> {
    return this.call<'reset'>({ type: 'reset' });
  }
  exportModel(): Promise<ExportedFile[]> {
    return this.call<'export'>({ type: 'export' });
  }
  exportAverage(models: ArrayBuffer[]): Promise<SwarmModelExport> {
    return this.call<'exportAverage'>({ type: 'exportAverage', models });
  }
  average(models: ArrayBuffer[]): Promise<void> {
    return this.call<'average'>({ type: 'average', models });
  }
  startGame(options: GameOptions): Promise<void> {
    return this.call<'startGame'>({ type: 'startGame', options });
  }
  deliverGame(message: GameMessage): Promise<void> {
    return this.call<'deliverGame'>({ type: 'deliverGame', message });
  }
  gamePosition(position: ChainStage | null): Promise<void> {
    return this.call<'gamePosition'>({ type: 'gamePosition', position });
  }
  verify(request: VerifyRequest): Promise<VerifyReply> {
    return this.call<'verify'>({ type: 'verify', request });
  }

  onEvent(listener: (event: WorkerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  terminate(): void {
    this.port.close();
    this.fail('the engine worker was terminated');
  }

  private call<K extends keyof Results>(body: Body<WorkerRequest> & { type: K }): Promise<Results[K]> {
    if (this.gone) return Promise.reject(new WorkerGoneError(this.gone));
    const id = this.nextId++;
    return new Promise<Results[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.port.post({ ...body, id } as WorkerRequest);
    });
  }

  private receive(message: WorkerMessage): void {
    if (message.type === 'event') {
      for (const listener of this.listeners) listener(message.event);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.type === 'error') pending.reject(deserializeError(message.error));
    else pending.resolve(message.result);
  }

  private fail(reason: string): void {
    if (this.gone) return;
    this.gone = reason;
    // a crash mid-round has no request to reject: listeners learn of it as the worker's last phase
    for (const listener of this.listeners) listener({ kind: 'phase', phase: 'error', detail: `WorkerGoneError: ${reason}` });
    const error = new WorkerGoneError(reason);
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}

/**
 * How to start a module worker whose script is at `scriptUrl` from a page on `pageOrigin`. Browsers only start
 * a worker from the page's own origin, so a script elsewhere (the widget embedded in another site) is started
 * from a `blob:` module that imports it: module workers may import cross-origin modules served with CORS.
 */
export function workerEntry(scriptUrl: string, pageOrigin: string): { url: string } | { source: string } {
  let url: URL;
  try {
    url = new URL(scriptUrl);
  } catch {
    throw new TypeError(`the engine worker's URL must be absolute, got ${JSON.stringify(scriptUrl)}`);
  }
  if (url.origin === pageOrigin) return { url: url.href };
  // JSON.stringify quotes and escapes the URL, so it cannot end the string literal early
  return { source: `import ${JSON.stringify(url.href)};\n` };
}

function startEngineWorker(): Worker {
  const entry = workerEntry(new URL(engineWorkerUrl, import.meta.url).href, location.origin);
  const options: WorkerOptions = { type: 'module', name: 'tabswarm-engine' };
  if ('url' in entry) return new Worker(entry.url, options);
  const blobUrl = URL.createObjectURL(new Blob([entry.source], { type: 'text/javascript' }));
  const worker = new Worker(blobUrl, options);
  // the blob is only read while the worker starts; its first message or error means it has been
  const revoke = () => URL.revokeObjectURL(blobUrl);
  worker.addEventListener('message', revoke, { once: true });
  worker.addEventListener('error', revoke, { once: true });
  return worker;
}

/** The app's engine worker: a dedicated module worker running engine.worker.ts. */
export class EngineWorkerClient extends ProtocolClient {
  constructor() {
    const worker = startEngineWorker();
    super({
      post: (request) => worker.postMessage(request),
      listen: (onMessage, onCrash) => {
        worker.onmessage = (event: MessageEvent<WorkerMessage>) => onMessage(event.data);
        worker.onerror = (event) => onCrash(`engine worker crashed: ${event.message}`);
        worker.onmessageerror = () => onCrash('engine worker sent a message that could not be deserialized');
      },
      close: () => worker.terminate(),
    });
  }
}
