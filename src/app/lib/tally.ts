// What the page learns about the swarm from the messages it accepts: per-round swarm reward, who contributes
// how much, which accounts peers are bound to, and a bounded feed of peers' completions. Pure and bounded, so
// a busy swarm cannot grow the tab's memory and the conference screen and dashboard share one source.
import type { PublishedRollout } from '../../rl/transport.ts';

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

export interface TallySnapshot {
  rounds: SwarmRound[];
  peers: PeerTotals[];
  feed: FeedItem[];
  totalRollouts: number;
  totalCompletions: number;
}

export const FEED_SIZE = 40;
export const FEED_TEXT_CHARS = 400;
const MAX_ROUNDS = 500;
const MAX_PEERS = 1000;

export class SwarmTally {
  private readonly rounds = new Map<number, { sum: number; n: number; peers: Set<string> }>();
  private readonly peers = new Map<string, PeerTotals>();
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

  snapshot(): TallySnapshot {
    const rounds = [...this.rounds.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([round, b]) => ({ round, reward: b.n ? b.sum / b.n : 0, completions: b.n, peers: b.peers.size }));
    return {
      rounds,
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
