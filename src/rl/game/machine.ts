// When a game peer plays what, and which peer messages it takes. Pure: the position comes from outside
// (the swarm clock, or the coordinator's round and stage counter), so tests and the experiment drive it by
// hand and the app by time or chain events.
//
// Rules: a peer plays a round only from its answer stage on. One that joins (or wakes) later in a round sits
// the rest of it out and plays the next round: its critique would need students it never saw, and its
// resolve the critiques. A peer message is taken only for the stage now open (a late one — for a stage that
// has closed — is dropped with the reason; one for the next stage is kept, for clocks a little ahead), at
// most one per sender per (round, stage, question), within size bounds.
import type { Stage } from './stages.ts';
import { STAGES } from './stages.ts';

export interface StagePosition {
  round: number;
  stage: Stage;
}

export class GameError extends Error {
  override name = 'GameError';
}

const stageIndex = (s: Stage) => STAGES.indexOf(s);

/** the position's index in the game's sequence of stages (round × 3 + stage), the count positionAt divides */
export function stageNumber(p: StagePosition): number {
  return p.round * STAGES.length + stageIndex(p.stage);
}

/** total order of positions: round first, then stage */
export function comparePositions(a: StagePosition, b: StagePosition): number {
  return a.round - b.round || stageIndex(a.stage) - stageIndex(b.stage);
}

/** the position after `p` */
export function nextPosition(p: StagePosition): StagePosition {
  const i = stageIndex(p.stage);
  return i + 1 < STAGES.length ? { round: p.round, stage: STAGES[i + 1] } : { round: p.round + 1, stage: STAGES[0] };
}

/** the swarm clock for the game: genesis + fixed-length stages, three to a round */
export function positionAt(nowMs: number, genesisMs: number, stageMs: number): StagePosition | null {
  if (!(stageMs > 0) || !Number.isFinite(nowMs) || !Number.isFinite(genesisMs)) throw new GameError('positionAt needs finite times and a positive stage length');
  if (nowMs < genesisMs) return null;
  const n = Math.floor((nowMs - genesisMs) / stageMs);
  return { round: Math.floor(n / STAGES.length), stage: STAGES[n % STAGES.length] };
}

/** the coordinator's counters (round, stage 0..2) as a position; anything else is refused */
export function positionFromCounter(round: number, stage: number): StagePosition {
  if (!Number.isSafeInteger(round) || round < 0 || !Number.isInteger(stage) || stage < 0 || stage >= STAGES.length) {
    throw new GameError(`no such game position: round ${round}, stage ${stage}`);
  }
  return { round, stage: STAGES[stage] };
}

/**
 * The coordinator's counters as a game position, for either deployment: a coordinator made with
 * `stagesPerRound = 3` counts (round, stage 0..2) itself; one made with 1 stage a round (the local chain's)
 * counts one tick per stage, so its round n is game stage n: round ⌊n/3⌋, stage n mod 3. Any other stage
 * count does not describe this game and is refused.
 */
export function positionFromChain(round: number, stage: number, stagesPerRound: number): StagePosition {
  if (stagesPerRound === STAGES.length) return positionFromCounter(round, stage);
  if (stagesPerRound === 1) {
    if (stage !== 0) throw new GameError(`a one-stage coordinator reported stage ${stage}`);
    if (!Number.isSafeInteger(round) || round < 0) throw new GameError(`no such game position: coordinator round ${round}`);
    return { round: Math.floor(round / STAGES.length), stage: STAGES[round % STAGES.length] };
  }
  throw new GameError(`a coordinator with ${stagesPerRound} stages a round cannot pace the ${STAGES.length}-stage game`);
}

export type StageAction =
  /** play this stage now */
  | { type: 'play'; round: number; stage: Stage }
  /** the stage went by without this peer (it joined late, or a position was skipped) */
  | { type: 'missed'; round: number; stage: Stage; reason: string }
  /** the round ended: the peer casts its votes for it (only rounds whose resolve it saw open) */
  | { type: 'vote'; round: number };

/**
 * One peer's view of the game's progress. `advance(position)` is called whenever the clock or the chain says
 * where the game is; it returns what the peer should do, in order. Going backwards is ignored (a stale
 * chain read), so nothing is played twice.
 */
export class StageMachine {
  private position: StagePosition | null = null;
  /** the round this peer is playing (it saw its answer stage open), or null while it sits out */
  private playingRound: number | null = null;

  get current(): StagePosition | null {
    return this.position;
  }

  /** is this peer in the round of the current position (it saw the round's answer stage)? */
  get playing(): boolean {
    return this.position !== null && this.playingRound === this.position.round;
  }

  /** where it stands, for a checkpoint (a reload resumes here: nothing it played is played again) */
  snapshot(): { position: StagePosition | null; playingRound: number | null } {
    return { position: this.position && { ...this.position }, playingRound: this.playingRound };
  }

  restore(state: { position: StagePosition | null; playingRound: number | null }): void {
    const p = state.position;
    if (p !== null && (!Number.isSafeInteger(p.round) || p.round < 0 || !STAGES.includes(p.stage))) throw new GameError('snapshot position is not a game position');
    if (state.playingRound !== null && (p === null || state.playingRound !== p.round)) throw new GameError('snapshot plays a round it is not in');
    this.position = p && { round: p.round, stage: p.stage };
    this.playingRound = state.playingRound;
  }

