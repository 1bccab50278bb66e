// What paces a game tab's stages: the coordinator contract's stage counter when the swarm names one, the swarm
// clock otherwise — or when the chain cannot be trusted to. The chain is read through a small StageReader
// (viem on the page, a hand-made one in unit tests): a `StageAdvanced` event only wakes a read, and a bounded
// poll (every 2 s, backing off on errors) catches what events miss. Every reading is judged the same way:
//   - it must be a game position at all (rl/game/machine.ts positionFromChain), else it is garbage;
//   - it must not go back (a stale or hostile RPC must not make the tab replay rounds) nor jump further
//     than stages can have passed since the last accepted reading (one per second, plus slack);
//   - the first reading failing, or several in a row failing or refused, and the tab goes over to the
//     swarm clock for good (until a reload) and says why; it never flips back mid-game, because the clock's
//     rounds are far ahead of a chain's and the stage machine only moves forward.
// Only positions that moved are forwarded (to the worker's game and the validator's round window).
import type { Address, PublicClient } from 'viem';
import { chainClient, type SwarmChainConfig } from '../../identity/chain.ts';
import { readRoundStage } from '../../identity/coordinator.ts';
import { swarmCoordinatorAbi } from '../../identity/generated/SwarmCoordinator.ts';
import { comparePositions, positionFromChain, stageNumber, type StagePosition } from '../../rl/game/machine.ts';
import type { Swarm } from '../../swarm/swarm.ts';
import type { ChainStage } from '../../worker/protocol.ts';

/** the counters as the contract returns them */
export interface ChainReading {
  round: bigint;
  stage: bigint;
  stagesPerRound: bigint;
}

export interface StageReader {
  read(): Promise<ChainReading>;
  /** calls `wake` when the chain says a stage advanced; returns the unsubscribe */
  watch?(wake: () => void, onError: (error: Error) => void): () => void;
}

export type PaceStatus =
  /** the chain's counter paces the stages; `refused` names the last reading that was not taken, if any */
  | { pace: 'coordinator'; chain: ChainStage; position: StagePosition; refused: string | null }
  /** the swarm clock paces them; `reason` says why the chain does not (null: the swarm has no chain) */
  | { pace: 'clock'; reason: string | null };

export interface PaceLimits {
  pollMs: number;
  maxBackoffMs: number;
  /** readings in a row that fail (or are refused) before the tab gives up on the chain */
  failuresBeforeFallback: number;
  readTimeoutMs: number;
  /** the shortest stage a coordinator may run: bounds how far a reading may jump after a pause */
  minStageMs: number;
  /** stages a reading may jump at once, on top of the elapsed-time allowance */
  maxJumpStages: number;
}

export const PACE_DEFAULTS: PaceLimits = { pollMs: 2_000, maxBackoffMs: 30_000, failuresBeforeFallback: 3, readTimeoutMs: 5_000, minStageMs: 1_000, maxJumpStages: 30 };

/** beyond any deployment's lifetime (a stage a second for 30,000 years): a bigger counter is garbage */
const MAX_CHAIN_COUNTER = 2n ** 40n;

export type Judgement = { ok: true; chain: ChainStage; position: StagePosition } | { ok: false; reason: string };

const describe = (p: StagePosition) => `${p.stage} of round ${p.round}`;

