// The swarm's round clock: round r spans [genesis + r*roundMs, genesis + (r+1)*roundMs) in swarm time.
// Local clocks disagree by seconds (phones, VMs), so swarm time = local time + the median offset seen in
// peers' heartbeat timestamps, clamped to maxSkewMs; and validators accept messages for rounds within a
// window around ours rather than exactly ours. Keys are free, so a peer's offset only counts once it has
// been heard for minAgeMs (several heartbeats), or at once when it is trusted (an on-chain binding): a
// flood of fresh ids lands in a small bounded pool of newcomers, where it can neither vote nor push out
// the long-lived peers that do.

export interface RoundClockOptions {
  roundMs: number;
  genesisMs: number;
  /** the largest offset we ever adopt from peers; larger skews are the local user's to fix */
  maxSkewMs?: number;
  /** how long a peer must have been heard before its clock counts (default 3 min: longer than a sybil burst) */
  minAgeMs?: number;
  /** and sent at least this many timestamps (default 3) */
  minSamples?: number;
  now?: () => number;
}

/** peers whose offsets vote, and newcomers waiting to: both bounded */
const VOTERS = 31;
const NEWCOMERS = 64;

interface Sample {
  offset: number;
  firstSeen: number;
  lastSeen: number;
  count: number;
}

export class RoundClock {
  readonly roundMs: number;
  readonly genesisMs: number;
  private readonly maxSkewMs: number;
  private readonly localNow: () => number;
  private readonly minAgeMs: number;
  private readonly minSamples: number;
  private readonly voters = new Map<string, Sample>();
  private readonly newcomers = new Map<string, Sample>();
  private readonly trusted = new Set<string>();
  private offset = 0;

  constructor(options: RoundClockOptions) {
    if (!(options.roundMs >= 1)) throw new RangeError('roundMs must be >= 1');
    this.roundMs = options.roundMs;
    this.genesisMs = options.genesisMs;
    this.maxSkewMs = options.maxSkewMs ?? 30_000;
    this.minAgeMs = options.minAgeMs ?? 180_000;
    this.minSamples = options.minSamples ?? 3;
    this.localNow = options.now ?? (() => Date.now());
  }

  /** estimated (swarm time - local time) in ms */
  get offsetMs(): number {
    return this.offset;
  }

  /** swarm time in unix ms */
  now(): number {
    return this.localNow() + this.offset;
  }

  roundAt(timeMs: number): number {
    return Math.floor((timeMs - this.genesisMs) / this.roundMs);
  }

  currentRound(): number {
    return this.roundAt(this.now());
  }

  roundStart(round: number): number {
    return this.genesisMs + round * this.roundMs;
  }

  msUntilRound(round: number): number {
    return Math.max(0, this.roundStart(round) - this.now());
  }

  /** true when `round` is within `window` rounds of the current one */
  accepts(round: number, window: number): boolean {
    return Number.isSafeInteger(round) && Math.abs(round - this.currentRound()) <= window;
  }

  /**
   * A peer said its clock read `peerTimeMs` when it sent a message we got at local time `receivedAtMs`.
   * One sample per peer (its latest), so one chatty peer counts once.
   */
  observePeerTime(peerId: string, peerTimeMs: number, receivedAtMs = this.localNow()): void {
    if (!Number.isFinite(peerTimeMs)) return;
    const offset = peerTimeMs - receivedAtMs;
    const voter = this.voters.get(peerId);
    if (voter) {
      voter.offset = offset;
      voter.lastSeen = receivedAtMs;
      voter.count++;
      this.recompute();
      return;
    }
    let sample = this.newcomers.get(peerId);
    if (!sample) {
      sample = { offset, firstSeen: receivedAtMs, lastSeen: receivedAtMs, count: 0 };
      this.newcomers.set(peerId, sample);
      // the oldest newcomer goes: a flood churns the pool, the voters are untouched
      while (this.newcomers.size > NEWCOMERS) this.newcomers.delete(this.newcomers.keys().next().value as string);
    }
    sample.offset = offset;
    sample.lastSeen = receivedAtMs;
    sample.count++;
    const mature = this.trusted.has(peerId) || (receivedAtMs - sample.firstSeen >= this.minAgeMs && sample.count >= this.minSamples);
    if (mature && this.voters.size >= VOTERS) this.dropSilentVoter(receivedAtMs);
    if (mature && this.voters.size < VOTERS) {
      this.newcomers.delete(peerId);
      this.voters.set(peerId, sample);
      this.recompute();
    }
  }

  /** a voter not heard for a while (it left) makes room; one that is still talking keeps its seat */
  private dropSilentVoter(nowMs: number): void {
    const silentFor = Math.max(2 * this.minAgeMs, 60_000);
    for (const [id, v] of this.voters) {
      if (nowMs - v.lastSeen > silentFor) {
        this.voters.delete(id);
        return;
      }
    }
  }

  /** a peer with a verified on-chain binding: its clock counts from its first heartbeat */
  trust(peerId: string): void {
    this.trusted.add(peerId);
    if (this.trusted.size > 4 * VOTERS) this.trusted.delete(this.trusted.values().next().value as string);
  }

  forgetPeer(peerId: string): void {
    this.newcomers.delete(peerId);
    if (this.voters.delete(peerId)) this.recompute();
  }

  private recompute(): void {
    // include our own clock (offset 0) so two disagreeing peers do not simply move us to one of them
    const sorted = [0, ...[...this.voters.values()].map((s) => s.offset)].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    this.offset = Math.max(-this.maxSkewMs, Math.min(this.maxSkewMs, Math.round(median)));
  }
}
