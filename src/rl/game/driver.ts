// Drives a GameRunner by a clock: every tick reads the position (genesis + fixed-length stages, three to a
// round) and moves the runner there. Ticks never overlap: a stage that runs past its time is finished first,
// and the stage machine then reports what the clock skipped, so a slow tab plays late rather than twice.
// The clock is injected (the swarm clock in the app, a hand-moved one in tests): nothing here knows the network.
import { positionAt, type StagePosition } from './machine.ts';
import type { GameRunner, StageReport } from './runner.ts';

export interface GameDriverOptions {
  runner: GameRunner;
  /** swarm time, unix ms */
  now: () => number;
  genesisMs: number;
  stageMs: number;
  /**
   * Where the game is, when something other than the clock says so (the coordinator's stage counter through
   * positionFromChain); null while unknown. When given, `now`, `genesisMs` and `stageMs` are not read.
   */
  position?: () => StagePosition | null;
  /** how often the clock is read */
  tickMs?: number;
  onError?: (error: Error) => void;
  /**
   * After a position that played a stage: the host checkpoints here (weights + runner.snapshot()). It runs
   * before the next reading of the clock, so the state it saves is between stages, never mid-stage.
   */
  afterPlay?: (reports: StageReport[]) => Promise<void>;
}

export class GameDriver {
  private timer: ReturnType<typeof setInterval> | null = null;
  private busy: Promise<StageReport[]> | null = null;
  /** the last position handed to the runner */
  position: StagePosition | null = null;

  constructor(private readonly options: GameDriverOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.options.tickMs ?? 250);
    void this.tick();
  }

  /** one reading of the clock; resolves when the runner has played what it asked for */
  async tick(): Promise<StageReport[]> {
    if (this.busy) return [];
    const position = this.options.position ? this.options.position() : positionAt(this.options.now(), this.options.genesisMs, this.options.stageMs);
    if (!position || (this.position && this.position.round === position.round && this.position.stage === position.stage)) return [];
    this.position = position;
    const { runner, afterPlay, onError } = this.options;
    this.busy = runner.advance(position).then(async (reports) => {
      if (reports.length > 0 && afterPlay) {
        // a failed save is reported and the game goes on: the next stage saves again
        await afterPlay(reports).catch((error: Error) => onError?.(error));
      }
      return reports;
    });
    try {
      return await this.busy;
    } catch (error) {
      this.options.onError?.(error as Error);
      return [];
    } finally {
      this.busy = null;
    }
  }

  /** stops reading the clock; a stage in flight finishes */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.busy?.catch(() => undefined);
  }
}
