// The swarm game's transport over gossipsub (RL Swarm era 1 on the swarm topic). The game core
// (src/rl/game) knows only the GameTransport interface; this maps its messages onto the swarm's kinds:
//   answer   ↔ `rollouts`: one message per stage, one group per question, one completion each
//   critique ↔ `critique` {task, about, text}
//   resolve  ↔ `resolve` {task, text}
//   vote     ↔ `vote` {votes}
// The swarm's validator has already checked schema, signer, round window, replay and each kind's rate
// budget. This adds the per-round caps an honest game peer fits in: per (round, sender) at most one answer
// message and B critiques and B resolves (one per question), one vote message, for a bounded number of
// senders and rounds, so a peer within its rate budget still cannot make anyone hold more than a game needs.
// Each refusal is kept with its reason (bounded) and reported to listeners.
import { GameMessageHandlers, type GameMessage, type GameTransport, type StageMessage, type VoteMessage } from '../rl/game/transport.ts';
import type { RolloutsMessage, SwarmMessage } from './messages.ts';
import type { Swarm } from './swarm.ts';

export interface GameTransportLimits {
  /** the game's questions per round (B): critiques and resolves per sender and round */
  questions: number;
  /** senders per round (an honest room fits; more is a flood of fresh keys) */
  maxSenders: number;
  /** rounds kept behind the newest */
  keepRounds: number;
}

export const GAME_TRANSPORT_DEFAULTS: Omit<GameTransportLimits, 'questions'> = { maxSenders: 256, keepRounds: 3 };

export interface GameDrop {
  from: string;
  round: number;
  kind: string;
  reason: string;
}

export class GameTransportError extends Error {
  override name = 'GameTransportError';
}

type WireKind = 'rollouts' | 'critique' | 'resolve' | 'vote';
const GAME_KINDS: ReadonlySet<string> = new Set<WireKind>(['rollouts', 'critique', 'resolve', 'vote']);
const MAX_DROPS = 256;

/** how many messages of each kind one sender may have delivered per round */
function perRoundCap(kind: WireKind, questions: number): number {
  return kind === 'critique' || kind === 'resolve' ? questions : 1;
}

export class GossipGameTransport implements GameTransport {
  private readonly handlers = new GameMessageHandlers();
  private readonly dropListeners = new Set<(d: GameDrop) => void>();
  /** round → sender → kind → messages delivered */
  private readonly counts = new Map<number, Map<string, Map<WireKind, number>>>();
  private readonly unsubscribe: () => void;
  readonly drops: GameDrop[] = [];
  delivered = 0;

  constructor(
    readonly swarm: Swarm,
    private readonly limits: GameTransportLimits,
  ) {
    if (!Number.isInteger(limits.questions) || limits.questions < 1) throw new GameTransportError('a game transport needs questions >= 1');
    this.unsubscribe = swarm.onMessage(({ message }) => {
      if (GAME_KINDS.has(message.kind)) this.receive(message);
    });
  }

  get peerId(): string {
    return this.swarm.peerId;
  }

  onMessage(handler: (message: GameMessage) => void): void {
    this.handlers.add(handler);
  }

  onDrop(listener: (d: GameDrop) => void): () => void {
    this.dropListeners.add(listener);
    return () => this.dropListeners.delete(listener);
  }

  async publish(message: GameMessage): Promise<void> {
    await this.publishAll([message]);
  }

  async publishAll(messages: readonly GameMessage[]): Promise<void> {
    const answers: StageMessage[] = [];
    for (const m of messages) {
      if (m.peerId !== this.peerId) throw new GameTransportError(`a game message in another peer's name (${String(m.peerId).slice(0, 64)})`);
      if (m.swarmId !== this.swarm.config.swarmId) throw new GameTransportError(`a game message for another swarm (${String(m.swarmId).slice(0, 64)})`);
      if (m.kind === 'answer') answers.push(m);
    }
    // a stage's answers travel together: one rollouts message per round is what the rollouts budget allows
    const rounds = new Set(answers.map((a) => a.round));
    for (const round of rounds) {
      const group = answers.filter((a) => a.round === round);
      await this.swarm.publish({ kind: 'rollouts', round, rollouts: group.map((a) => ({ task: a.task, completions: [{ text: a.text, reward: 0 }] })), part: 0, parts: 1 });
    }
    for (const m of messages) {
      if (m.kind === 'critique') {
        if (typeof m.about !== 'string') throw new GameTransportError('a critique must name the peer it is about');
        await this.swarm.publish({ kind: 'critique', round: m.round, task: m.task, about: m.about, text: m.text });
      } else if (m.kind === 'resolve') {
        await this.swarm.publish({ kind: 'resolve', round: m.round, task: m.task, text: m.text });
      } else if (m.kind === 'vote') {
        await this.swarm.publish({ kind: 'vote', round: m.round, votes: m.votes });
      }
    }
  }

