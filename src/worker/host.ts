// The worker's side of the protocol, independent of where it runs: engine.worker.ts wires it to
// postMessage, `createInThreadWorker` wires it straight to a ProtocolClient (tests, no worker needed).
import { ContributionLoop, type Contributor } from './loop.ts';
import { checkpointKey, type CheckpointStore } from './persist.ts';
import {
  parseRequest,
  ProtocolError,
  serializeError,
  type GameOptions,
  type GpuProbe,
  type LoadOptions,
  type LoadResult,
  type Progress,
  type Results,
  type WorkerEvent,
  type WorkerMessage,
  type WorkerRequest,
} from './protocol.ts';
import { WorkerTransport } from './transport.ts';
import { WorkerGame } from './game-host.ts';
import { gameConfigFor } from './game-rules.ts';
import { gamePersistence } from './game-persist.ts';

export interface HostDeps {
  probe(): Promise<GpuProbe>;
  /** builds engine + round runner; throws ModelTooLargeError (or similar, named) when the model does not fit */
  createContributor(options: LoadOptions, onProgress: (progress: Progress) => void): Promise<Contributor>;
  openStore(key: string): Promise<CheckpointStore | null>;
}

/** A request that needs a loaded model arrived before `load` succeeded. */
export class NotLoadedError extends Error {
  override name = 'NotLoadedError';
}

interface Loaded {
  peerId: string;
  /** the swarm game, when this tab plays one (a game swarm) instead of SAPO rounds */
  game: WorkerGame | null;
  contributor: Contributor;
  transport: WorkerTransport;
  store: CheckpointStore | null;
  loop: ContributionLoop;
  /** the game state the resumed checkpoint carried, for the next startGame (used once) */
  resumedGame?: unknown;
}

export class WorkerHost {
  private loaded: Loaded | null = null;
  private duty = 1;
  /** what the last 'start' asked for, so a CPU fallback after a lost GPU can carry on */
  private started: Parameters<ContributionLoop['start']>[0] | null = null;

  constructor(
    private readonly post: (message: WorkerMessage) => void,
    private readonly deps: HostDeps,
  ) {}

  /** Never throws: every failure becomes an error reply (or is dropped when not even an id can be read). */
  async handle(raw: unknown): Promise<void> {
    let request: WorkerRequest;
    try {
      request = parseRequest(raw);
    } catch (error) {
      const id = (raw as { id?: unknown } | null)?.id;
      if (typeof id === 'number') this.post({ id, type: 'error', error: serializeError(error) });
      else this.emit({ kind: 'warning', message: `dropped a malformed request: ${(error as Error).message}` });
      return;
    }
    try {
      await this.dispatch(request);
    } catch (error) {
      this.post({ id: request.id, type: 'error', error: serializeError(error) });
    }
  }

