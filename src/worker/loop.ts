// Runs rounds one after another: wait for the round (swarm clock), run it, checkpoint it, every few rounds
// measure held-out accuracy, rest so the GPU is busy only `duty` of the time. Pause and stop both abort the round in flight (between decode steps, phases
// or micro-batches): the aborted round is dropped whole (no training step, no checkpoint, the completed
// round unchanged), so resume runs it again, or the swarm's current round if the clock has moved on.
import type { RolloutBatch, Transport } from '../rl/transport.ts';
import type { GameConfig, GameRunner } from '../rl/game/runner.ts';
import type { GameTransport } from '../rl/game/transport.ts';
import type { VerifyReply, VerifyRequest } from './verify-protocol.ts';
import { digestTensors, type Checkpoint, type CheckpointStore } from './persist.ts';
import type { EvalPoint, ExportedFile, RoundClock, RoundStats, RunOptions, SwarmModelExport, WorkerEvent } from './protocol.ts';

/** What the worker runs each round: the engine plus the RL round runner, behind one small interface. */
export interface Contributor {
  readonly backend: 'webgpu' | 'cpu';
  readonly modelId: string;
  readonly parameterCount: number;
  /** something the user should know about how it runs (e.g. a fallback to the CPU) */
  readonly note?: string | null;
  /** the base model, adapter and budget it runs with (absent: a fake in tests; the host fills neutral values) */
  readonly plan?: { baseFingerprint: string; lora: { rank: number; targets: string[] } | null; weightsFamily: string | null; completionBudget: number };
  /**
   * what rollouts name as the weights that sampled them when that is not the weights digest (LoRA: base
   * fingerprint + adapter hash, adapter.ts); cheap: called after every checkpoint
   */
  modelCommitment?(): Promise<string>;
  /** refuses a peer's batch before it is merged, with the reason (LoRA: another base); null admits it */
  admit?(batch: RolloutBatch): string | null;
  /**
   * Samples and publishes, awaits `gather` (the window in which peers' rollouts for the round arrive; it ends
   * early once `enough()` says the round holds what training wants), then trains on its own and the peers'
   * rollouts. `signal` fires on pause or stop: the round then rejects with an AbortError, leaving weights and
   * optimizer state as they were.
   */
  runRound(
    round: number, transport: Transport, signal: AbortSignal,
    onStage?: (round: number, stage: string) => void, gather?: (enough?: () => boolean) => Promise<void>,
  ): Promise<RoundStats>;
  /** greedy accuracy on the held-out tasks with the weights held now (absent: the tab never evaluates) */
  evaluate?(round: number, signal: AbortSignal): Promise<EvalPoint>;
  /** weights + optimizer state; `round` is filled in by the loop */
  saveState(): Promise<Omit<Checkpoint, 'round'>>;
  loadState(checkpoint: Checkpoint): Promise<void>;
  /** digestTensors of the weights held now */
  weightsDigest(): Promise<string>;
  /** the current model as a Hugging Face folder */
  exportModel(): Promise<ExportedFile[]>;
  /**
   * the elementwise mean of the weights held now and those of `peers` (model.safetensors bytes) that pass the
   * average guard one by one, as a Hugging Face folder; the others are listed with their reasons
   */
  exportAverage(peers: Uint8Array[]): Promise<SwarmModelExport>;
  /** replaces the weights held with the mean of theirs and `peers`' (Adam's moments kept); between rounds only */
  averageWith(peers: Uint8Array[]): Promise<void>;
  /** a swarm-game runner on the engine and tokenizer held now (game swarms; absent: the tab cannot play) */
  createGameRunner?(transport: GameTransport, config: GameConfig): GameRunner;
  /** verified work (src/worker/verify.ts): answer a challenge, give kept weights, spot-check a peer's batch */
  verify?(request: Exclude<VerifyRequest, { op: 'exclude' }>): Promise<VerifyReply>;
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
 * The longest share of a round spent waiting for peers' rollouts before training: every peer samples at the
 * round's start, so their rollouts arrive within its first part; training right after publishing would never
 * see them. The wait ends as soon as the round holds J external groups (asynchronous rounds: nobody waits
 * out the clock once it has what it needs), so only a lone tab waits the whole share.
 */
export const GATHER_FRACTION = 0.5;

/** Held-out evaluation every this many completed rounds (and once before the first, as the start line). */
export const EVAL_EVERY_ROUNDS = 5;

/** how often a gather looks at what has arrived */
const GATHER_POLL_MS = 25;

/** Milliseconds of rest after `busyMs` of work so that work takes `duty` of wall time. */
export function restAfter(busyMs: number, duty: number): number {
  return duty >= 1 ? 0 : (busyMs * (1 - duty)) / duty;
}

function isAbort(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'AbortError';
}

/** Sleeps until `untilMs` (by `now`), or until `enough()` holds, or the signal fires, whichever is first. */
export async function gatherUntil(untilMs: number, now: () => number, signal: AbortSignal, enough?: () => boolean): Promise<void> {
  while (!signal.aborted && !enough?.()) {
    const left = untilMs - now();
    if (left <= 0) return;
    await sleep(enough ? Math.min(left, GATHER_POLL_MS) : left, signal);
  }
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
  /** completed rounds since the last held-out evaluation; null until the start line is measured */
  private sinceEval: number | null = null;
  private evalEvery = EVAL_EVERY_ROUNDS;
  /** peers' weights to average with before the next round (the latest request wins) */
  private pendingAverage: Uint8Array[] | null = null;

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

  /** Averages with `peers` before the next round starts: a swap mid-round would mix two models in one step. */
  averageWith(peers: Uint8Array[]): void {
    this.pendingAverage = peers;
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
    this.evalEvery = contributor.evaluate ? Math.max(0, Math.floor(options.evalEvery ?? EVAL_EVERY_ROUNDS)) : 0;
    emit({ kind: 'phase', phase: this.paused ? 'paused' : 'running', detail: null });
    try {
      while (!signal.aborted) {
        if (this.paused) {
          await new Promise<void>((resolve) => (this.unpause = resolve));
          continue;
        }
        if (this.sinceEval === null && this.evalEvery > 0) {
          // the start line: accuracy of the weights before this run trains them (then the round to run is
          // recomputed, as the evaluation took time)
          await this.evaluate(this.lastRound ?? -1, signal);
          continue;
        }
        if (this.pendingAverage) await this.applyAverage(this.pendingAverage);
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
          ? (enough?: () => boolean) => gatherUntil(clock.genesisMs + (round + GATHER_FRACTION) * clock.roundMs, this.now, roundAbort.signal, enough)
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
        let busy = Number.isFinite(stats.seconds) && stats.seconds > 0 ? stats.seconds * 1000 : this.now() - started;
        if (this.evalEvery > 0 && this.sinceEval !== null && ++this.sinceEval >= this.evalEvery) busy += await this.evaluate(round, signal);
        await sleep(restAfter(busy, this.duty), signal);
      }
      emit({ kind: 'phase', phase: 'stopped', detail: null });
    } catch (error) {
      if (signal.aborted) emit({ kind: 'phase', phase: 'stopped', detail: null });
      else emit({ kind: 'phase', phase: 'error', detail: `${(error as Error).name}: ${(error as Error).message}` });
    }
  }

  /** A failed average is reported and the weights stay as they were: averaging is an extra, never a stop. */
  private async applyAverage(peers: Uint8Array[]): Promise<void> {
    this.pendingAverage = null;
    const { contributor, emit } = this.deps;
    try {
      await contributor.averageWith(peers);
      const weightsDigest = await contributor.weightsDigest();
      this.deps.transport.modelCommitment = contributor.modelCommitment ? await contributor.modelCommitment() : weightsDigest;
      emit({ kind: 'averaged', round: this.lastRound, models: peers.length + 1, weightsDigest });
    } catch (error) {
      emit({ kind: 'warning', message: `averaging with peers skipped: ${(error as Error).message}` });
    }
  }

  /**
   * Held-out accuracy of the weights after `round`; returns the milliseconds it took. A failure (or a pause
   * mid-evaluation) is reported and skipped: evaluation only watches, it never stops training.
   */
  private async evaluate(round: number, signal: AbortSignal): Promise<number> {
    const { contributor, emit } = this.deps;
    this.sinceEval = 0;
    if (!contributor.evaluate) return 0;
    const started = this.now();
    const evalAbort = (this.roundAbort = new AbortController());
    const onOuterAbort = () => evalAbort.abort();
    signal.addEventListener('abort', onOuterAbort, { once: true });
    try {
      emit({ kind: 'stage', round, stage: 'held-out evaluation' });
      emit({ kind: 'eval', point: await contributor.evaluate(round, evalAbort.signal) });
    } catch (error) {
      if (!isAbort(error)) emit({ kind: 'warning', message: `held-out evaluation after round ${round} failed: ${(error as Error).message}` });
      else this.sinceEval = null; // paused mid-evaluation: measure again before the next round
    } finally {
      signal.removeEventListener('abort', onOuterAbort);
      this.roundAbort = null;
    }
    return this.now() - started;
  }

  /** A failed save is reported but never stops training: the tab just resumes from an older round. */
  private async checkpoint(round: number, contributor: Contributor, store: CheckpointStore | null): Promise<void> {
    if (!store) {
      // without a checkpoint the weights are not read back, so no fingerprint: send none rather than a stale
      // one (a LoRA commitment reads only the adapter, so it is sent anyway)
      this.deps.transport.modelCommitment = contributor.modelCommitment ? await contributor.modelCommitment().catch(() => null) : null;
      return;
    }
    try {
      const state = await contributor.saveState();
      const weightsDigest = digestTensors(state.tensors);
      // the next round samples with exactly these weights: peers can tell model versions apart by it
      this.deps.transport.modelCommitment = contributor.modelCommitment ? await contributor.modelCommitment() : weightsDigest;
      const bytes = await store.save({ ...state, round });
      this.deps.emit({ kind: 'saved', round, bytes, store: store.kind, weightsDigest });
    } catch (error) {
      this.deps.emit({ kind: 'warning', message: `checkpoint of round ${round} not saved: ${(error as Error).message}` });
    }
  }
}
