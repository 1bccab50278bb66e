// The swarm's round clock: round r spans [genesis + r*roundMs, genesis + (r+1)*roundMs) in swarm time.
// Local clocks disagree by seconds (phones, VMs), so swarm time = local time + the median offset seen in
// peers' heartbeat timestamps (a median: a few lying peers cannot drag it), clamped to maxSkewMs; and
// validators accept messages for rounds within a window around ours rather than exactly ours.

export interface RoundClockOptions {
  roundMs: number;
  genesisMs: number;
  /** the largest offset we ever adopt from peers; larger skews are the local user's to fix */
  maxSkewMs?: number;
  now?: () => number;
}

const SAMPLES = 31;

export class RoundClock {
  readonly roundMs: number;
  readonly genesisMs: number;
  private readonly maxSkewMs: number;
  private readonly localNow: () => number;
  private readonly samples = new Map<string, number>();
  private offset = 0;

  constructor(options: RoundClockOptions) {
    if (!(options.roundMs >= 1)) throw new RangeError('roundMs must be >= 1');
    this.roundMs = options.roundMs;
    this.genesisMs = options.genesisMs;
    this.maxSkewMs = options.maxSkewMs ?? 30_000;
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
    this.samples.delete(peerId);
    this.samples.set(peerId, peerTimeMs - receivedAtMs);
    while (this.samples.size > SAMPLES) this.samples.delete(this.samples.keys().next().value as string);
    this.recompute();
  }

  forgetPeer(peerId: string): void {
    if (this.samples.delete(peerId)) this.recompute();
  }

  private recompute(): void {
    // include our own clock (offset 0) so two disagreeing peers do not simply move us to one of them
    const sorted = [0, ...this.samples.values()].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    this.offset = Math.max(-this.maxSkewMs, Math.min(this.maxSkewMs, Math.round(median)));
  }
}
