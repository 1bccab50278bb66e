// What a peer must pass before its message is delivered or forwarded: a score above the floor, its rate
// limit, the schema, this swarm, the signer named in the message, a round near ours, a nonce not seen
// before, its kind's rate budget, for rollouts the swarm's batch shape (and the content check the caller
// plugs in: task refs, claimed rewards), for bindings both signatures. Each refusal has a reason; only a
// `reject` (a provable fault of the author) costs score, so a replay or a message judged late from where
// we stand costs its author nothing. gossipsub turns a refusal into Reject or Ignore: it goes no further.
import { samplingSeed } from '../rl/verify/seed.ts';
import type { RoundClock } from './clock.ts';
import { LAB_ROLLOUTS_BUDGET, LIMITS, RATE_BUDGETS, RATE_LIMIT, SCORE } from './constants.ts';
import { decodeMessage, type BindingMessage, type MessageKind, type RolloutsMessage, type SwarmMessage } from './messages.ts';

/**
 * Checks a binding's two signatures (wallet EIP-712 and libp2p key); `identityBindingVerifier` wraps the
 * identity layer's `verifyPeerBinding`. Without one, bindings are refused rather than trusted.
 */
export type BindingVerifier = (message: BindingMessage) => Promise<{ ok: boolean; reason?: string }>;

/**
 * `reject`: the bytes are bad wherever they are seen (schema, forged sender, bad signature); gossipsub also
 * penalises whoever forwarded them. `ignore`: bad only from where we stand (rate, round window, replay,
 * a low score): dropped and not forwarded, but a forwarder that judged differently is not punished.
 */
export type Severity = 'reject' | 'ignore';
export type Verdict = { ok: true; message: SwarmMessage } | { ok: false; reason: string; severity: Severity };

const reject = (reason: string): Verdict => ({ ok: false, reason, severity: 'reject' });
const ignore = (reason: string): Verdict => ({ ok: false, reason, severity: 'ignore' });
/** the swarm game's kinds (in a game swarm, rollouts are its answer stages) */
const GAME_KINDS: ReadonlySet<MessageKind> = new Set<MessageKind>(['rollouts', 'critique', 'resolve', 'vote']);

export interface Rejection {
  at: number;
  /** who signed the message (the gossipsub `from`) */
  from: string;
  /** the connection it arrived on, when it was forwarded */
  via: string | null;
  reason: string;
  severity: Severity;
}

/** Application-level peer scores: feed gossipsub's app-specific score and gate a peer's messages. */
export class PeerScores {
  private readonly scores = new Map<string, { value: number; at: number }>();
  constructor(private readonly now: () => number = () => Date.now()) {}

  get(peerId: string): number {
    const entry = this.scores.get(peerId);
    if (!entry) return 0;
    // decay toward 0 so a peer that behaved badly once can come back
    const minutes = (this.now() - entry.at) / 60_000;
    const decay = Math.min(Math.abs(entry.value), minutes * SCORE.decayPerMinute * Math.max(1, Math.abs(entry.value) / 10));
    return entry.value - Math.sign(entry.value) * decay;
  }

  private add(peerId: string, delta: number): void {
    const value = Math.max(SCORE.floor * 2, Math.min(SCORE.max, this.get(peerId) + delta));
    this.scores.delete(peerId);
    this.scores.set(peerId, { value, at: this.now() });
    // fresh keys are free: bounded, forgetting the least recently scored first (a forgotten sybil's
    // score restarts at 0, which is all it could have earned anyway)
    if (this.scores.size > MAX_SCORED_PEERS) this.scores.delete(this.scores.keys().next().value as string);
  }

  reward(peerId: string): void {
    this.add(peerId, SCORE.acceptReward);
  }

  penalize(peerId: string): void {
    this.add(peerId, -SCORE.rejectPenalty);
  }

  banned(peerId: string): boolean {
    return this.get(peerId) <= SCORE.floor;
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const peer of this.scores.keys()) out[peer] = Math.round(this.get(peer) * 10) / 10;
    return out;
  }
}

const MAX_SCORED_PEERS = 8192;

