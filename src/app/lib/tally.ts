// What the page learns about the swarm from the messages it accepts: per-round swarm reward, who contributes
// how much, which accounts peers are bound to, and a bounded feed of peers' completions. Pure and bounded, so
// a busy swarm cannot grow the tab's memory and the conference screen and dashboard share one source.
// Every reward shown is OUR re-score of the text against the task re-derived from its ref; the sender's
// claim is kept only to show beside it. A task counts once per (peer, round), however often it is re-sent.
// Peers are kept in two bounded pools: peers only heard from (heartbeats: free for any fresh key) in a small
// pool that evicts the least recently seen, and contributors (rollouts or a binding) in a larger one that,
// when full, drops its least valuable tenth at once (unbound, fewest rollouts, longest unseen) — so a flood
// of fresh keys cannot push out the peers that contribute, and eviction costs O(log n) amortised.
import { generateTask, scoreCompletion, type Task } from '../../rl/tasks/index.ts';
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
  /** our re-score */
  reward: number;
  /** what the sender claimed, shown beside it */
  claimed: number;
}

export interface PeerTotals {
  peerId: string;
  account: string | null;
  rollouts: number;
  completions: number;
  /** sum of our re-scores of its completions */
  rewardSum: number;
  /** sum of its claimed rewards (clamped), shown beside */
  claimedSum: number;
  lastRound: number;
  lastSeenMs: number;
}

export interface SwarmRound {
  round: number;
  /** mean re-scored reward over every completion peers published this round */
  reward: number;
  /** mean claimed reward over the same completions (clamped), shown beside */
  claimed: number;
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
export const MAX_CONTRIBUTORS = 1000;
export const MAX_SEEN_ONLY = 200;
/** tasks remembered per peer for de-duplication: this many recent rounds */
const DEDUP_ROUNDS = 4;
/** the largest reward any verifier gives (accuracy 1 + format 0.1), with room */
const CLAIM_CLAMP = { min: -1, max: 1.1 } as const;

/** a peer's held-out report counts toward the swarm's mean for this long after it was heard */
export const HELD_OUT_FRESH_MS = 120_000;

/** What a heartbeat says of this tab's held-out accuracy: its latest evaluation and its first (the start). */
export function heldOutReport(evals: readonly EvalPoint[]): HeldOutReport | null {
  const first = evals[0], last = evals.at(-1);
  if (!first || !last || last.tasks < 1) return null;
  return { round: last.round, accuracy: last.accuracy, tasks: last.tasks, startRound: first.round, startAccuracy: first.accuracy };
}

export class SwarmTally {
  private readonly rounds = new Map<number, { sum: number; claimed: number; n: number; peers: Set<string> }>();
  private readonly contributors = new Map<string, PeerTotals>();
  private readonly seenOnly = new Map<string, PeerTotals>();
  /** peer -> round -> task keys counted */
  private readonly counted = new Map<string, Map<number, Set<string>>>();
  /** contributors' latest held-out reports (bounded by the contributor pool: evicted with their peer) */
  private readonly reports = new Map<string, HeldOutReport & { atMs: number }>();
  private readonly heldOutCurve = new Map<number, HeldOutPoint>();
  private feed: FeedItem[] = [];
  private totalRollouts = 0;
  private totalCompletions = 0;
  private feedCounter = 0;

  constructor(private readonly ownPeerId: string | null = null) {}

  addRollouts(peerId: string, round: number, rollouts: readonly PublishedRollout[], nowMs: number): void {
    const fresh = this.uncounted(peerId, round, rollouts);
    if (fresh.length === 0) return;
    const peer = this.contributor(peerId, nowMs);
    peer.lastRound = Math.max(peer.lastRound, round);
    let bucket = this.rounds.get(round);
    if (!bucket) {
      bucket = { sum: 0, claimed: 0, n: 0, peers: new Set() };
      this.rounds.set(round, bucket);
      if (this.rounds.size > MAX_ROUNDS) this.rounds.delete(Math.min(...this.rounds.keys()));
    }
    bucket.peers.add(peerId);
    let best: FeedItem | null = null;
    for (const { rollout, task } of fresh) {
      peer.rollouts += 1;
      this.totalRollouts += 1;
      for (const c of rollout.completions) {
        const reward = scoreCompletion(task, c.text).reward;
        const claimed = Number.isFinite(c.reward) ? Math.max(CLAIM_CLAMP.min, Math.min(CLAIM_CLAMP.max, c.reward)) : 0;
        bucket.sum += reward;
        bucket.claimed += claimed;
        bucket.n += 1;
        peer.completions += 1;
        peer.rewardSum += reward;
        peer.claimedSum += claimed;
        this.totalCompletions += 1;
        // the feed shows the claim as sent (as text), the averages above use the clamped one
        if (!best || reward > best.reward) best = this.feedItem(peerId, round, rollout.task.family, c.text, reward, Number.isFinite(c.reward) ? c.reward : 0);
      }
    }
    // one completion per message keeps the feed varied across peers rather than one peer's batch
    if (peerId !== this.ownPeerId && best) this.feed = [best, ...this.feed].slice(0, FEED_SIZE);
  }

