// The in-process swarm behind `npm run train -- --peers N` and the SAPO experiment, on the shipped model,
// and the SVG the experiment writes.
import { describe, expect, it } from 'vitest';
import { loadModelFolder, makeEngine } from '../../../scripts/model/load.ts';
import { renderSvg } from '../../../scripts/model/plot.ts';
import { averagePairs, averageWithAnchors, simulate } from '../../../scripts/model/simulate.ts';
import type { ModelEngine } from '../../../src/engine/engine.ts';
import { SoloTransport } from '../../../src/rl/bus.ts';
import { averageParameters } from '../../../src/rl/meta.ts';
import { mean } from '../../../src/rl/paired.ts';
import { Rng } from '../../../src/rl/rng.ts';
import { RoundRunner } from '../../../src/rl/runner.ts';
import { EASY_TASK_MIX } from '../../../src/rl/defaults.ts';
import { defaultRunnerConfig } from '../../../src/rl/runner.ts';

describe('in-process swarm simulation', () => {
  it('peers trade rollouts on the bus, train on I + J groups, and report cumulative reward and evals', async () => {
    const folder = await loadModelFolder('public/models/default');
    const runner = defaultRunnerConfig({ swarmId: 'sim-test', tasks: EASY_TASK_MIX, questions: 2, completions: 6, localGroups: 2, externalGroups: 2 });
    const result = await simulate(folder, { peers: 3, rounds: 2, runner, backend: 'cpu', evalEvery: 2, evalMix: EASY_TASK_MIX, evalPerEntry: 4 });
    expect(result.rounds).toHaveLength(2);
    expect(result.rounds[1].cumulativeReward).toBeCloseTo(result.rounds[0].meanReward + result.rounds[1].meanReward, 12);
    expect(result.evals.map((e) => e.afterRounds)).toEqual([0, 2]);
    expect(result.evals[0].perPeer).toHaveLength(3);
    // all peers start from the same weights: identical greedy answers before training
    expect(new Set(result.evals[0].perPeer).size).toBe(1);
    // the per-family counts add up to the peers' answers and to the mean pass@1
    for (const e of result.evals) {
      const families = Object.values(e.perFamily ?? {});
      expect(families.length).toBe(EASY_TASK_MIX.length);
      const total = families.reduce((s, f) => s + f.total, 0);
      expect(total).toBe(3 * EASY_TASK_MIX.length * 4);
      expect(families.reduce((s, f) => s + f.correct, 0) / total).toBeCloseTo(e.passAt1, 12);
    }
    const external = result.perPeerRounds.flat().map((s) => s.externalGroups);
    expect(Math.max(...external)).toBeGreaterThan(0);
    for (const s of result.perPeerRounds.flat()) expect(s.externalDrops?.claimMismatches).toBe(0);
    // the round summary's intake figures: what was on offer bounds what was taken; honest peers, no refusals
    for (const r of result.rounds) {
      expect(r.externalAvailable).toBeGreaterThanOrEqual(r.externalGroups);
      expect(r.offSeedGroups).toBe(0);
    }
    expect(result.rounds[0].externalAvailable).toBe(mean(result.perPeerRounds.map((p) => p[0].externalAvailable)));
  }, 60_000);

  it('the averaging arm leaves paired peers on the mean of their weights, keeping their own Adam moments', async () => {
    const folder = await loadModelFolder('public/models/default');
    const config = defaultRunnerConfig({ swarmId: 'avg-test', tasks: EASY_TASK_MIX, questions: 2, completions: 6, localGroups: 2 });
    config.adamw = { ...config.adamw, lr: 0.01 };
    const runners = await Promise.all(['a', 'b'].map(async (id) => new RoundRunner(await makeEngine(folder, 'cpu'), folder.tokenizer, new SoloTransport(id), config)));
    for (const r of runners) await r.runRound(0);
    const before = await Promise.all(runners.map((r) => (r.engine as ModelEngine).readParams()));
    expect(before[0]).not.toEqual(before[1]);
    const moments = await Promise.all(runners.map((r) => r.engine.exportOptimizerState()));
    await averagePairs(runners, folder, new Rng(1));
    const after = await Promise.all(runners.map((r) => (r.engine as ModelEngine).readParams()));
    expect(after[0]).toEqual(after[1]);
    expect(after[0]).toEqual(averageParameters(before));
    const movedOn = await Promise.all(runners.map((r) => r.engine.exportOptimizerState()));
    expect(movedOn.map((m) => m.steps)).toEqual(moments.map((m) => m.steps));
    expect(movedOn[0].m).toEqual(moments[0].m);
    for (const r of runners) r.engine.dispose();
  }, 60_000);

  it('the self-averaging control moves each peer halfway back to its anchor, which becomes the new anchor', async () => {
    const folder = await loadModelFolder('public/models/default');
    const config = defaultRunnerConfig({ swarmId: 'lookahead-test', tasks: EASY_TASK_MIX, questions: 2, completions: 6, localGroups: 2 });
    config.adamw = { ...config.adamw, lr: 0.01 };
    const runner = new RoundRunner(await makeEngine(folder, 'cpu'), folder.tokenizer, new SoloTransport('a'), config);
    const start = await (runner.engine as ModelEngine).readParams();
    const anchors = [start];
    await runner.runRound(0);
    const trained = await (runner.engine as ModelEngine).readParams();
    expect(trained).not.toEqual(start);
    const steps = (await runner.engine.exportOptimizerState()).steps;
    await averageWithAnchors([runner], folder, anchors);
    const after = await (runner.engine as ModelEngine).readParams();
    expect(after).toEqual(averageParameters([trained, start]));
    expect(anchors[0]).toEqual(after);
    expect((await runner.engine.exportOptimizerState()).steps).toBe(steps);
    await expect(averageWithAnchors([runner], folder, [])).rejects.toThrow('0 anchors for 1 peers');
    runner.engine.dispose();
  }, 60_000);

  it('simulate runs the self-averaging control with one peer (no partner needed) and evaluates after the average', async () => {
    const folder = await loadModelFolder('public/models/default');
    const runner = defaultRunnerConfig({ swarmId: 'lookahead-sim', tasks: EASY_TASK_MIX, questions: 2, completions: 6, localGroups: 2 });
    runner.adamw = { ...runner.adamw, lr: 0.01 };
    const base = { peers: 1, rounds: 2, runner, backend: 'cpu' as const, evalEvery: 2, evalMix: EASY_TASK_MIX, evalPerEntry: 3, generalisation: false };
    const plain = await simulate(folder, base);
    const lookahead = await simulate(folder, { ...base, averageEvery: 1, averageWith: 'self' });
    // the same seeds: round 0 samples are identical (nothing averaged yet); the average after round 0 changes round 1's weights
    const [p0, p1] = plain.perPeerRounds[0];
    const [l0, l1] = lookahead.perPeerRounds[0];
    expect([l0.loss, l0.samples.map((x) => x.completion)]).toEqual([p0.loss, p0.samples.map((x) => x.completion)]);
    expect([l1.loss, l1.samples.map((x) => x.completion)]).not.toEqual([p1.loss, p1.samples.map((x) => x.completion)]);
    expect(lookahead.evals.map((e) => e.afterRounds)).toEqual([0, 2]);
    expect(lookahead.evals[0].passAt1).toBe(plain.evals[0].passAt1);
  }, 60_000);

  it('the plot is an SVG with one path per series and escaped labels', () => {
    const svg = renderSvg([{ title: 'a < b', xLabel: 'x', yLabel: 'y', series: [
      { label: 's1', color: 'red', points: [[0, 0], [1, 2]] },
      { label: 's2 & more', color: 'blue', points: [[0, 1], [1, 1]] },
    ] }], 'title');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('a &lt; b');
    expect(svg).toContain('s2 &amp; more');
  });
});
