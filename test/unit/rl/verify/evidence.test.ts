// Evidence records: signed by the challenger over canonical bytes (here with a real HMAC-SHA-256 key from
// WebCrypto standing in for the identity layer's signer), and any edit breaks the signature.
import { describe, expect, it } from 'vitest';
import { answerChallenge, canonicalJson, checkEvidenceSignature, makeChallenge, makeEvidence, spotCheck, toHex, fromHex, weightsHash } from '../../../../src/rl/verify/index.ts';
import { commit, honest, prompts, scorer, weights } from './scenario.ts';

async function hmacSigner() {
  const key = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  return {
    sign: async (b: Uint8Array) => toHex(new Uint8Array(await crypto.subtle.sign('HMAC', key, b as Uint8Array<ArrayBuffer>))),
    verify: (b: Uint8Array, sig: string) => crypto.subtle.verify('HMAC', key, fromHex(sig) as Uint8Array<ArrayBuffer>, b as Uint8Array<ArrayBuffer>),
  };
}

describe('evidence', () => {
  it('canonical JSON sorts keys at every level and refuses non-finite numbers', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
    expect(() => canonicalJson({ a: NaN })).toThrow(TypeError);
  });

  it('an unanswered challenge becomes signed failure evidence; edits break the signature', async () => {
    const { sign, verify } = await hmacSigner();
    const batch = await commit(await honest());
    const challenge = makeChallenge(batch.commitment, 2, Math.random, 'n1');
    const verdict = await spotCheck({ commitment: batch.commitment, challenge, response: null, promptOf: (r) => prompts[r], scorer, scorerWeightsHash: await weightsHash(weights) });
    const e = await makeEvidence({ commitment: batch.commitment, challenge, response: null, verdict, challenger: 'verifier-1', at: 1_700_000_000_000 }, sign);
    expect(e.verdict.ok).toBe(false);
    expect(await checkEvidenceSignature(e, verify)).toBe(true);
    expect(await checkEvidenceSignature({ ...e, verdict: { ...e.verdict, ok: true } }, verify)).toBe(false);
    expect(await checkEvidenceSignature({ ...e, challenge: { ...e.challenge, rows: [0] } }, verify)).toBe(false);
    // a response attached after the fact is not what was signed
    expect(await checkEvidenceSignature({ ...e, response: answerChallenge(batch, challenge) }, verify)).toBe(false);
  });
});
