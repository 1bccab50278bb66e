// The experiment's pure parts on hand-made inputs: paired statistics, the meta-model mean, the external
// group preference, the curriculum and peer variants.
import { describe, expect, it } from 'vitest';
import { compare, seedFigures, type JobResult } from '../../../scripts/model/experiment.ts';
import { Curriculum } from '../../../src/rl/curriculum.ts';
import { averageParameters, MetaModelError } from '../../../src/rl/meta.ts';
import { confidenceInterval95, mean, pairedDifference, sampleStd, StatsError, tQuantile975 } from '../../../src/rl/paired.ts';
import { emphasisedMix, peerTemperature } from '../../../src/rl/peers.ts';
import { Rng } from '../../../src/rl/rng.ts';
import { makeGroup, selectTrainingGroups, type RolloutGroup } from '../../../src/rl/sapo.ts';
import { familiesWithSignal, zeroSignalPreference } from '../../../src/rl/selection.ts';
import { generateTask, scoreCompletion, type TaskMix } from '../../../src/rl/tasks/index.ts';

describe('paired statistics', () => {
  it('mean, sample std and the t interval match hand computation', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(sampleStd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.138089935, 8);
    expect(tQuantile975(4)).toBe(2.776);
    expect(tQuantile975(1000)).toBe(1.96);
    // d = [1, 2, 3, 4, 5]: mean 3, s = 1.5811, half-width 2.776 * 1.5811 / sqrt 5 = 1.96293
    const ci = confidenceInterval95([1, 2, 3, 4, 5]);
    expect(ci.mean).toBe(3);
    expect(ci.halfWidth).toBeCloseTo(1.96293, 4);
    expect(ci.low).toBeCloseTo(1.03707, 4);
  });

  it('the paired difference pairs by seed, and says whether 0 is excluded', () => {
    const swarm = [0.5, 0.6, 0.55, 0.7, 0.65];
    const solo = [0.4, 0.5, 0.5, 0.6, 0.55];
    const d = pairedDifference(swarm, solo);
    // differences 0.1 0.1 0.05 0.1 0.1: mean 0.09, s = 0.02236, half-width 2.776 * 0.02236 / sqrt 5 = 0.02776
    expect(d.mean).toBeCloseTo(0.09, 12);
    expect(d.halfWidth).toBeCloseTo(0.027760, 5);
    expect(d.excludesZero).toBe(true);
    expect(d.relative).toBeCloseTo(3 / 2.55 - 1, 12);
    // an unpaired view of the same numbers would not exclude 0; pairing is what removes the seed effect
    const noisy = pairedDifference([0.5, 0.4, 0.6], [0.45, 0.5, 0.5]);
    expect(noisy.excludesZero).toBe(false);
  });

  it('refuses what it cannot compute, by name', () => {
    expect(() => pairedDifference([1, 2], [1])).toThrow(StatsError);
    expect(() => confidenceInterval95([1])).toThrow(StatsError);
    expect(() => mean([])).toThrow(StatsError);
  });
});

describe('averageParameters', () => {
  it('is the elementwise mean, optionally weighted', () => {
    const a = Float32Array.from([1, 2, 3]);
    const b = Float32Array.from([3, 6, -3]);
    expect([...averageParameters([a, b])]).toEqual([2, 4, 0]);
    expect([...averageParameters([a, b], [3, 1])]).toEqual([1.5, 3, 1.5]);
    expect([...averageParameters([a])]).toEqual([1, 2, 3]);
    expect(averageParameters([a, b])).not.toBe(a);
  });

  it('throws on mismatched lengths or bad weights', () => {
    expect(() => averageParameters([Float32Array.from([1]), Float32Array.from([1, 2])])).toThrow(MetaModelError);
    expect(() => averageParameters([])).toThrow(MetaModelError);
    expect(() => averageParameters([Float32Array.from([1])], [1, 2])).toThrow(MetaModelError);
    expect(() => averageParameters([Float32Array.from([1])], [-1])).toThrow(MetaModelError);
    expect(() => averageParameters([Float32Array.from([1])], [0])).toThrow(MetaModelError);
  });
});