/** one reading against the last accepted one (taken `elapsedMs` ago); pure */
export function judgeReading(reading: ChainReading, last: StagePosition | null, elapsedMs: number, limits: Pick<PaceLimits, 'minStageMs' | 'maxJumpStages'> = PACE_DEFAULTS): Judgement {
  const { round, stage, stagesPerRound } = reading ?? ({} as ChainReading);
  if (typeof round !== 'bigint' || typeof stage !== 'bigint' || typeof stagesPerRound !== 'bigint') return { ok: false, reason: 'the chain answered something that is not a stage counter' };
  if (round < 0n || stage < 0n || round > MAX_CHAIN_COUNTER || stage > 16n || stagesPerRound > 16n) return { ok: false, reason: `counter out of range (round ${round}, stage ${stage}, ${stagesPerRound} stages a round)` };
  const chain = { round: Number(round), stage: Number(stage), stagesPerRound: Number(stagesPerRound) };
  let position: StagePosition;
  try {
    position = positionFromChain(chain.round, chain.stage, chain.stagesPerRound);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  if (last === null) return { ok: true, chain, position };
  if (comparePositions(position, last) < 0) return { ok: false, reason: `refused: the coordinator went back from ${describe(last)} to ${describe(position)}` };
  const jump = stageNumber(position) - stageNumber(last);
  const allowed = limits.maxJumpStages + Math.floor(Math.max(0, elapsedMs) / limits.minStageMs);
  if (jump > allowed) return { ok: false, reason: `refused: a jump of ${jump} stages (from ${describe(last)} to ${describe(position)}; at most ${allowed} here)` };
  return { ok: true, chain, position };
}

export interface GamePaceOptions {
  reader: StageReader;
  /** a position that moved forward */
  onPosition: (chain: ChainStage, position: StagePosition) => void;
  /** every change of status (the dashboard's line); a fall-back is the last one */
  onStatus: (status: PaceStatus) => void;
  /** the chain was given up after `run` (the game it paced must follow the clock now) */
  onFallBack?: () => void;
  limits?: Partial<PaceLimits>;
  now?: () => number;
}

export class GamePace {
  status: PaceStatus = { pace: 'clock', reason: 'the chain has not been read yet' };
  private readonly limits: PaceLimits;
  private readonly now: () => number;
  private acceptedAt = 0;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private unwatch: (() => void) | null = null;
  private reading: Promise<void> | null = null;
  /** a wake that came while a read was in flight: read once more after it */
  private wakeAgain = false;
  private stopped = false;
  private running = false;

  constructor(private readonly options: GamePaceOptions) {
    this.limits = { ...PACE_DEFAULTS, ...options.limits };
    this.now = options.now ?? (() => Date.now());
  }

  /** the first reading decides the pace; nothing is forwarded until `run` */
  async start(): Promise<PaceStatus> {
    try {
      const verdict = judgeReading(await this.readOnce(), null, 0, this.limits);
      if (!verdict.ok) this.fallBack(verdict.reason);
      else {
        this.acceptedAt = this.now();
        this.set({ pace: 'coordinator', chain: verdict.chain, position: verdict.position, refused: null });
      }
    } catch (error) {
      this.fallBack(reasonOf(error));
    }
    return this.status;
  }

  /** forwards the position read by `start`, then follows the chain (events + poll) until stopped or fallen back */
  run(): void {
    if (this.status.pace !== 'coordinator' || this.stopped || this.running) return;
    this.running = true;
    this.options.onPosition(this.status.chain, this.status.position);
    this.unwatch = this.options.reader.watch?.(() => this.wake(), () => undefined) ?? null;
    this.schedule(this.limits.pollMs);
  }

  /** the game round that peers' game messages are judged against, or null while the clock paces */
  get gameRound(): number | null {
    return this.status.pace === 'coordinator' ? this.status.position.round : null;
  }

  /** a chain event: read now (coalesced with a read in flight) */
  wake(): void {
    if (this.stopped || this.status.pace !== 'coordinator') return;
    if (this.reading) {
      this.wakeAgain = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.unwatch?.();
    this.unwatch = null;
  }

  private schedule(ms: number): void {
    if (this.stopped || this.status.pace !== 'coordinator') return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, ms);
  }

  private tick(): Promise<void> {
    this.reading ??= this.pollOnce().finally(() => {
      this.reading = null;
      if (this.wakeAgain) {
        this.wakeAgain = false;
        this.wake();
      }
    });
    return this.reading;
  }

  private async pollOnce(): Promise<void> {
    if (this.status.pace !== 'coordinator') return;
    let problem: string;
    try {
      const reading = await this.readOnce();
      if (this.stopped || this.status.pace !== 'coordinator') return;
      const last = this.status.position;
      const verdict = judgeReading(reading, last, this.now() - this.acceptedAt, this.limits);
      if (verdict.ok) {
        this.failures = 0;
        this.acceptedAt = this.now();
        if (comparePositions(verdict.position, last) > 0) {
          this.set({ pace: 'coordinator', chain: verdict.chain, position: verdict.position, refused: null });
          this.options.onPosition(verdict.chain, verdict.position);
        } else if (this.status.refused !== null) this.set({ ...this.status, refused: null });
        return this.schedule(this.limits.pollMs);
      }
      problem = verdict.reason;
    } catch (error) {
      if (this.stopped) return;
      problem = reasonOf(error);
    }
    this.failures++;
    if (this.failures >= this.limits.failuresBeforeFallback) return this.fallBack(`${this.failures} readings in a row failed, the last: ${problem}`);
    if (this.status.pace === 'coordinator') this.set({ ...this.status, refused: problem });
    this.schedule(Math.min(this.limits.maxBackoffMs, this.limits.pollMs * 2 ** this.failures));
  }

  private async readOnce(): Promise<ChainReading> {
    let timeout: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timeout = setTimeout(() => reject(new Error(`no answer in ${this.limits.readTimeoutMs / 1000} s`)), this.limits.readTimeoutMs);
    });
    try {
      return await Promise.race([this.options.reader.read(), late]);
    } finally {
      clearTimeout(timeout);
    }
  }

  private fallBack(reason: string): void {
    this.stop();
    this.set({ pace: 'clock', reason: `chain unreachable: ${reason.slice(0, 200)}` });
    if (this.running) this.options.onFallBack?.();
  }

  private set(status: PaceStatus): void {
    this.status = status;
    this.options.onStatus(status);
  }
}