/** Token bucket per peer. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly burst: number = RATE_LIMIT.burst,
    private readonly perSecond: number = RATE_LIMIT.perSecond,
    private readonly now: () => number = () => Date.now(),
  ) {}

  take(peerId: string): boolean {
    const t = this.now();
    const bucket = this.buckets.get(peerId) ?? { tokens: this.burst, at: t };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((t - bucket.at) / 1000) * this.perSecond);
    bucket.at = t;
    const ok = bucket.tokens >= 1;
    if (ok) bucket.tokens -= 1;
    this.buckets.set(peerId, bucket);
    if (this.buckets.size > 4096) this.buckets.delete(this.buckets.keys().next().value as string);
    return ok;
  }
}

/** One token bucket per (kind, peer): a heartbeat flood cannot use up a peer's rollouts budget, nor the reverse. */
export class KindRateLimiter {
  private readonly limiters: Record<MessageKind, RateLimiter>;
  constructor(roundMs: number, options: { lab?: boolean; now?: () => number } = {}) {
    const now = options.now ?? (() => Date.now());
    const make = (b: { burst: number; perSecond?: number; perRound?: number }) =>
      new RateLimiter(b.burst, b.perSecond ?? ((b.perRound ?? 1) * 1000) / roundMs, now);
    this.limiters = {
      rollouts: make(options.lab ? LAB_ROLLOUTS_BUDGET : RATE_BUDGETS.rollouts),
      heartbeat: make(RATE_BUDGETS.heartbeat),
      binding: make(RATE_BUDGETS.binding),
      ping: make(RATE_BUDGETS.ping),
      echo: make(RATE_BUDGETS.echo),
      critique: make(RATE_BUDGETS.critique),
      resolve: make(RATE_BUDGETS.resolve),
      vote: make(RATE_BUDGETS.vote),
    };
  }

  take(kind: MessageKind, peerId: string): boolean {
    return this.limiters[kind].take(peerId);
  }
}

/** The swarm's batch shape: B groups of G completions, completions of at most so many characters. */
export interface RolloutShape {
  questions: number;
  completions: number;
  completionChars: number;
}

/** A rollouts message's content against the swarm's rules (task refs, claims): a reason to reject, or null. */
export type RolloutContentCheck = (message: RolloutsMessage) => string | null;

export interface ValidatorOptions {
  swarmId: string;
  clock: RoundClock;
  bindingVerifier?: BindingVerifier;
  scores?: PeerScores;
  rateLimiter?: RateLimiter;
  kindRates?: KindRateLimiter;
  /** lab swarms get the load probe's rollouts budget */
  lab?: boolean;
  /** absent: only the wire schema's limits apply */
  rolloutShape?: RolloutShape;
  rolloutCheck?: RolloutContentCheck;
  now?: () => number;
  /** how many recent rejections to keep for diagnostics */
  keepRejections?: number;
}

export class SwarmValidator {
  readonly scores: PeerScores;
  readonly rejections: Rejection[] = [];
  rejected = 0;
  accepted = 0;
  private readonly rate: RateLimiter;
  private readonly kindRates: KindRateLimiter;
  /** sender -> nonce -> round, for replay detection */
  private readonly seen = new Map<string, Map<number, number>>();
  private readonly now: () => number;
  /** the game round when the coordinator's counter paces the game (game-pace.ts); null: the clock's round */
  private gameRound: (() => number | null) | null = null;

  constructor(private readonly options: ValidatorOptions) {
    this.now = options.now ?? (() => Date.now());
    this.scores = options.scores ?? new PeerScores(this.now);
    this.rate = options.rateLimiter ?? new RateLimiter(RATE_LIMIT.burst, RATE_LIMIT.perSecond, this.now);
    this.kindRates = options.kindRates ?? new KindRateLimiter(options.clock.roundMs, { lab: options.lab === true, now: this.now });
  }

  /**
   * `signer` is the gossipsub-verified author (null for an unsigned message), `via` the peer that handed it
   * to us. Never throws.
   */
  async validate(data: Uint8Array, signer: string | null, via: string | null = null): Promise<Verdict> {
    const verdict = await this.check(data, signer);
    const who = signer ?? via ?? 'unknown';
    if (verdict.ok) {
      this.accepted++;
      this.scores.reward(who);
    } else {
      this.rejected++;
      // only a provable fault costs score: an `ignore` (rate, round window, replay) may be a replay by
      // someone else or a matter of where we stand, and must never let a third party lower an author's score
      if (verdict.severity === 'reject') {
        this.scores.penalize(who);
        // an unsigned or forged message is the forwarder's fault as much as anyone's
        if (via && via !== who) this.scores.penalize(via);
      }
      this.rejections.push({ at: this.now(), from: who, via, reason: verdict.reason, severity: verdict.severity });
      if (this.rejections.length > (this.options.keepRejections ?? 200)) this.rejections.shift();
    }
    return verdict;
  }

