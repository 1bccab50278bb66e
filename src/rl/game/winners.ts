// Winners of a game round. Every peer re-scores the resolve stage of everyone it saw (never a claimed
// reward: the text, the round's question and the majority this peer computed from the critiques) and votes,
// per question, for the best; the tally counts one vote message per voter per round, at most one vote per
// question, only for questions of that round. Pure and bounded.
import { hashParts } from '../rng.ts';
import type { Task } from '../tasks/index.ts';
import type { TaskRef } from '../transport.ts';
import { scoreResolve } from './stages.ts';
import type { VoteMessage } from './transport.ts';

export const taskKey = (t: TaskRef): string => `${t.family}/${t.difficulty}/${t.seed}`;

export interface ResolveSeen {
  peerId: string;
  text: string;
}

/**
 * The best resolve of one question among those seen: highest re-scored reward, ties broken by a seeded
 * order of peer ids (the same for every voter, not chosen by the sender). null when nobody resolved it.
 */
export function bestResolve(swarmId: string, round: number, task: Task, k: number, majority: number | null, seen: readonly ResolveSeen[]): { peerId: string; reward: number } | null {
  let best: { peerId: string; reward: number; key: number } | null = null;
  const counted = new Set<string>();
  for (const r of seen) {
    if (typeof r?.peerId !== 'string' || typeof r.text !== 'string' || counted.has(r.peerId)) continue;
    counted.add(r.peerId);
    const reward = scoreResolve(r.text, task, k, majority).reward;
    const key = hashParts('tabswarm/game/winner', swarmId, round, r.peerId);
    if (!best || reward > best.reward || (reward === best.reward && key < best.key)) best = { peerId: r.peerId, reward, key };
  }
  return best && { peerId: best.peerId, reward: best.reward };
}

export interface Tally {
  round: number;
  /** peer id → votes received, most first (ties by peer id) */
  standings: { peerId: string; votes: number }[];
  /** the peers with the most votes (several on a tie); empty with no valid vote */
  winners: string[];
  dropped: { voter: string; reason: string }[];
}

/** count the round's votes; `questions` are the round's task refs (votes for anything else are dropped) */
export function tallyVotes(swarmId: string, round: number, questions: readonly TaskRef[], messages: readonly VoteMessage[], maxVoters = 1024): Tally {
  const allowed = new Set(questions.map(taskKey));
  const voters = new Set<string>();
  const counts = new Map<string, number>();
  const dropped: { voter: string; reason: string }[] = [];
  const drop = (voter: unknown, reason: string) => {
    if (dropped.length < 4096) dropped.push({ voter: String(voter).slice(0, 64), reason });
  };
  for (const m of messages) {
    if (typeof m !== 'object' || m === null || typeof m.peerId !== 'string' || !Array.isArray(m.votes)) {
      drop(m?.peerId, 'malformed vote message');
      continue;
    }
    if (m.swarmId !== swarmId || m.round !== round) {
      drop(m.peerId, 'vote for another swarm or round');
      continue;
    }
    if (voters.has(m.peerId)) {
      drop(m.peerId, 'a second vote message from this voter');
      continue;
    }
    if (voters.size >= maxVoters) {
      drop(m.peerId, 'too many voters');
      continue;
    }
    voters.add(m.peerId);
    const votedOn = new Set<string>();
    for (const v of m.votes.slice(0, questions.length)) {
      const key = v && typeof v === 'object' && v.task ? taskKey(v.task) : '';
      if (!allowed.has(key) || typeof v.peerId !== 'string' || v.peerId.length > 128) {
        drop(m.peerId, 'vote for a question not in this round');
        continue;
      }
      if (votedOn.has(key)) {
        drop(m.peerId, 'two votes on one question');
        continue;
      }
      votedOn.add(key);
      counts.set(v.peerId, (counts.get(v.peerId) ?? 0) + 1);
    }
  }
  const standings = [...counts].map(([peerId, votes]) => ({ peerId, votes })).sort((a, b) => b.votes - a.votes || (a.peerId < b.peerId ? -1 : 1));
  const top = standings[0]?.votes ?? 0;
  return { round, standings, winners: standings.filter((s) => s.votes === top && top > 0).map((s) => s.peerId), dropped };
}