  private async dispatch(request: WorkerRequest): Promise<void> {
    switch (request.type) {
      case 'probe':
        return this.reply(request.id, 'probe', await this.deps.probe());
      case 'load':
        return this.reply(request.id, 'load', await this.load(request.options));
      case 'start':
        this.need('start').loop.start(request.options);
        this.started = request.options;
        return this.reply(request.id, 'start', undefined);
      case 'pause':
        if (this.loaded?.game) {
          await this.loaded.game.pause();
          this.emit({ kind: 'phase', phase: 'paused', detail: 'the game sits out until resumed (it rejoins at the next answer stage)' });
        }
        this.need('pause').loop.pause();
        return this.reply(request.id, 'pause', undefined);
      case 'resume':
        if (this.loaded?.game) {
          this.loaded.game.start();
          this.emit({ kind: 'phase', phase: 'running', detail: 'playing the swarm game' });
        }
        this.need('resume').loop.resume();
        return this.reply(request.id, 'resume', undefined);
      case 'stop':
        this.started = null;
        await this.loaded?.game?.stop();
        if (this.loaded) this.loaded.game = null;
        await this.loaded?.loop.stop();
        return this.reply(request.id, 'stop', undefined);
      case 'throttle':
        this.duty = request.duty;
        this.loaded?.loop.setDuty(request.duty);
        return this.reply(request.id, 'throttle', undefined);
      case 'deliver':
        this.need('deliver').transport.deliver(request.batch);
        return this.reply(request.id, 'deliver', undefined);
      case 'reset':
        await this.reset();
        return this.reply(request.id, 'reset', undefined);
      case 'export':
        return this.reply(request.id, 'export', await this.need('export').contributor.exportModel());
      case 'average':
        this.need('average').loop.averageWith(request.models.map((m) => new Uint8Array(m)));
        return this.reply(request.id, 'average', undefined);
      case 'startGame':
        this.startGame(request.options);
        return this.reply(request.id, 'startGame', undefined);
      case 'deliverGame':
        this.need('deliver a game message').game?.transport.deliver(request.message);
        return this.reply(request.id, 'deliverGame', undefined);
      case 'gamePosition':
        this.need('follow the coordinator').game?.follow(request.position);
        return this.reply(request.id, 'gamePosition', undefined);
      case 'exportAverage':
        return this.reply(request.id, 'exportAverage', await this.need('export the swarm model').contributor.exportAverage(request.models.map((m) => new Uint8Array(m))));
      case 'verify': {
        const loaded = this.need('verify');
        const r = request.request;
        if (r.op === 'exclude') {
          loaded.transport.exclude(r.peerId, r.round);
          return this.reply(request.id, 'verify', { op: 'exclude' });
        }
        if (!loaded.contributor.verify) throw new ProtocolError('this model does not take part in verified work');
        return this.reply(request.id, 'verify', await loaded.contributor.verify(r));
      }
      default:
        throw new ProtocolError(`unhandled request ${(request satisfies never as { type: string }).type}`);
    }
  }

  private async load(options: LoadOptions): Promise<LoadResult> {
    if (this.loaded) await this.unload();
    this.emit({ kind: 'phase', phase: 'loading', detail: options.modelUrl });
    const onProgress = (progress: Progress) => this.emit({ kind: 'progress', progress });
    let contributor: Contributor;
    try {
      contributor = await this.deps.createContributor(options, onProgress);
    } catch (error) {
      this.emit({ kind: 'phase', phase: 'error', detail: `${(error as Error).name}: ${(error as Error).message}` });
      throw error;
    }
    const store = await this.deps.openStore(checkpointKey(options.swarmId, contributor.modelId, options.peerId));
    let resumedRound: number | null = null;
    let resumedGame: unknown;
    if (store && options.resume) {
      try {
        const checkpoint = await store.load();
        if (checkpoint && checkpoint.modelId === contributor.modelId) {
          onProgress({ stage: 'restore', item: `round ${checkpoint.round}`, loaded: 0, total: 1, percent: 0 });
          await contributor.loadState(checkpoint);
          onProgress({ stage: 'restore', item: `round ${checkpoint.round}`, loaded: 1, total: 1, percent: 100 });
          resumedRound = checkpoint.round;
          resumedGame = checkpoint.meta.game;
        }
      } catch (error) {
        // an unreadable checkpoint must not lock the tab out: start fresh and say why
        this.emit({ kind: 'warning', message: `could not resume (${(error as Error).message}); starting fresh` });
      }
    }
    const weightsDigest = await contributor.weightsDigest();
    const transport = new WorkerTransport(options.peerId, (batch) => this.emit({ kind: 'publish', batch }));
    transport.modelCommitment = contributor.modelCommitment ? await contributor.modelCommitment() : weightsDigest;
    if (contributor.admit) transport.admit = (batch) => contributor.admit!(batch);
    transport.onRefused = (peer, reason) => this.emit({ kind: 'warning', message: `refused rollouts from ${peer.slice(-8)}: ${reason}` });
    const emit = (e: WorkerEvent) => {
      this.emit(e);
      // the loop reports a failed round as `${name}: ${message}`; a lost GPU is survivable on the CPU
      if (e.kind === 'phase' && e.phase === 'error' && e.detail?.startsWith('GpuDeviceLostError') && contributor.backend === 'webgpu') {
        void this.fallBackToCpu(options, e.detail, loop);
      }
    };
    const loop: ContributionLoop = new ContributionLoop({ contributor, transport, store, emit }, resumedRound);
    loop.setDuty(this.duty);
    this.loaded = { peerId: options.peerId, game: null, contributor, transport, store, loop, resumedGame };
    this.emit({ kind: 'phase', phase: 'ready', detail: null });
    return {
      backend: contributor.backend, modelId: contributor.modelId, parameterCount: contributor.parameterCount,
      resumedRound, weightsDigest, note: contributor.note ?? null,
      ...(contributor.plan ?? { baseFingerprint: '', lora: null, weightsFamily: null, completionBudget: 0 }),
    };
  }