function group(source: 'local' | 'external', family: string, peerId: string, correct: boolean[], difficulty = 1): RolloutGroup {
  const ref = { family, difficulty, seed: 11 };
  const task = generateTask(ref);
  return makeGroup(source, peerId, ref, task, correct.map((ok) => {
    const text = `<answer>${ok ? task.answer : 'x'}</answer>`;
    return { ...scoreCompletion(task, text), text };
  }));
}

describe('external group preference', () => {
  const local = [group('local', 'sorting', 'me', [true, false]), group('local', 'chain_sum', 'me', [false, false])];
  const external = [
    ...Array.from({ length: 6 }, (_, i) => group('external', 'sorting', `s${i}`, [true, false])),
    ...Array.from({ length: 6 }, (_, i) => group('external', 'chain_sum', `c${i}`, [true, false])),
  ];

  it('weights families where this peer had no signal `boost` times more', () => {
    expect([...familiesWithSignal(local)]).toEqual(['sorting']);
    const pref = zeroSignalPreference(local, 4);
    expect(pref(external[0])).toBe(1);
    expect(pref(external[6])).toBe(4);
    expect(() => zeroSignalPreference(local, -1)).toThrow(RangeError);
  });

  it('draws preferred groups more often among one peer\'s groups, never at another peer\'s expense', () => {
    // six peers, each with one group per family: the preference picks the family within each peer's share
    const perPeer = Array.from({ length: 6 }, (_, i) => [group('external', 'sorting', `p${i}`, [true, false]), group('external', 'chain_sum', `p${i}`, [true, false])]).flat();
    let preferred = 0;
    let uniform = 0;
    const trials = 400;
    for (let s = 0; s < trials; s++) {
      const withPref = selectTrainingGroups(new Rng(s), local, perPeer, 0, 2, zeroSignalPreference(local, 4));
      expect(new Set(withPref.map((g) => g.peerId)).size).toBe(2); // two slots, two peers: fairness first
      preferred += withPref.filter((g) => g.task.family === 'chain_sum').length;
      uniform += selectTrainingGroups(new Rng(s), local, perPeer, 0, 2).filter((g) => g.task.family === 'chain_sum').length;
    }
    // uniform: half of 800 picks; boost 4: 4/5 of each peer's pick
    expect(uniform / (2 * trials)).toBeGreaterThan(0.4);
    expect(uniform / (2 * trials)).toBeLessThan(0.6);
    expect(preferred / (2 * trials)).toBeGreaterThan(0.7);
    // one group per peer (the `external` set above): the preference cannot move the draw across peers
    let acrossPeers = 0;
    for (let s = 0; s < trials; s++) acrossPeers += selectTrainingGroups(new Rng(s), local, external, 0, 2, zeroSignalPreference(local, 4)).filter((g) => g.task.family === 'chain_sum').length;
    expect(acrossPeers / (2 * trials)).toBeLessThan(0.6);
  });
});

describe('curriculum', () => {
  const mix: TaskMix[] = [{ family: 'sorting', difficulty: 1, maxDifficulty: 3 }, { family: 'chain_sum', difficulty: 2 }];
  it('raises a family whose success is high, lowers it when success collapses, within its range', () => {
    const c = new Curriculum(mix, { window: 2, raiseAbove: 0.5, lowerBelow: 0.1 });
    expect(c.levels()).toEqual({ sorting: 1, chain_sum: 2 });
    c.update([group('local', 'sorting', 'me', [true, true, true, false])]);
    expect(c.levels().sorting).toBe(1);
    c.update([group('local', 'sorting', 'me', [true, true, false, false])]);
    expect(c.levels().sorting).toBe(2);
    // groups at a stale level do not count
    c.update([group('local', 'sorting', 'me', [false, false], 1), group('local', 'sorting', 'me', [false, false], 1)]);
    expect(c.levels().sorting).toBe(2);
    c.update([group('local', 'sorting', 'me', [false, false], 2), group('local', 'sorting', 'me', [false, false], 2)]);
    expect(c.levels().sorting).toBe(1);
    c.update([group('local', 'sorting', 'me', [false, false], 1), group('local', 'sorting', 'me', [false, false], 1)]);
    expect(c.levels().sorting).toBe(1);
    // a fixed entry never moves
    c.update([group('local', 'chain_sum', 'me', [true, true], 2), group('local', 'chain_sum', 'me', [true, true], 2)]);
    expect(c.levels().chain_sum).toBe(2);
  });
});

