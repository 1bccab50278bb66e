// SAPO mixing: which groups one GRPO step trains on. I local groups + J external groups, where the
// external ones come from peers' published rollouts. A sender never chooses what others train on: its
// batch may hold at most the swarm's B groups of G completions, its task refs must be exactly the ones
// roundTaskRefs derives for it this round (it cannot pick easy or poisoned tasks), each task is re-derived
// from its ref (never the sender's answer key), each completion re-scored here (never the sender's claimed
// reward) and capped to the swarm's max new tokens. J is then filled peer by peer, so one peer's weight in
// our step is at most its share however many groups it sends.
import type { TextTokenizer } from './format.ts';
import { groupAdvantages, hasAdvantage } from './grpo.ts';
import type { Rng } from './rng.ts';
import { assignedTaskKeys, taskRefKey } from './round-tasks.ts';
import { checkTaskRef, generateTask, scoreCompletion, type Score, type Task, type TaskMix } from './tasks/index.ts';
import type { RolloutBatch, TaskRef } from './transport.ts';

export interface ScoredCompletion extends Score {
  text: string;
  /**
   * Tokens to train on: sampled tokens (stop token included unless the sampler hit max new tokens) for local
   * completions; for external ones, the re-encoding when a tokenizer was given to collectExternalGroups.
   */
  tokens?: number[];
  /** sampler logprobs, only for local completions */
  oldLogprobs?: number[];
}

export interface RolloutGroup {
  source: 'local' | 'external';
  /** who sampled it */
  peerId: string;
  ref: TaskRef;
  task: Task;
  completions: ScoredCompletion[];
  advantages: number[];
  /** the sender has an on-chain binding and the swarm prefers bound peers: its groups fill J first */
  bound?: boolean;
}

/** What an honest sender of this round publishes: the receiver's own copy of the swarm's rules. */
export interface RoundExpectation {
  swarmId: string;
  round: number;
  selfPeerId: string;
  /** the swarm's task mix: a sender's refs must be roundTaskRefs(swarmId, round, sender, mix, questions) */
  mix: readonly TaskMix[];
  /**
   * where peers draw from mixes of their own (peers.ts peerMix), the mix a given sender draws from,
   * re-derived from its id; absent = every sender draws from `mix`
   */
  mixFor?: (peerId: string) => readonly TaskMix[];
  /** B: groups per batch */
  questions: number;
  /** G: completions per group */
  completions: number;
}

export interface ExternalLimits {
  /** completions longer than this (characters) are malformed */
  maxCompletionChars: number;
  /** a group needs at least this many valid completions to have a meaningful advantage */
  minCompletions: number;
  /**
   * The swarm's max new tokens. With `tokenizer`, a completion whose text encodes to more tokens is refused,
   * and one of exactly this many was cut by the sampler: it trains without a stop token, so the model is
   * never taught to stop where it was cut.
   */
  maxNewTokens?: number;
  tokenizer?: Pick<TextTokenizer, 'encode' | 'eosId'>;
}

export const EXTERNAL_DEFAULTS: ExternalLimits = { maxCompletionChars: 1024, minCompletions: 2 };

export interface ExternalDrops {
  /** batches for another swarm or round, from this peer itself, a repeat of one peer, or over B groups */
  batches: number;
  /** groups with a bad task ref, over G completions, or too few usable completions */
  malformedGroups: number;
  /** groups whose task ref is not one the sender was assigned this round */
  offSeedGroups: number;
  /** groups whose task was already counted, from this or another peer */
  duplicates: number;
  /** completions that are not strings, too long, or over the max new tokens */
  malformedCompletions: number;
  /** groups whose re-scored rewards are all equal */
  zeroAdvantage: number;
  /** completions whose claimed reward differs from the local re-score */
  claimMismatches: number;
}

export function emptyDrops(): ExternalDrops {
  return { batches: 0, malformedGroups: 0, offSeedGroups: 0, duplicates: 0, malformedCompletions: 0, zeroAdvantage: 0, claimMismatches: 0 };
}

