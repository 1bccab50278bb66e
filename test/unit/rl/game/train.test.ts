// A game stage's GRPO step through the real CPU engine: the rewarded completion becomes more likely, the
// unrewarded one less, and a group without signal takes no step.
import { describe, expect, it } from 'vitest';
import { createCpuEngine, initWeights, tinyConfig } from '../../../../src/engine/index.ts';
import { GRPO_DEFAULTS } from '../../../../src/rl/grpo.ts';
import { encodeStagePrompt, grpoStageStep, type SampledCompletion } from '../../../../src/rl/game/train.ts';
import { charTokenizer } from '../fakes.ts';

const adamw = { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };

describe('grpoStageStep', () => {
  it('moves probability towards the rewarded completion', async () => {
    const engine = createCpuEngine(tinyConfig(), initWeights(tinyConfig(), 7, 0.2));
    const prompt = [1, 5, 9, 3];
    const good = [7, 8, 2];
    const bad = [11, 12, 2];
    const logprobSum = async (c: number[]) => (await engine.forwardLogprobs([{ tokens: [...prompt, ...c], completionStart: prompt.length }]))[0].reduce((s, x) => s + x, 0);
    const before = { good: await logprobSum(good), bad: await logprobSum(bad) };
    for (let i = 0; i < 5; i++) {
      const completions: SampledCompletion[] = [];
      for (const tokens of [good, bad]) {
        const [old] = await engine.forwardLogprobs([{ tokens: [...prompt, ...tokens], completionStart: prompt.length }]);
        completions.push({ text: '', tokens, oldLogprobs: old });
      }
      const step = await grpoStageStep(engine, [{ prompt, completions, rewards: [1.1, 0.1] }], adamw, GRPO_DEFAULTS, 1);
      expect(step.sequences).toBe(2);
      expect(step.gradNorm).toBeGreaterThan(0);
    }
    expect(await logprobSum(good)).toBeGreaterThan(before.good);
    expect(await logprobSum(bad)).toBeLessThan(before.bad);
    const none = await grpoStageStep(engine, [{ prompt, completions: [{ text: '', tokens: good, oldLogprobs: [0, 0, 0] }, { text: '', tokens: bad, oldLogprobs: [0, 0, 0] }], rewards: [0.1, 0.1] }], adamw, GRPO_DEFAULTS, 1);
    expect(none).toEqual({ loss: 0, gradNorm: 0, sequences: 0, tokens: 0 });
    engine.dispose();
  });

  it('encodes the answer stage in the task format and the others without a trailing newline', () => {
    expect(charTokenizer.decode(encodeStagePrompt(charTokenizer, 'answer', '2+2=?'))).toBe('2+2=?\n');
    expect(charTokenizer.decode(encodeStagePrompt(charTokenizer, 'critique', 'x #'))).toBe('x #');
    expect(encodeStagePrompt(charTokenizer, 'resolve', 'x')[0]).toBe(charTokenizer.bosId);
  });
});
