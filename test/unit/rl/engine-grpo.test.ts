// The GRPO objective through the real CPU engine: the gradient the engine accumulates from our dLogprobs
// must equal a finite difference of the GRPO loss computed from the engine's own logprobs.
import { describe, expect, it } from 'vitest';
import { createCpuEngine, initWeights, tinyConfig } from '../../../src/engine/index.ts';
import type { TrainSequence } from '../../../src/engine/api.ts';
import { grpoLoss } from '../../../src/rl/grpo.ts';

const config = tinyConfig();
const batch: TrainSequence[] = [
  { tokens: [1, 5, 9, 3, 7, 2], completionStart: 3 },
  { tokens: [1, 6, 4, 11, 2], completionStart: 2 },
  { tokens: [1, 8, 8, 12, 13, 14, 2], completionStart: 4 },
];
const advantages = [1.3, -0.7, -0.6];
// old-policy offsets: inside the clip range, on the pessimistic side, and clipped (no gradient)
const oldOffsets = [[0.05, -0.1, 0.02], [0.4, -0.3, 0.1], [-0.6, 0.05, 0.01]];
const totalTokens = batch.reduce((s, b) => s + b.tokens.length - b.completionStart, 0);

async function lossAt(weights: Float32Array, old: number[][]): Promise<number> {
  const engine = createCpuEngine(config, weights);
  const lp = await engine.forwardLogprobs(batch);
  engine.dispose();
  return grpoLoss(lp.map((l, i) => ({ logprobs: l, oldLogprobs: old[i], advantage: advantages[i] })), totalTokens).loss;
}

describe('GRPO through the CPU engine', () => {
  it('engine gradient of the GRPO loss matches finite differences', async () => {
    const weights = initWeights(config, 3, 0.2);
    const engine = createCpuEngine(config, weights);
    const lp = await engine.forwardLogprobs(batch);
    const old = lp.map((row, i) => row.map((x, t) => x - oldOffsets[i][t]));
    const result = grpoLoss(lp.map((l, i) => ({ logprobs: l, oldLogprobs: old[i], advantage: advantages[i] })), totalTokens);
    expect(result.clippedTokens).toBeGreaterThan(0);
    expect(result.clippedTokens).toBeLessThan(result.tokens);
    engine.zeroGrads();
    await engine.backwardLogprobs(result.dLogprobs);
    const grads = await engine.readGrads();
    engine.dispose();

    // the largest-gradient entries, plus a few fixed ones, checked by central differences in f64 terms
    const order = [...grads.keys()].sort((x, y) => Math.abs(grads[y]) - Math.abs(grads[x]));
    const indices = [...order.slice(0, 6), 0, 100, grads.length - 1];
    const h = 1e-2;
    for (const idx of indices) {
      const plus = weights.slice();
      const minus = weights.slice();
      plus[idx] += h;
      minus[idx] -= h;
      const fd = ((await lossAt(plus, old)) - (await lossAt(minus, old))) / (2 * h);
      expect(Math.abs(grads[idx] - fd), `param ${idx}: engine ${grads[idx]} vs fd ${fd}`).toBeLessThan(2e-3 + 0.05 * Math.abs(fd));
    }
    expect(Math.abs(grads[order[0]])).toBeGreaterThan(1e-3);
  });
});