/** Why one sender's batch or group was refused: for the dashboard and the sender's score. */
export interface ExternalRefusal {
  peerId: string;
  reason: string;
}

/** at most this many refusals are reported per call (the counts in ExternalDrops stay exact) */
const MAX_REFUSALS = 64;

export function makeGroup(source: RolloutGroup['source'], peerId: string, ref: TaskRef, task: Task, completions: ScoredCompletion[]): RolloutGroup {
  return { source, peerId, ref, task, completions, advantages: groupAdvantages(completions.map((c) => c.reward)) };
}

/** Turn what peers published for this round into re-derived, re-scored groups that carry signal. */
export function collectExternalGroups(
  batches: readonly RolloutBatch[],
  expect: RoundExpectation,
  limits: ExternalLimits = EXTERNAL_DEFAULTS,
): { groups: RolloutGroup[]; drops: ExternalDrops; refusals: ExternalRefusal[] } {
  const drops = emptyDrops();
  const groups: RolloutGroup[] = [];
  const refusals: ExternalRefusal[] = [];
  const refuse = (peerId: string, reason: string) => {
    if (refusals.length < MAX_REFUSALS) refusals.push({ peerId, reason });
  };
  const seenPeers = new Set<string>();
  const seenRefs = new Set<string>();
  for (const batch of batches) {
    if (
      typeof batch !== 'object' || batch === null || batch.swarmId !== expect.swarmId || batch.round !== expect.round ||
      typeof batch.peerId !== 'string' || batch.peerId === expect.selfPeerId || seenPeers.has(batch.peerId) ||
      !Array.isArray(batch.rollouts)
    ) {
      drops.batches++;
      continue;
    }
    seenPeers.add(batch.peerId);
    if (batch.rollouts.length > expect.questions) {
      // the whole batch: which B of its groups would be the honest ones is not ours to guess
      drops.batches++;
      refuse(batch.peerId, `batch of ${batch.rollouts.length} groups; the swarm's B is ${expect.questions}`);
      continue;
    }
    // a sender picks its curriculum level per family (within the mix's range), never its questions
    const mix = expect.mixFor?.(batch.peerId) ?? expect.mix;
    const assigned = assignedTaskKeys(expect.swarmId, expect.round, batch.peerId, mix, expect.questions, batch.rollouts.map((r) => r?.task));
    for (const rollout of batch.rollouts) {
      const ref = rollout?.task;
      if (checkTaskRef(ref) !== null || !Array.isArray(rollout.completions)) {
        drops.malformedGroups++;
        continue;
      }
      const key = taskRefKey(ref);
      if (!assigned.has(key)) {
        drops.offSeedGroups++;
        refuse(batch.peerId, `task ${key} is not one of the sender's tasks for round ${expect.round}`);
        continue;
      }
      // a task is counted once, whoever sends it again (identical samples inside one honest group are normal
      // and stay: they are that group's reward distribution)
      if (seenRefs.has(key)) {
        drops.duplicates++;
        continue;
      }
      if (rollout.completions.length > expect.completions) {
        drops.malformedGroups++;
        refuse(batch.peerId, `group of ${rollout.completions.length} completions; the swarm's G is ${expect.completions}`);
        continue;
      }
      seenRefs.add(key);
      let task: Task;
      try {
        task = generateTask(ref);
      } catch {
        // a generator bug on some seed must cost one group, not the round
        drops.malformedGroups++;
        continue;
      }
      const completions: ScoredCompletion[] = [];
      for (const c of rollout.completions) {
        if (typeof c?.text !== 'string' || c.text.length > limits.maxCompletionChars) {
          drops.malformedCompletions++;
          continue;
        }
        const tokens = encodeCapped(c.text, limits);
        if (tokens === null) {
          drops.malformedCompletions++;
          continue;
        }
        const score = scoreCompletion(task, c.text);
        if (typeof c.reward !== 'number' || Math.abs(c.reward - score.reward) > 1e-6) drops.claimMismatches++;
        completions.push({ ...score, text: c.text, ...(tokens ? { tokens } : {}) });
      }
      if (completions.length < limits.minCompletions) {
        drops.malformedGroups++;
        continue;
      }
      if (!hasAdvantage(completions.map((c) => c.reward))) {
        drops.zeroAdvantage++;
        continue;
      }
      const group = makeGroup('external', batch.peerId, { family: ref.family, seed: ref.seed, difficulty: ref.difficulty }, task, completions);
      if (batch.bound === true) group.bound = true;
      groups.push(group);
    }
  }
  return { groups, drops, refusals };
}