  private async check(data: Uint8Array, signer: string | null): Promise<Verdict> {
    if (signer === null) return reject('unsigned message');
    if (this.scores.banned(signer)) return ignore('sender score below floor');
    if (!this.rate.take(signer)) return ignore('rate limit exceeded');
    const decoded = decodeMessage(data);
    if (!decoded.ok) return reject(decoded.reason);
    const m = decoded.message;
    if (m.swarmId !== this.options.swarmId) return reject(`wrong swarm ${m.swarmId}`);
    if (m.peerId !== signer) return reject('forged sender: peerId is not the signer');
    const gameRound = GAME_KINDS.has(m.kind) ? (this.gameRound?.() ?? null) : null;
    if (gameRound !== null) {
      // a chain-paced game: its rounds are the coordinator's, whatever the clock says
      if (m.round < gameRound - LIMITS.roundWindow) return ignore(`late: game round ${m.round} is over (the coordinator is at round ${gameRound})`);
      if (m.round > gameRound + LIMITS.roundWindow) return ignore(`early: game round ${m.round} has not started (the coordinator is at round ${gameRound})`);
    } else if (!this.options.clock.accepts(m.round, LIMITS.roundWindow)) {
      return ignore(`wrong round ${m.round} (current ${this.options.clock.currentRound()})`);
    }
    if (!this.remember(m)) return ignore(`replayed nonce ${m.nonce}`);
    if (!this.kindRates.take(m.kind, signer)) return ignore(`${m.kind} rate budget exceeded`);
    if (m.kind === 'rollouts') {
      const shape = this.options.rolloutShape;
      if (shape) {
        if (m.rollouts.length > shape.questions) return reject(`rollouts: ${m.rollouts.length} groups; the swarm's B is ${shape.questions}`);
        for (const r of m.rollouts) {
          if (r.completions.length > shape.completions) return reject(`rollouts: a group of ${r.completions.length} completions; the swarm's G is ${shape.completions}`);
          if (r.completions.some((c) => c.text.length > shape.completionChars)) return reject(`rollouts: a completion over ${shape.completionChars} characters`);
        }
      }
      // the seed is derived, never chosen: a different one is a forged claim whoever checks it
      if (m.sampling && m.sampling.seed !== samplingSeed(m.swarmId, m.round, m.peerId)) return reject('rollouts: sampling seed is not the one derived from (swarm, round, peer)');
      // a whole batch in one message says how many rows its commitment must cover (split ones: the spot check)
      const rows = m.rollouts.reduce((n, r) => n + r.completions.length, 0);
      if (m.sampling && m.parts === 1 && m.sampling.completions !== rows) return reject(`rollouts: the sampling commitment covers ${m.sampling.completions} completions, the batch holds ${rows}`);
      const problem = this.options.rolloutCheck?.(m) ?? null;
      if (problem !== null) return reject(`rollouts: ${problem}`);
    }
    if (m.kind === 'binding') {
      if (!this.options.bindingVerifier) return ignore('binding refused: no verifier configured');
      if (m.signed.binding.peerId !== m.peerId) return reject('binding is for another peer than its sender');
      try {
        const result = await this.options.bindingVerifier(m);
        // expiry is a matter of when it is seen (a binding gossiped just before its deadline, clocks apart):
        // not a fault, so not a reject
        if (!result.ok && /deadline has passed|expired/.test(result.reason ?? '')) return ignore(`binding refused: ${result.reason}`);
        if (!result.ok) return reject(`binding refused: ${result.reason ?? 'signatures do not verify'}`);
      } catch (error) {
        return ignore(`binding verifier failed: ${String((error as Error)?.message ?? error).slice(0, 120)}`);
      }
    }
    return { ok: true, message: m };
  }

  /**
   * Game messages (answers, critiques, resolves, votes) judged against this round instead of the clock's,
   * while it returns one: the coordinator's counter paces the game. null goes back to the clock.
   */
  followGameRounds(source: (() => number | null) | null): void {
    this.gameRound = source;
  }

  /** records (peer, nonce); false when it was already there */
  private remember(m: SwarmMessage): boolean {
    let nonces = this.seen.get(m.peerId);
    if (!nonces) {
      nonces = new Map();
      this.seen.set(m.peerId, nonces);
    }
    if (nonces.has(m.nonce)) return false;
    nonces.set(m.nonce, m.round);
    // a chain-paced game's rounds are far behind the clock's: keep their nonces by the older of the two
    const oldest = Math.min(this.options.clock.currentRound(), this.gameRound?.() ?? Infinity) - LIMITS.replayMemoryRounds;
    if (nonces.size > 256) {
      // messages older than the memory are refused by the round window anyway, so their nonces can go
      for (const [nonce, round] of nonces) if (round < oldest) nonces.delete(nonce);
      while (nonces.size > 4096) nonces.delete(nonces.keys().next().value as number);
    }
    return true;
  }
}
