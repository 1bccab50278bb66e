// The periodic average's guard: the probe is training-side content (never held out), deterministic, one
// correct answer per (family, level, k); its NLL is the mean over answer tokens across micro-batches; and the
// check refuses a mean whose probe NLL is above both the weights held and the start by more than the slack
// (or is not finite), passing anything below that line.
import { describe, expect, it } from 'vitest';
import type { TrainSequence } from '../../../src/engine/api.ts';
import { DEFAULT_TASK_MIX } from '../../../src/rl/defaults.ts';
import { completionText } from '../../../src/rl/format.ts';
import { heldOutTasks, isReservedPrompt, mixLevels } from '../../../src/rl/heldout.ts';
import { AverageRefusedError, checkAverage, PROBE_NLL_SLACK, PROBE_PER_LEVEL, probeNll, probeSequences } from '../../../src/worker/average-guard.ts';
import { charTokenizer } from '../rl/fakes.ts';

describe('the average guard', () => {
  it('probes correct answers to training-side prompts of every level, never a held-out one, the same every time', () => {
    const probe = probeSequences(charTokenizer, DEFAULT_TASK_MIX);
    const levels = DEFAULT_TASK_MIX.reduce((n, m) => n + mixLevels(m).length, 0);
    expect(probe).toHaveLength(levels * PROBE_PER_LEVEL);
    expect(probeSequences(charTokenizer, DEFAULT_TASK_MIX)).toEqual(probe);
    const held = new Set(heldOutTasks(DEFAULT_TASK_MIX, 16).map((t) => `${t.prompt}\n`));
    for (const seq of probe) {
      const prompt = charTokenizer.decode(seq.tokens.slice(0, seq.completionStart));
      const answer = charTokenizer.decode(seq.tokens.slice(seq.completionStart, -1));
      expect(held.has(prompt)).toBe(false);
      expect(isReservedPrompt(prompt.replace(/\n$/, ''))).toBe(false);
      expect(answer).toMatch(/^<answer>.*<\/answer>$/);
      expect(seq.tokens.at(-1)).toBe(charTokenizer.eosId);
    }
    expect(completionText('7')).toBe('<answer>7</answer>');
  });

  it('takes the per-token mean of the answers\u2019 NLL over micro-batches', async () => {
    const probe: TrainSequence[] = [
      { tokens: [1, 2, 3], completionStart: 1 },
      { tokens: [1, 2, 3, 4], completionStart: 1 },
      { tokens: [1, 2], completionStart: 1 },
    ];
    const batches: number[] = [];
    // logprob -1 for every token of row 0, -2 for row 1, -4 for row 2 (by length)
    const engine = {
      forwardLogprobs: async (batch: TrainSequence[]) => {
        batches.push(batch.length);
        return batch.map((s) => Array.from({ length: s.tokens.length - s.completionStart }, () => -({ 3: 1, 4: 2, 2: 4 } as Record<number, number>)[s.tokens.length]));
      },
    };
    // (2·1 + 3·2 + 1·4) / 6 tokens
    expect(await probeNll(engine, probe, 2)).toBeCloseTo(12 / 6, 12);
    expect(batches).toEqual([2, 1]);
    expect(await probeNll(engine, [], 2)).toBe(0);
  });

  it('refuses a mean that answers the probe worse than both the weights held and the start, or not finitely', () => {
    const slack = PROBE_NLL_SLACK;
    // a trained tab (own below the start): the line is the start's
    expect(() => checkAverage({ own: 0.2, mean: 0.3 + slack - 1e-9, start: 0.3 })).not.toThrow();
    expect(() => checkAverage({ own: 0.2, mean: 0.3 + slack + 1e-6, start: 0.3 })).toThrow(AverageRefusedError);
    // a tab worse than the start: the line is its own
    expect(() => checkAverage({ own: 0.5, mean: 0.5, start: 0.3 })).not.toThrow();
    expect(() => checkAverage({ own: 0.5, mean: 0.52, start: 0.3 })).toThrow(/mean 0\.520, own 0\.500, start 0\.300; at most 0\.510 allowed/);
    // a mean better than either always passes
    expect(() => checkAverage({ own: 0.3, mean: 0.1, start: 0.3 })).not.toThrow();
    expect(() => checkAverage({ own: 0.3, mean: NaN, start: 0.3 })).toThrow(/not finite/);
    expect(() => checkAverage({ own: 0.3, mean: Infinity, start: 0.3 })).toThrow(AverageRefusedError);
    expect(() => checkAverage({ own: 0.3, mean: 0.35, start: 0.3 }, 0.1)).not.toThrow();
  });
});
