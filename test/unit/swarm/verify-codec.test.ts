// The challenge reply's compact reveals: a round trip gives back the exact leaves (and the check passes on
// them), wide vocabularies take u32 ids, every malformed field is a named error, and a whole-batch reply
// costs base64 of 4 bytes per token plus a few per row (JSON arrays took about 11 per token).
import { describe, expect, it } from 'vitest';
import { answerChallenge, makeChallenge } from '../../../src/rl/verify/index.ts';
import { decodeResponse, encodeResponse, RevealCodecError } from '../../../src/swarm/verify-codec.ts';
import { checkAll, commit, honest } from '../rl/verify/scenario.ts';

describe('reveal codec', () => {
  it('round-trips a whole-batch and a single-row answer; the check passes on the decoded one', async () => {
    const batch = await commit(await honest());
    for (const rows of [batch.commitment.completions, 3]) {
      const challenge = makeChallenge(batch.commitment, rows, Math.random, 'n');
      const response = answerChallenge(batch, challenge);
      const wire = JSON.parse(JSON.stringify(encodeResponse(response)));
      expect(decodeResponse(wire, rows)).toEqual(response);
    }
    const v = await checkAll(batch, (r) => decodeResponse(JSON.parse(JSON.stringify(encodeResponse(r))), r.reveals.length));
    expect(v.ok).toBe(true);
    expect(v.checkedTokens).toBeGreaterThan(50);
  });

  it('takes u32 token ids when the vocabulary needs them', () => {
    const r = { v: 1 as const, root: 'ab'.repeat(32), nonce: 'n', reveals: [{ leaf: { row: 0, tokens: [70000, 3, 65535], q: [0, 65535, 17] }, proof: [] }] };
    const w = encodeResponse(r);
    expect(w.width).toBe(4);
    expect(decodeResponse(JSON.parse(JSON.stringify(w)), 1)).toEqual(r);
  });

  it('refuses malformed replies with a named error', () => {
    const good = encodeResponse({ v: 1, root: 'ab'.repeat(32), nonce: 'n', reveals: [{ leaf: { row: 2, tokens: [5, 6], q: [1, 2] }, proof: [] }] });
    const bad: [string, unknown][] = [
      ['null', null], ['version', { ...good, v: 2 }], ['width', { ...good, width: 3 }], ['too many', { ...good, rows: [1, 2], lengths: [1, 1] }],
      ['not base64', { ...good, t: 'a*b=' }], ['unpaired', { ...good, q: btoa('\x01\x00') }], ['lengths', { ...good, lengths: [3] }],
      ['row', { ...good, rows: [1.5] }], ['proof', { ...good, proofs: [[7]] }], ['proof count', { ...good, proofs: [] }],
    ];
    for (const [name, value] of bad) expect(() => decodeResponse(value, 1), name).toThrow(RevealCodecError);
  });

  it('a whole-batch reply costs 4 bytes per token in base64 plus a few per row', async () => {
    const batch = await commit(await honest());
    const challenge = makeChallenge(batch.commitment, batch.commitment.completions, Math.random, 'n');
    const response = answerChallenge(batch, challenge);
    const tokens = response.reveals.reduce((n, r) => n + r.leaf.tokens.length, 0);
    const compact = JSON.stringify({ ok: true, response: encodeResponse(response) }).length;
    const arrays = JSON.stringify({ ok: true, response }).length;
    // 4 bytes a token in base64, a row's number and length, and a fixed ~200 (root, nonce, keys)
    expect(compact).toBeLessThan(Math.ceil((tokens * 4 * 4) / 3) + 8 * response.reveals.length + 200);
    expect(compact).toBeLessThan(arrays / 1.5);
  });
});