  setAccount(peerId: string, account: string, nowMs: number): void {
    this.contributor(peerId, nowMs).account = account;
  }

  seen(peerId: string, nowMs: number): void {
    const known = this.contributors.get(peerId);
    if (known) {
      known.lastSeenMs = nowMs;
      return;
    }
    let peer = this.seenOnly.get(peerId);
    if (peer) this.seenOnly.delete(peerId);
    else peer = emptyPeer(peerId, nowMs);
    peer.lastSeenMs = nowMs;
    this.seenOnly.set(peerId, peer);
    if (this.seenOnly.size > MAX_SEEN_ONLY) this.seenOnly.delete(this.seenOnly.keys().next().value as string);
  }

  /**
   * A peer's held-out report (from its heartbeat). Repeats of the same evaluation change nothing; a new one
   * adds (or replaces) the point for its round: the mean over every peer heard from recently. `messageRound`
   * is the heartbeat's own (validated) round: a report from the future is a lie and is ignored.
   */
  addHeldOut(peerId: string, report: HeldOutReport, messageRound: number, nowMs: number): void {
    if (report.round > messageRound || report.startRound > report.round) return;
    // only contributors' reports count: a fresh key that only sends heartbeats cannot move the swarm's curve
    const peer = this.contributors.get(peerId);
    if (peerId === this.ownPeerId || !peer) return;
    peer.lastSeenMs = nowMs;
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
      .map(([round, b]) => ({ round, reward: b.n ? b.sum / b.n : 0, claimed: b.n ? b.claimed / b.n : 0, completions: b.n, peers: b.peers.size }));
    return {
      rounds,
      heldOut: [...this.heldOutCurve.values()].sort((a, b) => a.round - b.round),
      peers: [...this.contributors.values(), ...this.seenOnly.values()].map((p) => ({ ...p })),
      feed: this.feed,
      totalRollouts: this.totalRollouts,
      totalCompletions: this.totalCompletions,
    };
  }

  /** most rollouts first; ties broken by mean (re-scored) reward */
  topContributors(n: number): PeerTotals[] {
    const mean = (p: PeerTotals) => (p.completions ? p.rewardSum / p.completions : 0);
    return [...this.contributors.values()]
      .filter((p) => p.rollouts > 0)
      .sort((a, b) => b.rollouts - a.rollouts || mean(b) - mean(a))
      .slice(0, n)
      .map((p) => ({ ...p }));
  }

  /** the rollouts of this message whose task this peer has not had counted this round, with their tasks */
  private uncounted(peerId: string, round: number, rollouts: readonly PublishedRollout[]): { rollout: PublishedRollout; task: Task }[] {
    let byRound = this.counted.get(peerId);
    if (!byRound) this.counted.set(peerId, (byRound = new Map()));
    let keys = byRound.get(round);
    if (!keys) {
      byRound.set(round, (keys = new Set()));
      for (const r of byRound.keys()) if (r <= round - DEDUP_ROUNDS) byRound.delete(r);
    }
    const out: { rollout: PublishedRollout; task: Task }[] = [];
    for (const rollout of rollouts) {
      const key = `${rollout.task.family}/${rollout.task.difficulty}/${rollout.task.seed}`;
      if (keys.has(key)) continue;
      let task: Task;
      try {
        task = generateTask(rollout.task);
      } catch {
        continue; // not a task we can re-score: nothing to show
      }
      keys.add(key);
      out.push({ rollout, task });
    }
    return out;
  }

  private contributor(peerId: string, nowMs: number): PeerTotals {
    let peer = this.contributors.get(peerId);
    if (!peer) {
      peer = this.seenOnly.get(peerId) ?? emptyPeer(peerId, nowMs);
      this.seenOnly.delete(peerId);
      if (this.contributors.size >= MAX_CONTRIBUTORS) this.evictContributors();
      this.contributors.set(peerId, peer);
    }
    peer.lastSeenMs = nowMs;
    return peer;
  }

  /** drops the least valuable tenth: unbound before bound, fewer rollouts first, then longest unseen */
  private evictContributors(): void {
    const ranked = [...this.contributors.values()].sort(
      (a, b) => Number(a.account !== null) - Number(b.account !== null) || a.rollouts - b.rollouts || a.lastSeenMs - b.lastSeenMs,
    );
    for (const p of ranked.slice(0, Math.ceil(MAX_CONTRIBUTORS / 10))) {
      this.contributors.delete(p.peerId);
      this.counted.delete(p.peerId);
      this.reports.delete(p.peerId);
    }
  }

  private feedItem(peerId: string, round: number, family: string, text: string, reward: number, claimed: number): FeedItem {
    const shown = text.length > FEED_TEXT_CHARS ? `${text.slice(0, FEED_TEXT_CHARS)}…` : text;
    return { id: `${peerId}:${round}:${this.feedCounter++}`, peerId, round, family, text: shown, reward, claimed };
  }
}

function emptyPeer(peerId: string, nowMs: number): PeerTotals {
  return { peerId, account: null, rollouts: 0, completions: 0, rewardSum: 0, claimedSum: 0, lastRound: -1, lastSeenMs: nowMs };
}
