// Optimizer state out and back in (what a checkpoint carries for a resumed tab), and sampling that a signal
// aborts between decode steps (what pause/stop mid-round relies on). CPU reference.
import { describe, expect, it } from 'vitest';
import { createCpuEngine } from '../../../src/engine/cpu/index.ts';
import { tinyConfig } from '../../../src/engine/config.ts';
import { initWeights } from '../../../src/engine/init.ts';
import { WeightsMismatchError } from '../../../src/engine/errors.ts';
import type { AdamWConfig, SampleOptions, TrainSequence } from '../../../src/engine/api.ts';
import type { ModelEngine } from '../../../src/engine/engine.ts';

const config = tinyConfig({ vocab_size: 40, hidden_size: 24, intermediate_size: 40, num_attention_heads: 6, num_key_value_heads: 2 });
const weights = initWeights(config, 5, 0.3);
const adamw: AdamWConfig = { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 };
const batch: TrainSequence[] = [
  { tokens: [1, 4, 9, 16, 25, 36], completionStart: 2 },
  { tokens: [1, 3, 5, 7], completionStart: 1 },
];

async function trainStep(e: ModelEngine): Promise<void> {
  e.zeroGrads();
  const lp = await e.forwardLogprobs(batch);
  await e.backwardLogprobs(lp.map((row) => row.map(() => -1)));
  await e.optimizerStep(adamw);
}

describe('optimizer state', () => {
  it('export after 2 steps, import into a fresh engine with the same weights: the next step is identical', async () => {
    const a = createCpuEngine(config, weights);
    await trainStep(a);
    await trainStep(a);
    const state = await a.exportOptimizerState();
    expect(state.steps).toBe(2);
    expect(state.m.length).toBe(a.layout.size);
    expect(state.v.some((x) => x > 0)).toBe(true);

    const b = createCpuEngine(config, await a.readParams());
    await b.importOptimizerState(state);
    expect(b.steps).toBe(2);
    // the exported arrays are copies: changing them does not reach either engine
    state.m.fill(123);
    await trainStep(a);
    await trainStep(b);
    expect(await b.readParams()).toEqual(await a.readParams());

    // without the moments the same step lands elsewhere (the test can fail)
    const c = createCpuEngine(config, weights);
    await trainStep(c);
    await trainStep(c);
    const fresh = createCpuEngine(config, await c.readParams());
    await trainStep(c);
    await trainStep(fresh);
    expect(await fresh.readParams()).not.toEqual(await c.readParams());
  });

  it('an engine that never trained exports zero moments and 0 steps', async () => {
    const e = createCpuEngine(config, weights);
    const s = await e.exportOptimizerState();
    expect(s.steps).toBe(0);
    expect(s.m.every((x) => x === 0) && s.v.every((x) => x === 0)).toBe(true);
    expect(s.v.length).toBe(e.layout.size);
  });

  it('wrong lengths, types, steps or moments are named errors that change nothing', async () => {
    const a = createCpuEngine(config, weights);
    await trainStep(a);
    const good = await a.exportOptimizerState();
    const paramsBefore = await a.readParams();
    const bad: unknown[] = [
      { ...good, m: good.m.subarray(1) },
      { ...good, v: new Float32Array(good.v.length + 1) },
      { ...good, m: Array.from(good.m) },
      { ...good, steps: -1 },
      { ...good, steps: 1.5 },
      { ...good, v: Float32Array.from(good.v, (x, i) => (i === 3 ? -1 : x)) },
      { ...good, m: Float32Array.from(good.m, (x, i) => (i === 7 ? NaN : x)) },
      null,
    ];
    for (const state of bad) {
      await expect(a.importOptimizerState(state as never)).rejects.toThrow(WeightsMismatchError);
    }
    const after = await a.exportOptimizerState();
    expect(after.steps).toBe(1);
    expect(after.m).toEqual(good.m);
    expect(after.v).toEqual(good.v);
    expect(await a.readParams()).toEqual(paramsBefore);
    await expect(a.importOptimizerState({ ...good, m: new Float32Array(3) })).rejects.toThrow(/3 values, this model has \d+ parameters/);
  });
});

describe('sampling with an abort signal', () => {
  const opts: SampleOptions = { maxNewTokens: 12, temperature: 1, seed: 9, stopTokens: [] };

  it('an abort between decode steps rejects with AbortError; the engine samples the same afterwards', async () => {
    const e = createCpuEngine(config, weights);
    const prompts = [[1, 2, 3], [1, 5]];
    const plain = await e.sample(prompts, opts);
    const controller = new AbortController();
    const aborted = e.sample(prompts, { ...opts, signal: controller.signal });
    // runs at the engine's first yield, after one decode step: a mid-sample abort
    setImmediate(() => controller.abort());
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect(await e.sample(prompts, { ...opts, signal: new AbortController().signal })).toEqual(plain);
  });

  it('an already aborted signal is refused before any work; a non-signal is a named error', async () => {
    const e = createCpuEngine(config, weights);
    await expect(e.sample([[1, 2]], { ...opts, signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(e.sample([[1, 2]], { ...opts, signal: {} as AbortSignal })).rejects.toThrow(/signal must be an AbortSignal/);
  });
});
