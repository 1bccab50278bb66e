// Evidence of a spot check for the coordinator: the commitment, the challenge, the response (null when
// unanswered) and the verdict, signed by the challenger over a canonical encoding. The signer is injected
// (the identity layer's wallet or peer key), so this stays pure and network-free; the rollouts message
// itself is signed by the sender's libp2p key, which ties the commitment to it.

import type { Challenge, ChallengeResponse, Verdict } from './check.ts';
import type { SamplingCommitment } from './commit.ts';

export interface UnsignedEvidence {
  v: 1;
  commitment: SamplingCommitment;
  challenge: Challenge;
  response: ChallengeResponse | null;
  verdict: { ok: boolean; reasons: string[]; checkedTokens: number };
  /** who checked (peer id or account, as the signer knows itself) */
  challenger: string;
  /** ms since epoch, from the challenger's clock */
  at: number;
}

export interface Evidence extends UnsignedEvidence {
  signature: string;
}

export type EvidenceSigner = (bytes: Uint8Array) => Promise<string>;
export type EvidenceVerifier = (bytes: Uint8Array, signature: string, challenger: string) => Promise<boolean>;

/** JSON with keys sorted at every level: the same object gives the same bytes on every peer. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

const DOMAIN = 'tabswarm/verify/evidence/v1\n';

export function evidenceBytes(e: UnsignedEvidence): Uint8Array {
  const { v, commitment, challenge, response, verdict, challenger, at } = e;
  return new TextEncoder().encode(DOMAIN + canonicalJson({ v, commitment, challenge, response, verdict, challenger, at }));
}

export async function makeEvidence(
  parts: Omit<UnsignedEvidence, 'v' | 'verdict'> & { verdict: Verdict }, sign: EvidenceSigner,
): Promise<Evidence> {
  const unsigned: UnsignedEvidence = {
    v: 1, commitment: parts.commitment, challenge: parts.challenge, response: parts.response,
    verdict: { ok: parts.verdict.ok, reasons: parts.verdict.reasons, checkedTokens: parts.verdict.checkedTokens },
    challenger: parts.challenger, at: parts.at,
  };
  return { ...unsigned, signature: await sign(evidenceBytes(unsigned)) };
}

/** true when the signature covers exactly this record (any edited field breaks it) */
export function checkEvidenceSignature(e: Evidence, verify: EvidenceVerifier): Promise<boolean> {
  return verify(evidenceBytes(e), e.signature, e.challenger);
}
