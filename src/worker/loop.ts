// Runs rounds one after another: wait for the round (swarm clock), run it, checkpoint it, rest so the GPU is
// busy only `duty` of the time. Pause and stop both abort the round in flight (between decode steps, phases
// or micro-batches): the aborted round is dropped whole (no training step, no checkpoint, the completed
// round unchanged), so resume runs it again, or the swarm's current round if the clock has moved on.
import type { Transport } from '../rl/transport.ts';
import { digestTensors, type Checkpoint, type CheckpointStore } from './persist.ts';
import type { ExportedFile, RoundClock, RoundStats, RunOptions, WorkerEvent } from './protocol.ts';

/** What the worker runs each round: the engine plus the RL round runner, behind one small interface. */
export interface Contributor {
  readonly backend: 'webgpu' | 'cpu';
  readonly modelId: string;
  readonly parameterCount: number;
  /** something the user should know about how it runs (e.g. a fallback to the CPU) */
  readonly note?: string | null;
  /**
   * Samples and publishes, awaits `gather` (the window in which peers' rollouts for the round arrive), then
   * trains on its own and the peers' rollouts. `signal` fires on pause or stop: the round then rejects with
   * an AbortError, leaving weights and optimizer state as they were.
   */
  runRound(
    round: number, transport: Transport, signal: AbortSignal,
    onStage?: (round: number, stage: string) => void, gather?: () => Promise<void>,
  ): Promise<RoundStats>;
  /** weights + optimizer state; `round` is filled in by the loop */
  saveState(): Promise<Omit<Checkpoint, 'round'>>;
  loadState(checkpoint: Checkpoint): Promise<void>;
  /** digestTensors of the weights held now */
  weightsDigest(): Promise<string>;
  /** the current model as a Hugging Face folder */
  exportModel(): Promise<ExportedFile[]>;
  dispose(): void;
}

export interface LoopDeps {
  contributor: Contributor;
  transport: Transport & { modelCommitment?: string | null };
  store: CheckpointStore | null;
  emit(event: WorkerEvent): void;
  now?: () => number;
}

/** The round to run after `last`: the next one, or the swarm clock's current one if we fell behind. */
export function nextRound(last: number | null, clock: RoundClock | undefined, nowMs: number): number {
  const following = last === null ? 0 : last + 1;
  if (!clock) return following;
  const current = Math.max(0, Math.floor((nowMs - clock.genesisMs) / clock.roundMs));
  return last === null ? current : Math.max(following, current);
}

/**
 * Share of a round spent waiting for peers' rollouts before training. Rounds here take about a second while
 * a swarm round lasts tens of seconds: training right after publishing would never see a peer's rollouts.
 */
export const GATHER_FRACTION = 0.5;

/** Milliseconds of rest after `busyMs` of work so that work takes `duty` of wall time. */
export function restAfter(busyMs: number, duty: number): number {
  return duty >= 1 ? 0 : (busyMs * (1 - duty)) / duty;
}

function isAbort(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'AbortError';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

export class ContributionLoop {
  private duty = 1;
  private paused = false;
  private unpause: (() => void) | null = null;
  private abort = new AbortController();
  /** the round in flight: aborted by pause as well as stop */
  private roundAbort: AbortController | null = null;
  private running: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(
    private readonly deps: LoopDeps,
    /** last completed round (restored from a checkpoint), or null */
    private lastRound: number | null,
  ) {
    this.now = deps.now ?? (() => Date.now());
  }

  get completedRound(): number | null {
    return this.lastRound;
  }

  get active(): boolean {
    return this.running !== null;
  }

  start(options: RunOptions): void {
    if (this.running) return;
    this.abort = new AbortController();
    this.running = this.run(options, this.abort.signal).finally(() => {
      this.running = null;
    });
  }

  setDuty(duty: number): void {
    this.duty = Math.min(1, Math.max(0.05, duty));
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    const inFlight = this.roundAbort !== null && !this.roundAbort.signal.aborted;
    this.roundAbort?.abort();
    if (this.running) {
      this.deps.emit({ kind: 'phase', phase: 'paused', detail: inFlight ? 'paused mid-round; that round is dropped and runs again on resume' : null });
    }
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.unpause?.();
    this.unpause = null;
    if (this.running) this.deps.emit({ kind: 'phase', phase: 'running', detail: null });
  }

  /** aborts the round in flight and resolves once the loop has exited */
  async stop(): Promise<void> {
    this.abort.abort();
    this.roundAbort?.abort();
    this.unpause?.();
    await this.running;
  }

  private async run(options: RunOptions, signal: AbortSignal): Promise<void> {
    const { contributor, transport, store, emit } = this.deps;
    emit({ kind: 'phase', phase: this.paused ? 'paused' : 'running', detail: null });
    try {
      while (!signal.aborted) {
        if (this.paused) {
          await new Promise<void>((resolve) => (this.unpause = resolve));
          continue;
        }
        const round = nextRound(this.lastRound, options.clock, this.now());
        if (options.clock) await sleep(options.clock.genesisMs + round * options.clock.roundMs - this.now(), signal);
        if (signal.aborted) break;
        if (this.paused) continue; // paused while waiting for the round to start
        const started = this.now();
        const onStage = (r: number, stage: string) => emit({ kind: 'stage', round: r, stage });
        onStage(round, 'starting');
        const clock = options.clock;
        const roundAbort = (this.roundAbort = new AbortController());
        const gather = clock
          ? () => sleep(clock.genesisMs + (round + GATHER_FRACTION) * clock.roundMs - this.now(), roundAbort.signal)
          : undefined;
        let stats: RoundStats;
        try {
          stats = await contributor.runRound(round, transport, roundAbort.signal, onStage, gather);
        } catch (error) {
          // a pause dropped the round: back to the top, where the loop waits for resume
          if (roundAbort.signal.aborted && !signal.aborted && isAbort(error)) continue;
          throw error;
        } finally {
          this.roundAbort = null;
        }
        if (signal.aborted) break;
        this.lastRound = round;
        transport.prune(round - 1);
        emit({ kind: 'stats', stats });
        await this.checkpoint(round, contributor, store);
        // the duty cycle counts work, not the time spent waiting for peers
        const busy = Number.isFinite(stats.seconds) && stats.seconds > 0 ? stats.seconds * 1000 : this.now() - started;
        await sleep(restAfter(busy, this.duty), signal);
      }
      emit({ kind: 'phase', phase: 'stopped', detail: null });
    } catch (error) {
      if (signal.aborted) emit({ kind: 'phase', phase: 'stopped', detail: null });
      else emit({ kind: 'phase', phase: 'error', detail: `${(error as Error).name}: ${(error as Error).message}` });
    }
  }

  /** A failed save is reported but never stops training: the tab just resumes from an older round. */
  private async checkpoint(round: number, contributor: Contributor, store: CheckpointStore | null): Promise<void> {
    if (!store) {
      // without a checkpoint the weights are not read back, so no fingerprint: send none rather than a stale one
      this.deps.transport.modelCommitment = null;
      return;
    }
    try {
      const state = await contributor.saveState();
      const weightsDigest = digestTensors(state.tensors);
      // the next round samples with exactly these weights: peers can tell model versions apart by it
      this.deps.transport.modelCommitment = weightsDigest;
      const bytes = await store.save({ ...state, round });
      this.deps.emit({ kind: 'saved', round, bytes, store: store.kind, weightsDigest });
    } catch (error) {
      this.deps.emit({ kind: 'warning', message: `checkpoint of round ${round} not saved: ${(error as Error).message}` });
    }
  }
}
