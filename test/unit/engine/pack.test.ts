// Packed training rows (engine/pack.ts): sequences sharing a prompt become one row; the CPU engine's
// forward gives the same logprobs bit for bit, and its gradients agree with the unpacked ones to f32 rounding.
import { describe, expect, it } from 'vitest';
import type { TrainSequence } from '../../../src/engine/api.ts';
import { createCpuEngine } from '../../../src/engine/cpu/index.ts';
import { tinyConfig } from '../../../src/engine/config.ts';
import { initWeights } from '../../../src/engine/init.ts';
import { packByPrompt, packingSaves, SEGMENT_FIRST_BRANCH, SEGMENT_SHARED } from '../../../src/engine/pack.ts';

const config = tinyConfig({ vocab_size: 40, hidden_size: 24, intermediate_size: 40, num_attention_heads: 6, num_key_value_heads: 2 });
const weights = initWeights(config, 11, 0.3);

// two prompts, three and two completions of unequal length (one empty), and a prompt of one token
const batch: TrainSequence[] = [
  { tokens: [1, 5, 9, 4, 12, 3], completionStart: 4 },
  { tokens: [1, 7, 2, 30], completionStart: 3 },
  { tokens: [1, 5, 9, 4, 7], completionStart: 4 },
  { tokens: [1, 5, 9, 4, 20, 21, 22, 23], completionStart: 4 },
  { tokens: [1, 7, 2], completionStart: 3 },
  { tokens: [1, 33], completionStart: 1 },
];

describe('packByPrompt', () => {
  it('keeps each prompt but its last token once, then per sequence that token and the completion', () => {
    const p = packByPrompt(batch);
    expect(p.rows).toHaveLength(3);
    const S = SEGMENT_SHARED, B0 = SEGMENT_FIRST_BRANCH;
    expect(p.rows[0]).toEqual({
      tokens: [1, 5, 9, 4, 12, 3, 4, 7, 4, 20, 21, 22, 23],
      positions: [0, 1, 2, 3, 4, 5, 3, 4, 3, 4, 5, 6, 7],
      segments: [S, S, S, B0, B0, B0, B0 + 1, B0 + 1, B0 + 2, B0 + 2, B0 + 2, B0 + 2, B0 + 2],
    });
    expect(p.rows[1].tokens).toEqual([1, 7, 2, 30, 2]);
    expect(p.rows[2]).toEqual({ tokens: [1, 33], positions: [0, 1], segments: [B0, B0] });
    expect(p.runs).toEqual([
      { row: 0, start: 3, count: 2 }, { row: 1, start: 2, count: 1 }, { row: 0, start: 6, count: 1 },
      { row: 0, start: 8, count: 4 }, { row: 1, start: 4, count: 0 }, { row: 2, start: 0, count: 1 },
    ]);
    expect(packingSaves(batch, p)).toBe(true);
    // a row stops growing at maxRowLength: the third sequence of prompt 0 opens a second row for it
    const capped = packByPrompt(batch, 10);
    expect(capped.rows.map((r) => r.tokens.length)).toEqual([8, 5, 8, 2]);
    expect(capped.runs[3]).toEqual({ row: 2, start: 3, count: 4 });
    expect(packingSaves(batch.slice(0, 2), packByPrompt(batch.slice(0, 2)))).toBe(false);
  });
});

describe('CPU engine with packed prompts', () => {
  it('gives the unpacked logprobs bit for bit and the same gradients to f32 rounding', async () => {
    const packed = createCpuEngine(config, weights);
    const plain = createCpuEngine(config, weights, { packPrompts: false });
    const lpPacked = await packed.forwardLogprobs(batch);
    const lpPlain = await plain.forwardLogprobs(batch);
    expect(lpPacked).toEqual(lpPlain);
    expect(lpPlain.map((r) => r.length)).toEqual([2, 1, 1, 4, 0, 1]);
    const d = lpPlain.map((r, b) => r.map((_, i) => ((b + i) % 3) - 1 + 0.25));
    await packed.backwardLogprobs(d);
    await plain.backwardLogprobs(d);
    const gPacked = await packed.readGrads(), gPlain = await plain.readGrads();
    let maxAbs = 0, maxDiff = 0;
    for (let i = 0; i < gPlain.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(gPlain[i]));
      maxDiff = Math.max(maxDiff, Math.abs(gPacked[i] - gPlain[i]));
    }
    expect(maxAbs).toBeGreaterThan(0.01);
    expect(maxDiff).toBeLessThan(1e-5 * maxAbs);
    // a second forward of another shape reuses or reallocates buffers; still equal
    const again = batch.slice(1, 5);
    expect(await packed.forwardLogprobs(again)).toEqual(await plain.forwardLogprobs(again));
  });
});
