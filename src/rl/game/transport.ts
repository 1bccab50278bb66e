// How a game peer talks to others: the rl Transport's shape for the game's messages. The RL core stays
// network-free; the in-memory bus below joins peers in one process (tests, the experiment), and the gossip
// implementation (src/swarm/game-transport.ts) maps these onto the swarm's message kinds:
//   answer   → one `rollouts` message per stage: one group per question, one completion each
//   critique → `critique` {task, about, text}: `about` = the peer id of the student the critique names
//   resolve  → `resolve` {task, text}
//   vote     → `vote` {votes: [{task, peerId}]}
import type { Stage } from './stages.ts';
import type { TaskRef } from '../transport.ts';

export interface StageMessage {
  kind: Stage;
  swarmId: string;
  round: number;
  peerId: string;
  task: TaskRef;
  /** the full text (for critique and resolve: the prompt's scaffold + the completion) */
  text: string;
  /** critique only: the peer id of the named student, so a receiver checks the pick against its own list */
  about?: string;
}

export interface VoteMessage {
  kind: 'vote';
  swarmId: string;
  round: number;
  peerId: string;
  /** per question, the peer whose resolve this voter re-scored best */
  votes: { task: TaskRef; peerId: string }[];
}

export type GameMessage = StageMessage | VoteMessage;

export interface GameTransport {
  readonly peerId: string;
  /** hand a message to the network; never waits on peers */
  publish(message: GameMessage): Promise<void>;
  /** a stage's messages at once (one per question), so a transport can carry them in fewer network messages */
  publishAll(messages: readonly GameMessage[]): Promise<void>;
  /** called for every message another peer publishes (the runner's inbox judges it) */
  onMessage(handler: (message: GameMessage) => void): void;
  close(): Promise<void>;
}

/**
 * The handlers a GameTransport's onMessage collects, called in turn for each delivered message: one handler's
 * bug must not stop delivery to the others. Shared by every transport (the in-memory bus, the worker's bridge,
 * gossip).
 */
export class GameMessageHandlers {
  private readonly list: ((message: GameMessage) => void)[] = [];

  add(handler: (message: GameMessage) => void): void {
    this.list.push(handler);
  }

  dispatch(message: GameMessage): void {
    for (const h of this.list) {
      try {
        h(message);
      } catch {
        // one handler's bug must not stop delivery to the others
      }
    }
  }

  clear(): void {
    this.list.length = 0;
  }
}

/** many game peers in one process; each receives a copy of what the others publish, at once */
export class InMemoryGameBus {
  private readonly peers = new Map<string, BusGameTransport>();
  /** messages handed to no one, so a test can hold some back and deliver them late */
  private held: ((m: GameMessage) => boolean) | null = null;
  readonly heldBack: GameMessage[] = [];

  connect(peerId: string): GameTransport {
    if (this.peers.has(peerId)) throw new Error(`InMemoryGameBus: peer id "${peerId}" is already connected`);
    const t = new BusGameTransport(peerId, this);
    this.peers.set(peerId, t);
    return t;
  }

  /** hold back the messages matching `filter` (null: deliver everything) */
  holdBack(filter: ((m: GameMessage) => boolean) | null): void {
    this.held = filter;
  }

  /** deliver held messages now, as a slow link would */
  releaseHeld(): void {
    const list = this.heldBack.splice(0);
    for (const m of list) this.fanOut(m);
  }

  /** @internal */
  deliver(message: GameMessage): void {
    if (this.held?.(message)) {
      this.heldBack.push(structuredClone(message));
      return;
    }
    this.fanOut(message);
  }

  /** @internal a copy per receiver, as a network would (no shared references) */
  fanOut(message: GameMessage): void {
    for (const [id, peer] of this.peers) if (id !== message.peerId) peer.receive(structuredClone(message));
  }

  /** @internal */
  leave(peerId: string): void {
    this.peers.delete(peerId);
  }
}

class BusGameTransport implements GameTransport {
  private readonly handlers = new GameMessageHandlers();
  private closed = false;

  constructor(
    readonly peerId: string,
    private readonly bus: InMemoryGameBus,
  ) {}

  async publish(message: GameMessage): Promise<void> {
    if (this.closed) throw new Error('transport is closed');
    this.bus.deliver(message);
  }

  async publishAll(messages: readonly GameMessage[]): Promise<void> {
    for (const m of messages) await this.publish(m);
  }

  onMessage(handler: (message: GameMessage) => void): void {
    this.handlers.add(handler);
  }

  receive(message: GameMessage): void {
    this.handlers.dispatch(message);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.bus.leave(this.peerId);
  }
}
