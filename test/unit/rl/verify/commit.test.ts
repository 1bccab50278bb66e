// Commitments: the weights hash, quantised logprobs, and Merkle proofs for every leaf of every tree shape.
import { describe, expect, it } from 'vitest';
import {
  LOGPROB_QMAX, LOGPROB_QUANTUM, commitSampling, dequantiseLogprob, fromHex, leafHash, merkleLevels, merkleProof, quantiseLogprob,
  revealCompletion, leafBytes, sha256, toHex, verifyMerkleProof, weightsHash, CommitmentError, HexError, commitmentWireBytes, revealWireBytes,
} from '../../../../src/rl/verify/index.ts';

const leaf = (i: number) => sha256(new Uint8Array([i, i * 7, 3]));

describe('weights hash', () => {
  it('is stable, and one flipped bit or one extra value changes it', async () => {
    const w = new Float32Array(1000).map((_, i) => Math.sin(i));
    const h = await weightsHash(w);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(await weightsHash(w.slice())).toBe(h);
    const flipped = w.slice();
    new Uint32Array(flipped.buffer)[517] ^= 1; // lowest mantissa bit
    expect(await weightsHash(flipped)).not.toBe(h);
    const longer = new Float32Array(1001);
    longer.set(w);
    expect(await weightsHash(longer)).not.toBe(h);
  });
});

describe('quantised logprobs', () => {
  it('round-trip within half a quantum, clamp far tails, and never go positive', () => {
    for (const lp of [0, -1e-9, -0.3, -1.23456, -7.5, -40]) {
      expect(Math.abs(dequantiseLogprob(quantiseLogprob(lp)) - lp)).toBeLessThanOrEqual(LOGPROB_QUANTUM / 2 + 1e-12);
    }
    expect(quantiseLogprob(-1000)).toBe(LOGPROB_QMAX);
    expect(quantiseLogprob(-Infinity)).toBe(LOGPROB_QMAX);
    expect(quantiseLogprob(1e-7)).toBe(0);
  });
});

describe('Merkle proofs', () => {
  it('verify for every leaf of trees of 1..13 leaves and fail for the wrong leaf, index or sibling', async () => {
    for (let n = 1; n <= 13; n++) {
      const leaves = await Promise.all(Array.from({ length: n }, (_, i) => leaf(i)));
      const levels = await merkleLevels(leaves);
      const root = levels[levels.length - 1][0];
      for (let i = 0; i < n; i++) {
        const proof = merkleProof(levels, i);
        expect(await verifyMerkleProof(root, leaves[i], i, n, proof)).toBe(true);
        expect(await verifyMerkleProof(root, await leaf(100 + i), i, n, proof)).toBe(false);
        if (n > 1) expect(await verifyMerkleProof(root, leaves[i], (i + 1) % n, n, proof)).toBe(false);
        // an index outside the committed count never verifies (the count travels in the commitment)
        expect(await verifyMerkleProof(root, leaves[i], i, i, proof)).toBe(false);
        if (proof.length > 0) {
          const bad = proof.map((p) => p.slice());
          bad[0][5] ^= 0x40;
          expect(await verifyMerkleProof(root, leaves[i], i, n, bad)).toBe(false);
          expect(await verifyMerkleProof(root, leaves[i], i, n, [...proof, proof[0]])).toBe(false);
        }
      }
    }
  });

  it('a leaf hash never equals an inner node hash of the same bytes (domain separation)', async () => {
    const a = await leaf(1), b = await leaf(2);
    const levels = await merkleLevels([a, b]);
    const joined = new Uint8Array(64);
    joined.set(a, 0);
    joined.set(b, 32);
    expect(toHex(await leafHash(joined))).not.toBe(toHex(levels[1][0]));
  });
});

describe('commitSampling', () => {
  const base = {
    swarmId: 's', round: 3, peerId: 'p', weightsHash: 'ab'.repeat(32),
    settings: { temperature: 1, maxNewTokens: 4, stopTokens: [2] },
    tokens: [[5, 6, 2], [7, 8, 9, 10], [3]], logprobs: [[-0.1, -2, -0.5], [-1, -1, -1, -1], [-3]],
  };

  it('reveals each row with a proof against the root, and binds row, tokens and logprobs', async () => {
    const batch = await commitSampling(base);
    expect(batch.commitment.completions).toBe(3);
    const root = fromHex(batch.commitment.root, 32);
    for (let row = 0; row < 3; row++) {
      const r = revealCompletion(batch, row);
      expect(r.leaf.tokens).toEqual(base.tokens[row]);
      expect(await verifyMerkleProof(root, await leafHash(leafBytes(r.leaf)), row, 3, r.proof.map((h) => fromHex(h, 32)))).toBe(true);
    }
    const other = await commitSampling({ ...base, logprobs: [[-0.1, -2, -0.6], ...base.logprobs.slice(1)] });
    expect(other.commitment.root).not.toBe(batch.commitment.root);
    const swapped = await commitSampling({ ...base, tokens: [base.tokens[1], base.tokens[0], base.tokens[2]], logprobs: [base.logprobs[1], base.logprobs[0], base.logprobs[2]] });
    expect(swapped.commitment.root).not.toBe(batch.commitment.root);
    expect(() => revealCompletion(batch, 3)).toThrow(CommitmentError);
  });

  it('refuses bad input with named errors', async () => {
    await expect(commitSampling({ ...base, tokens: [] , logprobs: [] })).rejects.toThrow(CommitmentError);
    await expect(commitSampling({ ...base, logprobs: [[-1]] })).rejects.toThrow(CommitmentError);
    await expect(commitSampling({ ...base, logprobs: [[-1], [-1, -1, -1, -1], [-3]] })).rejects.toThrow(CommitmentError);
    await expect(commitSampling({ ...base, tokens: [[1.5, 2, 3], ...base.tokens.slice(1)] })).rejects.toThrow(CommitmentError);
    await expect(commitSampling({ ...base, weightsHash: 'xyz' })).rejects.toThrow(HexError);
  });

  it('costs a fixed ~100 bytes per batch, and 4 bytes per revealed token plus the proof', async () => {
    const batch = await commitSampling(base);
    expect(commitmentWireBytes(batch.commitment)).toBeLessThan(110);
    const r = revealCompletion(batch, 1);
    expect(revealWireBytes(r)).toBe(6 + 4 * 4 + 32 * r.proof.length);
  });
});
