// k-of-n attestations from a tab: after its own round, a tab with a local key (the burner: no wallet prompt per
// round) signs a RewardAttestation for every peer whose complete batch it re-scored itself, for the (round, stage)
// that swarm round maps to, and posts them to the coordinator service, which only relays them: the contract counts
// a reward once `attestationQuorum` distinct registered accounts signed the same values. The reward is the same
// function of the same batch as the coordinator's (src/worker/reward-rescore.ts), so honest attesters agree.
import type { Hex } from 'viem';
import type { RolloutBatch } from '../../rl/transport.ts';
import type { RoundShape } from '../../worker/rescore.ts';
import { rescoreBatch, slotReward } from '../../worker/reward-rescore.ts';
import { chainSlotOf, type RoundMapping } from '../../identity/round-mapping.ts';
import type { RewardAttestation } from '../../identity/attestation.ts';

export interface AttestationWire {
  round: string;
  stage: string;
  peerId: string;
  reward: string;
  signature: Hex;
}

export interface AttesterDeps {
  shape: RoundShape;
  selfPeerId: string;
  /** signs with the tab's local key; null when the tab has none (a browser wallet would prompt every round) */
  sign: ((a: RewardAttestation) => Promise<Hex>) | null;
  post(wire: AttestationWire): Promise<unknown>;
}

/** Peers attested per round: at most what an honest swarm's J could draw from, and the service's per-signer budget. */
export const MAX_ATTESTATIONS_PER_ROUND = 64;

/**
 * Attests one swarm round's batches once; resolves to how many attestations were posted. Without a mapping (the
 * service does not follow the swarm) or with several swarm rounds per stage (a stage's reward needs all of its
 * rounds), it attests nothing. A failed post costs only that attestation.
 */
export async function attestRound(round: number, batches: readonly RolloutBatch[], mapping: RoundMapping | null, deps: AttesterDeps): Promise<number> {
  if (!deps.sign || !mapping || mapping.roundsPerStage !== 1) return 0;
  const slot = chainSlotOf(round, mapping);
  if (!slot) return 0;
  let posted = 0;
  const seen = new Set<string>();
  for (const batch of batches) {
    if (posted >= MAX_ATTESTATIONS_PER_ROUND) break;
    if (batch?.round !== round || batch.peerId === deps.selfPeerId || seen.has(batch.peerId)) continue;
    seen.add(batch.peerId);
    const verdict = rescoreBatch(batch, deps.shape);
    const reward = verdict.ok ? slotReward([verdict]) : null;
    if (reward === null) continue; // a batch that does not re-score earns no attestation
    const attestation: RewardAttestation = { round: slot.round, stage: slot.stage, peerId: batch.peerId, reward };
    try {
      const signature = await deps.sign(attestation);
      await deps.post({ round: String(slot.round), stage: String(slot.stage), peerId: batch.peerId, reward: String(reward), signature });
      posted++;
    } catch {
      // the service refused or is unreachable: the others still go
    }
  }
  return posted;
}
