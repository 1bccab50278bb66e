// Verification across backends: a batch sampled on WebGPU passes the spot check on the CPU reference and
// the reverse, the WebGPU engine's draws sit at the seeded uniforms too, and the cross-backend deltas stay
// well inside the default tolerance (the measured figures are in `npm run bench:verify`). Runs in both GPU
// tiers: Node Dawn (gpu-node) and a real Chromium page (browser).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTestGpu } from './gpu-env.ts';
import type { GpuContext } from '../../src/engine/device.ts';
import { createGpuEngine, createGpuOps, type GpuOps } from '../../src/engine/gpu/index.ts';
import { createLogitsScorer, type LogitsScorer } from '../../src/engine/logits.ts';
import type { ModelEngine } from '../../src/engine/engine.ts';
import {
  DEFAULT_TOLERANCE, answerChallenge, cdfPlacement, commitSampling, makeChallenge, samplingSeed, spotCheck, uniformAt, weightsHash,
} from '../../src/rl/verify/index.ts';
import { flipToken, sampleHonestly, teacherForcedLogprobs } from '../../src/rl/verify/adversary.ts';
import { config, engine as cpuEngine, ids, prompts, scorer as cpuScorer, settings, weights } from '../unit/rl/verify/scenario.ts';

describe('verification across CPU and WebGPU', () => {
  let gpu: GpuContext, ops: GpuOps, gpuScorer: LogitsScorer, gpuEngine: ModelEngine;
  let hash: string;
  beforeAll(async () => {
    gpu = await getTestGpu();
    ops = await createGpuOps(gpu);
    gpuScorer = createLogitsScorer(ops, config, weights);
    gpuEngine = await createGpuEngine(gpu, config, weights);
    hash = await weightsHash(weights);
  });
  afterAll(() => {
    gpuScorer?.dispose();
    ops?.destroy();
    gpuEngine?.dispose();
  });

  const commitRows = (rows: { tokens: number[][]; logprobs: number[][] }, s = settings) => commitSampling({
    ...ids, weightsHash: hash, settings: { temperature: s.temperature, topP: s.topP, topK: s.topK, maxNewTokens: s.maxNewTokens, stopTokens: s.stopTokens },
    tokens: rows.tokens, logprobs: rows.logprobs,
  });
  const checkWith = async (scorer: LogitsScorer, batch: Awaited<ReturnType<typeof commitRows>>) => {
    const challenge = makeChallenge(batch.commitment, batch.commitment.completions, Math.random, 'n');
    return spotCheck({ commitment: batch.commitment, challenge, response: answerChallenge(batch, challenge), promptOf: (r) => prompts[r], scorer, scorerWeightsHash: hash });
  };

  for (const [name, s] of [['full distribution', settings], ['top-p 0.9', { ...settings, topP: 0.9 }]] as const) {
    it(`${name}: sampled on WebGPU, checked on CPU and on WebGPU; sampled on CPU, checked on WebGPU`, async () => {
      const onGpu = await sampleHonestly(gpuEngine, prompts, s, ids.swarmId, ids.round, ids.peerId);
      const onCpu = await sampleHonestly(cpuEngine, prompts, s, ids.swarmId, ids.round, ids.peerId);
      for (const [rows, scorer] of [[onGpu, cpuScorer], [onGpu, gpuScorer], [onCpu, gpuScorer]] as const) {
        const v = await checkWith(scorer, await commitRows(rows, s));
        expect(v.reasons).toEqual([]);
        expect(v.checkedTokens).toBeGreaterThan(50);
        expect(v.maxLogprobDelta).toBeLessThan(DEFAULT_TOLERANCE.logprob / 4);
        expect(v.maxCdfOvershoot).toBeLessThan(DEFAULT_TOLERANCE.cdf / 4);
      }
    });
  }

  it('the WebGPU engine draws at the seeded uniforms (sampler reproducible from the seed)', async () => {
    const rows = await sampleHonestly(gpuEngine, prompts, settings, ids.swarmId, ids.round, ids.peerId);
    const V = config.vocab_size, seed = samplingSeed(ids.swarmId, ids.round, ids.peerId);
    const logits = await gpuScorer.completionLogits(prompts.map((p, i) => ({ tokens: [...p, ...rows.tokens[i]], completionStart: p.length })));
    let n = 0;
    rows.tokens.forEach((toks, row) => toks.forEach((tok, t) => {
      const pl = cdfPlacement(logits[row], t * V, V, settings, tok);
      const u = uniformAt(seed, row, t);
      expect(u).toBeGreaterThanOrEqual(pl.lo - 1e-5);
      expect(u).toBeLessThan(pl.hi + 1e-5);
      n++;
    }));
    expect(n).toBeGreaterThan(50);
  });

  it('the shared-prompt scorer on WebGPU gives the padded scorer\'s logits (and the CPU\'s, within the backend gap)', async () => {
    const padded = createLogitsScorer(ops, config, weights, { strategy: 'padded' });
    try {
      const rows = await sampleHonestly(cpuEngine, prompts, settings, ids.swarmId, ids.round, ids.peerId);
      const batch = prompts.map((p, i) => ({ tokens: [...p, ...rows.tokens[i]], completionStart: p.length }));
      const [shared, full, cpu] = [await gpuScorer.completionLogits(batch), await padded.completionLogits(batch), await cpuScorer.completionLogits(batch)];
      let vsPadded = 0, vsCpu = 0, values = 0;
      shared.forEach((row, b) => {
        expect(row.length).toBe(full[b].length);
        row.forEach((x, j) => {
          vsPadded = Math.max(vsPadded, Math.abs(x - full[b][j]));
          vsCpu = Math.max(vsCpu, Math.abs(x - cpu[b][j]));
          values++;
        });
      });
      expect(values).toBeGreaterThan(50 * config.vocab_size);
      expect(vsPadded).toBeLessThan(1e-4);
      expect(vsCpu).toBeLessThan(1e-3);
    } finally {
      padded.dispose();
    }
  });

  it('a flipped token is caught by a WebGPU verifier too', async () => {
    const rows = await sampleHonestly(cpuEngine, prompts, settings, ids.swarmId, ids.round, ids.peerId);
    const tokens = flipToken(rows.tokens, 2, 1, config.vocab_size, settings.stopTokens);
    const v = await checkWith(gpuScorer, await commitRows({ tokens, logprobs: await teacherForcedLogprobs(gpuScorer, prompts, tokens) }));
    expect(v.ok).toBe(false);
    expect(v.reasons.join('\n')).toMatch(/row 2 position 1: the seeded uniform/);
  });
});
