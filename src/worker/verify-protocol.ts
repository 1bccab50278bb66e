// The verify request of the worker protocol (types only, and its envelope check): kept apart from
// verify.ts so the page's bundle does not pull in the engine.
import type { RolloutBatch } from '../rl/transport.ts';
import type { Challenge, ChallengeResponse, Verdict } from '../rl/verify/check.ts';

export type VerifyRequest =
  | { op: 'answer'; challenge: Challenge }
  | { op: 'weights'; hash: string }
  | { op: 'check'; batch: RolloutBatch; challenge: Challenge; response: ChallengeResponse | null; weights: ArrayBuffer }
  /** leave `peerId`'s rollouts out of J: for `round` only (a failed batch), or from now on (null) */
  | { op: 'exclude'; peerId: string; round: number | null };

export interface ServedVersion {
  /** model.safetensors */
  bytes: ArrayBuffer;
  /** weightsHash of the parameters (what commitments name) */
  params: string;
}

export type VerifyReply =
  | { op: 'answer'; response: ChallengeResponse }
  | { op: 'weights'; version: ServedVersion | null }
  | { op: 'check'; verdict: Verdict }
  | { op: 'exclude' };

const VERIFY_OPS = new Set(['answer', 'weights', 'check', 'exclude']);

export function isVerifyRequest(value: unknown): value is VerifyRequest {
  const v = value as { op?: unknown } | null;
  return !!v && typeof v.op === 'string' && VERIFY_OPS.has(v.op);
}