/**
 * The tokens an external completion trains on, or null when it is over the swarm's max new tokens; undefined
 * when no tokenizer was given (the trainer re-encodes it later).
 */
function encodeCapped(text: string, limits: ExternalLimits): number[] | null | undefined {
  if (!limits.tokenizer) return undefined;
  const ids = limits.tokenizer.encode(text);
  const cap = limits.maxNewTokens ?? Infinity;
  if (ids.length > cap) return null;
  // exactly at the cap: the sampler stopped it, it did not stop itself
  return ids.length === cap ? ids : [...ids, limits.tokenizer.eosId];
}

/**
 * The training batch: up to I local groups (uniformly among those with signal) and up to J external groups,
 * filled peer by peer: each pass visits the peers that still have groups in a random order and takes one
 * group from each, so no peer gets a second slot before every other peer had its first. Bound peers' groups
 * (when marked) fill J before anyone else's. `preference` (non-negative) weighs the choice among ONE peer's
 * groups only; a group weighing 0 is never chosen. When fewer qualify, fewer are used (no padding).
 *
 * `fillUnusedLocal`: the local slots left empty because this peer's own groups had no signal (all right or
 * all wrong: zero advantage, no gradient) go to external groups too, so the step trains on up to I + J groups
 * that all carry signal, the same budget as an isolated I + J tab that can only fill it from its own
 * samples. This is SAPO's mechanism made explicit; the extra slots are filled by the same peer-by-peer draw.
 */
export function selectTrainingGroups(
  rng: Rng,
  local: readonly RolloutGroup[],
  external: readonly RolloutGroup[],
  I: number,
  J: number,
  preference?: (g: RolloutGroup) => number,
  options: { fillUnusedLocal?: boolean } = {},
): RolloutGroup[] {
  const usefulLocal = local.filter((g) => hasAdvantage(g.completions.map((c) => c.reward)));
  const chosen = rng.sample(usefulLocal, I);
  if (options.fillUnusedLocal && J > 0) J += Math.max(0, Math.floor(I) - chosen.length);
  const weight = (g: RolloutGroup) => {
    if (!preference) return 1;
    const w = preference(g);
    return Number.isFinite(w) && w > 0 ? w : 0;
  };
  let slots = Math.max(0, Math.floor(J));
  for (const tier of [external.filter((g) => g.bound === true), external.filter((g) => g.bound !== true)]) {
    const byPeer = new Map<string, { group: RolloutGroup; w: number }[]>();
    for (const group of tier) {
      const w = weight(group);
      if (w <= 0) continue;
      let list = byPeer.get(group.peerId);
      if (!list) byPeer.set(group.peerId, (list = []));
      list.push({ group, w });
    }
    while (slots > 0 && byPeer.size > 0) {
      for (const peer of rng.shuffle([...byPeer.keys()])) {
        if (slots === 0) break;
        const list = byPeer.get(peer)!;
        chosen.push(list.splice(weightedIndex(rng, list), 1)[0].group);
        slots--;
        if (list.length === 0) byPeer.delete(peer);
      }
    }
  }
  return chosen;
}

function weightedIndex(rng: Rng, items: readonly { w: number }[]): number {
  const total = items.reduce((s, it) => s + it.w, 0);
  let x = rng.next() * total;
  for (let i = 0; i < items.length; i++) if ((x -= items[i].w) < 0) return i;
  return items.length - 1;
}
