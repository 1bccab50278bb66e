// What the page learns about the swarm from the messages it accepts: per-round swarm reward, who contributes
// how much, which accounts peers are bound to, and a bounded feed of peers' completions. Pure and bounded, so
// a busy swarm cannot grow the tab's memory and the conference screen and dashboard share one source.
import type { PublishedRollout } from '../../rl/transport.ts';
import type { HeldOutReport } from '../../swarm/messages.ts';
import type { EvalPoint } from '../../worker/protocol.ts';

export interface FeedItem {
  /** stable key for keyed lists */
  id: string;
  peerId: string;
  round: number;
  family: string;
  /** shown as text, never as HTML */
  text: string;
  reward: number;
}

export interface PeerTotals {
  peerId: string;
  account: string | null;
  rollouts: number;
  completions: number;
  rewardSum: number;
  lastRound: number;
  lastSeenMs: number;
}

export interface SwarmRound {
  round: number;
  /** mean claimed reward over every completion peers published this round */
  reward: number;
  completions: number;
  peers: number;
}

/** The swarm's held-out accuracy as peers report it in heartbeats, one point per round someone reported. */
export interface HeldOutPoint {
  round: number;
  /** mean over peers (not this tab) of their latest reported held-out accuracy */
  accuracy: number;
  /** mean over the same peers of (latest - their own start): how far the swarm climbed */
  gain: number;
  peers: number;
}

export interface TallySnapshot {
  rounds: SwarmRound[];
  heldOut: HeldOutPoint[];
  peers: PeerTotals[];
  feed: FeedItem[];
  totalRollouts: number;
  totalCompletions: number;
}

export const FEED_SIZE = 40;
export const FEED_TEXT_CHARS = 400;
const MAX_ROUNDS = 500;
const MAX_PEERS = 1000;
/** a peer's held-out report counts toward the swarm's mean for this long after it was heard */
export const HELD_OUT_FRESH_MS = 120_000;

/** What a heartbeat says of this tab's held-out accuracy: its latest evaluation and its first (the start). */
export function heldOutReport(evals: readonly EvalPoint[]): HeldOutReport | null {
  const first = evals[0], last = evals.at(-1);
  if (!first || !last || last.tasks < 1) return null;
  return { round: last.round, accuracy: last.accuracy, tasks: last.tasks, startRound: first.round, startAccuracy: first.accuracy };
}

export class SwarmTally {
  private readonly rounds = new Map<number, { sum: number; n: number; peers: Set<string> }>();
  private readonly peers = new Map<string, PeerTotals>();
  private readonly reports = new Map<string, HeldOutReport & { atMs: number }>();
  private readonly heldOutCurve = new Map<number, HeldOutPoint>();
  private feed: FeedItem[] = [];
  private totalRollouts = 0;
  private totalCompletions = 0;
  private feedCounter = 0;

  constructor(private readonly ownPeerId: string | null = null) {}

  addRollouts(peerId: string, round: number, rollouts: readonly PublishedRollout[], nowMs: number): void {
    const peer = this.peer(peerId, nowMs);
    if (!peer) return;
    peer.lastRound = Math.max(peer.lastRound, round);
    let bucket = this.rounds.get(round);
    if (!bucket) {
      bucket = { sum: 0, n: 0, peers: new Set() };
      this.rounds.set(round, bucket);
      if (this.rounds.size > MAX_ROUNDS) this.rounds.delete(Math.min(...this.rounds.keys()));
    }
    bucket.peers.add(peerId);
    for (const rollout of rollouts) {
      peer.rollouts += 1;
      this.totalRollouts += 1;
      for (const c of rollout.completions) {
        // claimed rewards are the sender's word; clamp so one liar cannot wreck the plotted mean
        const reward = Number.isFinite(c.reward) ? Math.max(-1, Math.min(2, c.reward)) : 0;
        bucket.sum += reward;
        bucket.n += 1;
        peer.completions += 1;
        peer.rewardSum += reward;
        this.totalCompletions += 1;
      }
    }
    if (peerId !== this.ownPeerId) this.pushFeed(peerId, round, rollouts);
  }

