// Rewards the chain can trust: what the coordinator service re-scores itself from gossiped rollouts. Pure code:
// no network, no chain (relay/coordinator/verified.ts runs it against both). The swarm-round <-> chain
// (round, stage) mapping lives in src/identity/round-mapping.ts and the per-batch re-score in
// src/worker/reward-rescore.ts: tabs use both too (reports, attestations).
// A peer's reward for a chain slot is the mean re-scored reward of every completion it published in the slot's
// swarm rounds, in thousandths (REWARD_SCALE): with one swarm round per stage, the `meanReward` its tab reports.

export { chainSlotOf, checkMapping, mappingAt, RoundMappingError, slotParts, swarmRoundsOf, type ChainSlot, type RoundMapping } from '../../src/identity/round-mapping.ts';
export { rescoreBatch, slotReward, type RescoredRound, type RescoreVerdict } from '../../src/worker/reward-rescore.ts';

/** At most this many winners per round (the contract's MAX_WINNERS). */
export const MAX_ROUND_WINNERS = 32;

/**
 * A chain round's winners from the same verified scores: the peers with the highest positive total, all of them
 * when tied (by peer id, at most MAX_ROUND_WINNERS). Nobody wins a round where nobody scored.
 */
export function roundWinners(totals: ReadonlyMap<string, bigint>): string[] {
  let best = 0n;
  for (const v of totals.values()) if (v > best) best = v;
  if (best === 0n) return [];
  return [...totals].filter(([, v]) => v === best).map(([peer]) => peer).sort().slice(0, MAX_ROUND_WINNERS);
}