  /**
   * The GPU went away mid-round (driver reset, device destroyed): load the same model on the CPU engine from
   * the last checkpoint (the round in flight is lost, nothing before it) and carry on if it was running.
   */
  private async fallBackToCpu(options: LoadOptions, why: string, failedLoop: ContributionLoop): Promise<void> {
    if (this.loaded?.loop !== failedLoop) return; // already replaced (unloaded, reloaded)
    const started = this.started;
    this.emit({ kind: 'warning', message: `the GPU was lost (${why}); continuing on the CPU from the last checkpoint` });
    try {
      await this.load({ ...options, backend: 'cpu', resume: true });
      if (started && this.loaded) {
        this.loaded.loop.start(started);
        this.started = started;
      }
    } catch (error) {
      this.emit({ kind: 'phase', phase: 'error', detail: `CPU fallback failed: ${(error as Error).name}: ${(error as Error).message}` });
    }
  }

  private startGame(options: GameOptions): void {
    const loaded = this.need('play the game');
    const { contributor } = loaded;
    if (!contributor.createGameRunner) throw new ProtocolError('this model cannot play the swarm game');
    if (loaded.game) return;
    const config = gameConfigFor({ swarmId: options.swarmId, taskMix: options.taskMix });
    const resume = loaded.resumedGame;
    loaded.resumedGame = undefined;
    loaded.game = new WorkerGame((t) => contributor.createGameRunner!(t, config), loaded.peerId, options, (e) => this.emit(e), undefined, gamePersistence(loaded, resume, (e) => this.emit(e)));
    loaded.game.start();
    this.emit({ kind: 'phase', phase: 'running', detail: loaded.game.resumed ? `playing the swarm game, ${loaded.game.resumed}` : 'playing the swarm game' });
  }

  private async reset(): Promise<void> {
    const loaded = this.loaded;
    if (!loaded) return;
    await loaded.loop.stop();
    await loaded.store?.clear();
    // the weights in memory are still the trained ones; a reset means the next load starts from the shipped model
    await this.unload();
    this.emit({ kind: 'phase', phase: 'idle', detail: 'checkpoint cleared' });
  }

  private async unload(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = null;
    if (!loaded) return;
    await loaded.game?.stop();
    await loaded.loop.stop();
    await loaded.transport.close();
    loaded.contributor.dispose();
  }

  private need(what: string): Loaded {
    if (!this.loaded) throw new NotLoadedError(`cannot ${what}: no model is loaded yet`);
    return this.loaded;
  }

  private reply<K extends keyof Results>(id: number, request: K, result: Results[K]): void {
    this.post({ id, type: 'result', request, result } as WorkerMessage);
  }

  private emit(event: WorkerEvent): void {
    this.post({ id: null, type: 'event', event });
  }
}