describe('peer variants', () => {
  it('derive temperature and emphasis from the peer id, reproducibly', () => {
    const t = peerTemperature('peer-3', 1, 0.3);
    expect(t).toBe(peerTemperature('peer-3', 1, 0.3));
    expect(t).toBeGreaterThanOrEqual(0.7);
    expect(t).toBeLessThanOrEqual(1.3);
    const temps = new Set(Array.from({ length: 8 }, (_, i) => peerTemperature(`peer-${i}`, 1, 0.3)));
    expect(temps.size).toBe(8);
    const mix: TaskMix[] = [{ family: 'sorting', difficulty: 1 }, { family: 'chain_sum', difficulty: 1, weight: 2 }, { family: 'countdown', difficulty: 1 }];
    const e = emphasisedMix(mix, 'peer-3', 3, 1);
    expect(e).toEqual(emphasisedMix(mix, 'peer-3', 3, 1));
    const changed = e.filter((m, i) => m.weight !== mix[i].weight);
    expect(changed).toHaveLength(1);
    expect(changed[0].weight).toBe(3 * (mix.find((m) => m.family === changed[0].family)!.weight ?? 1));
    expect(mix[1].weight).toBe(2);
  });
});

describe('experiment comparison', () => {
  const job = (arm: string, seed: string, acc: number[], held: number[]): JobResult => {
    let c = 0;
    return {
      arm, seed, seconds: 0,
      rounds: acc.map((a, round) => ({ round, meanReward: a, accuracy: a, cumulativeReward: (c += a), cumulativeAccuracy: c, signalShare: 0.5, externalGroups: 0, seconds: 0, tokensPerSecond: 0 })),
      evals: held.map((h, i) => ({ afterRounds: i * 10, passAt1: h, perPeer: [h], generalisation: h / 2 })),
    };
  };
  it('pairs arms by seed on cumulative accuracy and final held-out accuracy', () => {
    const jobs = [
      job('swarm', 's0', [0.2, 0.4], [0.1, 0.3]), job('swarm', 's1', [0.3, 0.5], [0.2, 0.3]), job('swarm', 's2', [0.1, 0.3], [0.1, 0.2]),
      job('iso', 's0', [0.2, 0.2], [0.1, 0.2]), job('iso', 's1', [0.3, 0.3], [0.2, 0.2]), job('iso', 's2', [0.1, 0.2], [0.1, 0.2]),
      job('iso', 's9', [1, 1], [1, 1]),
    ];
    expect(seedFigures(jobs[0])).toMatchObject({ cumulativeAccuracy: expect.closeTo(0.6, 12), heldOutStart: 0.1, heldOutFinal: 0.3, heldOutMean: 0.3, generalisationFinal: 0.15 });
    const c = compare(jobs, 'swarm', 'iso')!;
    expect(c.seeds).toBe(3); // s9 has no partner
    // cumulative accuracy differences 0.2, 0.2, 0.1
    expect(c.metrics.cumulativeAccuracy!.mean).toBeCloseTo(0.5 / 3, 12);
    // final held-out differences 0.1, 0.1, 0
    expect(c.metrics.heldOutFinal!.mean).toBeCloseTo(0.2 / 3, 12);
    expect(compare(jobs.slice(0, 1), 'swarm', 'iso')).toBeNull();
  });
});