/** one line for the dashboard: viem's errors carry the request and call log below their short message */
function reasonOf(error: unknown): string {
  const e = error as { shortMessage?: unknown; details?: unknown; message?: unknown };
  const head = typeof e?.shortMessage === 'string' ? e.shortMessage : String(e?.message ?? error).split('\n')[0];
  const details = typeof e?.details === 'string' && e.details.length > 0 ? ` (${e.details.split('\n')[0]})` : '';
  return `${head.trim()}${details}`.slice(0, 200);
}

/** the dashboard's one line */
export function describePace(status: PaceStatus | null): string {
  if (status === null || (status.pace === 'clock' && status.reason === null)) return 'stages: swarm clock';
  if (status.pace === 'clock') return `stages: swarm clock (${status.reason})`;
  return `stages: coordinator contract${status.refused ? ` (last reading ${status.refused})` : ''}`;
}

/** the coordinator contract through viem: the two counters (stagesPerRound is fixed at deployment: read once) */
export function chainStageReader(client: PublicClient, coordinator: Address): StageReader {
  let stagesPerRound: bigint | null = null;
  return {
    async read() {
      stagesPerRound ??= await client.readContract({ address: coordinator, abi: swarmCoordinatorAbi, functionName: 'stagesPerRound' });
      const { round, stage } = await readRoundStage(client, coordinator);
      return { round, stage, stagesPerRound };
    },
    watch(wake, onError) {
      return client.watchContractEvent({ address: coordinator, abi: swarmCoordinatorAbi, eventName: 'StageAdvanced', onLogs: () => wake(), onError, pollingInterval: PACE_DEFAULTS.pollMs });
    },
  };
}

export interface PaceGameOptions {
  /** the swarm's chain section (absent: the swarm clock paces, nothing is read) */
  chain: Pick<SwarmChainConfig, 'chainId' | 'rpcUrl' | 'coordinator'> | undefined;
  swarm: Pick<Swarm, 'validator'>;
  /** to the worker's game (a `gamePosition` request); null once the chain is given up mid-game */
  forward?: (stage: ChainStage | null) => void;
  onStatus: (status: PaceStatus) => void;
  /** for tests: another reader than viem's */
  reader?: StageReader;
  limits?: Partial<PaceLimits>;
}

/**
 * A game tab's (or the conference screen's) pacing: the first chain reading decides; while the chain paces,
 * the validator judges game messages by the chain's round (peers on the same counter agree on it, whatever
 * their clocks say). Call `run()` on the result once the worker's game is started with its `status.pace`.
 */
export async function paceGame(options: PaceGameOptions): Promise<GamePace | null> {
  if (!options.chain) {
    options.onStatus({ pace: 'clock', reason: null });
    return null;
  }
  const pace = new GamePace({
    reader: options.reader ?? chainStageReader(chainClient(options.chain), options.chain.coordinator),
    onPosition: (chain) => options.forward?.(chain),
    onStatus: options.onStatus,
    onFallBack: () => {
      options.swarm.validator.followGameRounds(null);
      options.forward?.(null);
    },
    ...(options.limits ? { limits: options.limits } : {}),
  });
  // a tab that joins again (Contribute after Stop) may have followed an earlier pace: this one decides now
  const status = await pace.start();
  options.swarm.validator.followGameRounds(status.pace === 'coordinator' ? () => pace.gameRound : null);
  return pace;
}