  advance(next: StagePosition): StageAction[] {
    if (this.position && comparePositions(next, this.position) <= 0) return [];
    const actions: StageAction[] = [];
    const prev = this.position;
    this.position = { round: next.round, stage: next.stage };
    // a round this peer played has ended once the position is past its resolve
    if (prev && this.playingRound !== null && next.round > this.playingRound) {
      if (prev.round === this.playingRound && prev.stage === 'resolve') actions.push({ type: 'vote', round: this.playingRound });
      this.playingRound = null;
    }
    if (next.stage === 'answer') {
      this.playingRound = next.round;
      actions.push({ type: 'play', round: next.round, stage: 'answer' });
      return actions;
    }
    if (this.playingRound === next.round) {
      // a stage can be skipped when the clock jumps (a frozen tab): the later stage is still played, with
      // whatever arrived — but a skipped critique leaves this peer nothing to resolve about
      if (prev && prev.round === next.round && stageIndex(next.stage) - stageIndex(prev.stage) > 1) {
        actions.push({ type: 'missed', round: next.round, stage: STAGES[stageIndex(prev.stage) + 1], reason: 'the clock skipped this stage' });
      }
      actions.push({ type: 'play', round: next.round, stage: next.stage });
    } else {
      actions.push({ type: 'missed', round: next.round, stage: next.stage, reason: 'joined after the answer stage: plays from the next round' });
    }
    return actions;
  }
}

/** a peer message in the game, as the inbox sees it (already a typed object; the network layer decoded it) */
export interface GameEnvelope {
  round: number;
  stage: Stage;
  peerId: string;
  /** which question of the round (one message per sender per question and stage) */
  slot: string;
  /** characters of text the message carries (the inbox bounds them) */
  chars: number;
}

export interface InboxLimits {
  /** senders per (round, stage, question): an honest swarm of this size fits; more is a flood */
  maxSenders: number;
  /** characters of text per message */
  maxChars: number;
}

export const INBOX_DEFAULTS: InboxLimits = { maxSenders: 256, maxChars: 16 * 1024 };

export type InboxVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Per-(round, stage) admission: only the open stage, one message per sender, bounded senders and size.
 * The verdict's reason is what the runner reports for each drop.
 */
export class StageInbox<T extends GameEnvelope> {
  private readonly byKey = new Map<string, Map<string, T>>();
  readonly drops: { peerId: string; round: number; stage: Stage; reason: string }[] = [];

  constructor(private readonly limits: InboxLimits = INBOX_DEFAULTS) {}

  offer(message: T, now: StagePosition | null): InboxVerdict {
    const verdict = this.judge(message, now);
    if (!verdict.ok) {
      // the drop log is bounded too: a flood must not grow it without end
      if (this.drops.length < 4096) this.drops.push({ peerId: String(message?.peerId).slice(0, 64), round: Number(message?.round), stage: message?.stage, reason: verdict.reason });
      return verdict;
    }
    const key = `${message.round}/${message.stage}/${message.slot}`;
    const senders = this.byKey.get(key) ?? new Map<string, T>();
    senders.set(message.peerId, message);
    this.byKey.set(key, senders);
    return verdict;
  }

  private judge(m: T, now: StagePosition | null): InboxVerdict {
    if (typeof m !== 'object' || m === null || typeof m.peerId !== 'string' || !Number.isSafeInteger(m.round) || !STAGES.includes(m.stage) || typeof m.slot !== 'string' || m.slot.length > 128) {
      return { ok: false, reason: 'malformed game message' };
    }
    if (!(m.chars >= 0) || m.chars > this.limits.maxChars) return { ok: false, reason: `more than ${this.limits.maxChars} characters` };
    if (now === null) return { ok: false, reason: 'the game has not started' };
    const order = comparePositions(m, now);
    if (order < 0) return { ok: false, reason: `late: ${m.stage} of round ${m.round} closed (now ${now.stage} of round ${now.round})` };
    // one stage early is a sender whose clock runs a little ahead (or that finished first): kept until it opens
    if (order > 0 && comparePositions(m, nextPosition(now)) !== 0) return { ok: false, reason: `early: ${m.stage} of round ${m.round} is not open (now ${now.stage} of round ${now.round})` };
    const senders = this.byKey.get(`${m.round}/${m.stage}/${m.slot}`);
    if (senders?.has(m.peerId)) return { ok: false, reason: 'a second message from this peer for this question and stage' };
    if (senders && senders.size >= this.limits.maxSenders) return { ok: false, reason: 'too many senders for this stage' };
    return { ok: true };
  }

  /**
   * Put back a message kept before a reload: every bound but the clock's window is judged again (its stage
   * may have closed since; it was on time when it arrived).
   */
  restore(message: T): InboxVerdict {
    return this.offer(message, typeof message?.round === 'number' && STAGES.includes(message?.stage) ? { round: message.round, stage: message.stage } : null);
  }

  /** everything kept, in arrival order per (round, stage, question) */
  entries(): T[] {
    return [...this.byKey.values()].flatMap((senders) => [...senders.values()]);
  }

  /** what arrived for (round, stage, question), in arrival order */
  get(round: number, stage: Stage, slot: string): T[] {
    return [...(this.byKey.get(`${round}/${stage}/${slot}`)?.values() ?? [])];
  }

  /** forget rounds before `round` */
  prune(round: number): void {
    for (const key of this.byKey.keys()) if (Number(key.split('/')[0]) < round) this.byKey.delete(key);
  }
}
