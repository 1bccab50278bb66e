// The swarm game inside the worker. WebRTC lives on the page, so the game's transport here is a bridge:
// what the runner publishes leaves as a `gamePublish` event (the page gossips it through its
// GossipGameTransport), and peers' messages come in as `deliverGame` requests, already capped per (round,
// sender) by the page; the runner's own inbox judges them again (open stage, one per question, size).
// The driver reads the worker's clock against the genesis the page shifted by its swarm-time offset.
import { GameDriver } from '../rl/game/driver.ts';
import type { GameConfig, GameRunner } from '../rl/game/runner.ts';
import type { GameSnapshot } from '../rl/game/snapshot.ts';
import { GameMessageHandlers, type GameMessage, type GameTransport } from '../rl/game/transport.ts';
import { comparePositions, positionAt, positionFromChain, type StagePosition } from '../rl/game/machine.ts';
import type { ChainStage, GameOptions, WorkerEvent } from './protocol.ts';

export class WorkerGameTransport implements GameTransport {
  private readonly handlers = new GameMessageHandlers();
  private closed = false;

  constructor(
    readonly peerId: string,
    private readonly send: (messages: GameMessage[]) => void,
  ) {}

  async publish(message: GameMessage): Promise<void> {
    await this.publishAll([message]);
  }

  async publishAll(messages: readonly GameMessage[]): Promise<void> {
    if (this.closed) throw new Error('the game transport is closed');
    this.send([...messages]);
  }

  onMessage(handler: (message: GameMessage) => void): void {
    this.handlers.add(handler);
  }

  deliver(message: GameMessage): void {
    if (this.closed) return;
    this.handlers.dispatch(message);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
  }
}

/** how the game survives a reload: the host saves the weights with the runner's snapshot after every stage */
export interface GamePersistence {
  /** the snapshot a resumed checkpoint carried (restored before the first stage), if any */
  resume?: unknown;
  save(snapshot: GameSnapshot): Promise<void>;
}

export class WorkerGame {
  readonly transport: WorkerGameTransport;
  readonly runner: GameRunner;
  private readonly driver: GameDriver;
  /** the coordinator's last position, for a game paced by it (null until the page sends one) */
  private chainPosition: StagePosition | null = null;
  /** the page gave up on the chain: the swarm clock paces the rest of this game */
  private clockFallback = false;
  /**
   * a paced game's snapshot waits for the coordinator's first position: one that stands ahead of the chain
   * was played on the swarm clock (or another chain) and would stall the game, so it is not restored
   */
  private pendingResume: { value: unknown; emit: (event: WorkerEvent) => void } | null = null;
  /** where a restored game stood, for the tab's status line; null when it starts fresh */
  resumed: string | null = null;

  constructor(
    makeRunner: (transport: GameTransport) => GameRunner,
    peerId: string,
    options: GameOptions,
    emit: (event: WorkerEvent) => void,
    now: () => number = () => Date.now(),
    persistence: GamePersistence | null = null,
  ) {
    this.transport = new WorkerGameTransport(peerId, (messages) => emit({ kind: 'gamePublish', messages }));
    this.runner = makeRunner(this.transport);
    if (persistence?.resume !== undefined) {
      if (options.pace === 'coordinator') this.pendingResume = { value: persistence.resume, emit };
      else this.resume(persistence.resume, emit);
    }
    this.runner.on((event) => emit({ kind: 'game', event }));
    const stageMs = options.clock.roundMs / 3;
    this.driver = new GameDriver({
      runner: this.runner,
      now,
      genesisMs: options.clock.genesisMs,
      stageMs,
      onError: (error) => emit({ kind: 'warning', message: `game: ${error.name}: ${error.message}` }),
      ...(persistence ? { afterPlay: () => persistence.save(this.runner.snapshot()) } : {}),
      ...(options.pace === 'coordinator' ? { position: () => (this.clockFallback ? positionAt(now(), options.clock.genesisMs, stageMs) : this.chainPosition) } : {}),
    });
  }

  private resume(value: unknown, emit: (event: WorkerEvent) => void): void {
    try {
      const { messages, dropped } = this.runner.restore(value);
      const at = this.runner.machine.current;
      this.resumed = `resumed at ${at ? `${at.stage} of round ${at.round}` : 'its start'} (${messages} peer messages kept${dropped > 0 ? `, ${dropped} dropped` : ''})`;
    } catch (error) {
      // the weights came back; a game state that did not is played fresh from the next round
      emit({ kind: 'warning', message: `game state not resumed (${(error as Error).name}: ${(error as Error).message}); playing from the next round` });
    }
  }

  start(): void {
    this.driver.start();
  }

  /**
   * The coordinator's counter as the page read it; a counter that is not a game position is a GameError.
   * null: the page lost the chain, and the swarm clock paces the game from now on (its rounds are ahead of
   * a chain's, so the stage machine moves forward; it never goes back to the chain in this game).
   */
  follow(stage: ChainStage | null): void {
    if (stage === null) {
      this.clockFallback = true;
      // no chain position came first: the snapshot is judged by the clock, like any clock-paced game's
      const pending = this.pendingResume;
      this.pendingResume = null;
      if (pending) this.resume(pending.value, pending.emit);
      return;
    }
    const position = positionFromChain(stage.round, stage.stage, stage.stagesPerRound);
    if (this.pendingResume) {
      const { value, emit } = this.pendingResume;
      this.pendingResume = null;
      let saved: StagePosition | null = null;
      try {
        saved = this.runner.readSnapshot(value).position;
      } catch {
        saved = null; // resume() names what is wrong with it
      }
      if (saved !== null && comparePositions(saved, position) > 0) {
        emit({ kind: 'warning', message: `game state not resumed: it stands at ${saved.stage} of round ${saved.round}, ahead of the coordinator's ${position.stage} of round ${position.round} (played on the swarm clock or another chain); playing from the next round` });
      } else {
        this.resume(value, emit);
        if (this.resumed) emit({ kind: 'phase', phase: 'running', detail: `playing the swarm game, ${this.resumed}` });
      }
    }
    this.chainPosition = position;
  }

  /** stops at the end of the stage in flight; `start` goes on from the clock's position then */
  async pause(): Promise<void> {
    await this.driver.stop();
  }

  async stop(): Promise<void> {
    await this.driver.stop();
    await this.transport.close();
  }
}

export type { GameConfig };
