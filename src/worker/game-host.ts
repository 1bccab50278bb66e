// The swarm game inside the worker. WebRTC lives on the page, so the game's transport here is a bridge:
// what the runner publishes leaves as a `gamePublish` event (the page gossips it through its
// GossipGameTransport), and peers' messages come in as `deliverGame` requests, already capped per (round,
// sender) by the page; the runner's own inbox judges them again (open stage, one per question, size).
// The driver reads the worker's clock against the genesis the page shifted by its swarm-time offset.
import { GameDriver } from '../rl/game/driver.ts';
import type { GameConfig, GameRunner } from '../rl/game/runner.ts';
import type { GameSnapshot } from '../rl/game/snapshot.ts';
import type { GameMessage, GameTransport } from '../rl/game/transport.ts';
import { positionFromChain, type StagePosition } from '../rl/game/machine.ts';
import type { ChainStage, GameOptions, WorkerEvent } from './protocol.ts';

export class WorkerGameTransport implements GameTransport {
  private readonly handlers: ((m: GameMessage) => void)[] = [];
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
    this.handlers.push(handler);
  }

  deliver(message: GameMessage): void {
    if (this.closed) return;
    for (const h of this.handlers) {
      try {
        h(message);
      } catch {
        // one handler's bug must not stop delivery to the others
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.length = 0;
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
      try {
        const { messages, dropped } = this.runner.restore(persistence.resume);
        const at = this.runner.machine.current;
        this.resumed = `resumed at ${at ? `${at.stage} of round ${at.round}` : 'its start'} (${messages} peer messages kept${dropped > 0 ? `, ${dropped} dropped` : ''})`;
      } catch (error) {
        // the weights came back; a game state that did not is played fresh from the next round
        emit({ kind: 'warning', message: `game state not resumed (${(error as Error).name}: ${(error as Error).message}); playing from the next round` });
      }
    }
    this.runner.on((event) => emit({ kind: 'game', event }));
    this.driver = new GameDriver({
      runner: this.runner,
      now,
      genesisMs: options.clock.genesisMs,
      stageMs: options.clock.roundMs / 3,
      onError: (error) => emit({ kind: 'warning', message: `game: ${error.name}: ${error.message}` }),
      ...(persistence ? { afterPlay: () => persistence.save(this.runner.snapshot()) } : {}),
      ...(options.pace === 'coordinator' ? { position: () => this.chainPosition } : {}),
    });
  }

  start(): void {
    this.driver.start();
  }

  /** the coordinator's counter as the page read it; a counter that is not a game position is a GameError */
  follow(stage: ChainStage): void {
    this.chainPosition = positionFromChain(stage.round, stage.stage, stage.stagesPerRound);
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