  setAccount(peerId: string, account: string, nowMs: number): void {
    const peer = this.peer(peerId, nowMs);
    if (peer) peer.account = account;
  }

  seen(peerId: string, nowMs: number): void {
    this.peer(peerId, nowMs);
  }

  /**
   * A peer's held-out report (from its heartbeat). Repeats of the same evaluation change nothing; a new one
   * adds (or replaces) the point for its round: the mean over every peer heard from recently. `messageRound`
   * is the heartbeat's own (validated) round: a report from the future is a lie and is ignored.
   */
  addHeldOut(peerId: string, report: HeldOutReport, messageRound: number, nowMs: number): void {
    if (report.round > messageRound || report.startRound > report.round) return;
    if (peerId === this.ownPeerId || !this.peer(peerId, nowMs)) return;
    const known = this.reports.get(peerId);
    this.reports.set(peerId, { ...report, atMs: nowMs });
    if (known && known.round === report.round && known.accuracy === report.accuracy) return;
    const fresh = [...this.reports.values()].filter((r) => nowMs - r.atMs <= HELD_OUT_FRESH_MS);
    const mean = (f: (r: HeldOutReport) => number) => fresh.reduce((s, r) => s + f(r), 0) / fresh.length;
    this.heldOutCurve.set(report.round, { round: report.round, accuracy: mean((r) => r.accuracy), gain: mean((r) => r.accuracy - r.startAccuracy), peers: fresh.length });
    if (this.heldOutCurve.size > MAX_ROUNDS) this.heldOutCurve.delete(Math.min(...this.heldOutCurve.keys()));
  }

  snapshot(): TallySnapshot {
    const rounds = [...this.rounds.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([round, b]) => ({ round, reward: b.n ? b.sum / b.n : 0, completions: b.n, peers: b.peers.size }));
    return {
      rounds,
      heldOut: [...this.heldOutCurve.values()].sort((a, b) => a.round - b.round),
      peers: [...this.peers.values()].map((p) => ({ ...p })),
      feed: this.feed,
      totalRollouts: this.totalRollouts,
      totalCompletions: this.totalCompletions,
    };
  }

  /** most rollouts first; ties broken by mean reward */
  topContributors(n: number): PeerTotals[] {
    const mean = (p: PeerTotals) => (p.completions ? p.rewardSum / p.completions : 0);
    return [...this.peers.values()]
      .filter((p) => p.rollouts > 0)
      .sort((a, b) => b.rollouts - a.rollouts || mean(b) - mean(a))
      .slice(0, n)
      .map((p) => ({ ...p }));
  }

  private peer(peerId: string, nowMs: number): PeerTotals | null {
    let peer = this.peers.get(peerId);
    if (!peer) {
      if (this.peers.size >= MAX_PEERS) return null;
      peer = { peerId, account: null, rollouts: 0, completions: 0, rewardSum: 0, lastRound: -1, lastSeenMs: nowMs };
      this.peers.set(peerId, peer);
    }
    peer.lastSeenMs = nowMs;
    return peer;
  }

  private pushFeed(peerId: string, round: number, rollouts: readonly PublishedRollout[]): void {
    // one completion per rollout message keeps the feed varied across peers rather than one peer's batch
    const rollout = rollouts[0];
    const best = rollout?.completions.reduce((a, b) => (b.reward > a.reward ? b : a), rollout.completions[0]);
    if (!rollout || !best) return;
    const text = best.text.length > FEED_TEXT_CHARS ? `${best.text.slice(0, FEED_TEXT_CHARS)}…` : best.text;
    this.feed = [
      { id: `${peerId}:${round}:${this.feedCounter++}`, peerId, round, family: rollout.task.family, text, reward: best.reward },
      ...this.feed,
    ].slice(0, FEED_SIZE);
  }
}
