// k-of-n reward attestations: a registered peer's wallet signs the EIP-712 `RewardAttestation {round, stage,
// peerId, reward}` for a peer whose rollouts it re-scored itself; the contract's `submitAttestedRewards` records a
// reward once `attestationQuorum` distinct registered accounts (never the peer's own) signed the same values. With
// it, nobody (the coordinator service included) needs to be trusted to re-score: anyone may send the signatures.
import { recoverTypedDataAddress, type Address, type Hex, type LocalAccount } from 'viem';

export interface RewardAttestation {
  round: bigint;
  stage: bigint;
  peerId: string;
  /** units (thousandths), as re-scored by the signer */
  reward: bigint;
}

export interface AttestationDomain {
  chainId: number;
  verifyingContract: Address;
}

export const REWARD_ATTESTATION_TYPES = {
  RewardAttestation: [
    { name: 'round', type: 'uint256' },
    { name: 'stage', type: 'uint256' },
    { name: 'peerId', type: 'string' },
    { name: 'reward', type: 'uint256' },
  ],
} as const;

function typedData(a: RewardAttestation, domain: AttestationDomain) {
  return {
    domain: { name: 'tabswarm SwarmCoordinator', version: '1', chainId: domain.chainId, verifyingContract: domain.verifyingContract },
    types: REWARD_ATTESTATION_TYPES,
    primaryType: 'RewardAttestation' as const,
    message: a,
  };
}

/** Signs with a local account (a burner, or the service's key): no wallet prompt per round. */
export function signRewardAttestation(account: LocalAccount, a: RewardAttestation, domain: AttestationDomain): Promise<Hex> {
  return account.signTypedData(typedData(a, domain));
}

export function recoverAttester(a: RewardAttestation, domain: AttestationDomain, signature: Hex): Promise<Address> {
  return recoverTypedDataAddress({ ...typedData(a, domain), signature });
}

/**
 * The contract's `AttestedReward` entry: signatures sorted by signer address, one per signer (the contract counts
 * only a strictly increasing sequence), at most `max`.
 */
export async function attestedEntry(a: RewardAttestation, domain: AttestationDomain, signatures: readonly Hex[], max = 16): Promise<{ peerId: string; reward: bigint; signatures: Hex[] }> {
  const bySigner = new Map<string, Hex>();
  for (const signature of signatures) {
    const signer = await recoverAttester(a, domain, signature).catch(() => null);
    if (signer) bySigner.set(BigInt(signer).toString(16).padStart(40, '0'), signature);
  }
  const sorted = [...bySigner].sort(([x], [y]) => (x < y ? -1 : 1)).slice(0, max);
  return { peerId: a.peerId, reward: a.reward, signatures: sorted.map(([, s]) => s) };
}