  private drop(from: string, round: number, kind: string, reason: string): void {
    const d: GameDrop = { from: from.slice(0, 64), round, kind, reason };
    this.drops.push(d);
    if (this.drops.length > MAX_DROPS) this.drops.shift();
    for (const l of this.dropListeners) {
      try {
        l(d);
      } catch {
        // a display bug must not stop the game
      }
    }
  }

  /** counts one message of (round, sender, kind) against its cap; false (with a drop) when over it */
  private admit(m: SwarmMessage, kind: WireKind): boolean {
    let byPeer = this.counts.get(m.round);
    if (!byPeer) {
      const newest = Math.max(m.round, ...this.counts.keys());
      if (m.round < newest - this.limits.keepRounds) {
        this.drop(m.peerId, m.round, kind, `round ${m.round} is over`);
        return false;
      }
      byPeer = new Map();
      this.counts.set(m.round, byPeer);
      for (const r of this.counts.keys()) if (r < newest - this.limits.keepRounds) this.counts.delete(r);
    }
    let kinds = byPeer.get(m.peerId);
    if (!kinds) {
      if (byPeer.size >= this.limits.maxSenders) {
        this.drop(m.peerId, m.round, kind, 'too many senders this round');
        return false;
      }
      kinds = new Map();
      byPeer.set(m.peerId, kinds);
    }
    const n = kinds.get(kind) ?? 0;
    const cap = perRoundCap(kind, this.limits.questions);
    if (n >= cap) {
      this.drop(m.peerId, m.round, kind, `more than ${cap} ${kind} message${cap === 1 ? '' : 's'} this round`);
      return false;
    }
    kinds.set(kind, n + 1);
    return true;
  }

  private receive(m: SwarmMessage): void {
    if (m.peerId === this.peerId) return;
    const kind = m.kind as WireKind;
    if (m.kind === 'rollouts') {
      const problem = answerShape(m, this.limits.questions);
      if (problem) return this.drop(m.peerId, m.round, 'answer', problem);
    }
    if (!this.admit(m, kind)) return;
    const out: GameMessage[] = [];
    const head = { swarmId: m.swarmId, round: m.round, peerId: m.peerId };
    if (m.kind === 'rollouts') for (const r of m.rollouts) out.push({ kind: 'answer', ...head, task: r.task, text: r.completions[0].text });
    else if (m.kind === 'critique') out.push({ kind: 'critique', ...head, task: m.task, text: m.text, about: m.about });
    else if (m.kind === 'resolve') out.push({ kind: 'resolve', ...head, task: m.task, text: m.text });
    else if (m.kind === 'vote') out.push({ kind: 'vote', ...head, votes: m.votes } satisfies VoteMessage);
    for (const message of out) {
      this.delivered++;
      this.handlers.dispatch(message);
    }
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.handlers.clear();
    this.dropListeners.clear();
    this.counts.clear();
  }
}

/** a game answer message: one part, at most B groups, one completion each; the reason when it is not */
export function answerShape(m: RolloutsMessage, questions: number): string | null {
  if (m.parts !== 1) return 'game answers come in one message';
  if (m.rollouts.length > questions) return `${m.rollouts.length} answers; the game asks ${questions} questions`;
  if (m.rollouts.some((r) => r.completions.length !== 1)) return 'a game answer is one completion per question';
  return null;
}

/** the game's transport on an already-joined swarm; closing it leaves the swarm running */
export function gameTransportOver(swarm: Swarm, limits: Pick<GameTransportLimits, 'questions'> & Partial<GameTransportLimits>): GossipGameTransport {
  return new GossipGameTransport(swarm, { ...GAME_TRANSPORT_DEFAULTS, ...limits });
}
