import { describe, expect, it } from 'vitest';
import { InMemoryBus, SoloTransport } from '../../../src/rl/bus.ts';
import { defaultRunnerConfig, heldOutTasks, roundTaskRefs, RoundRunner, RunnerError, TaskMixError, type LocalRound } from '../../../src/rl/runner.ts';
import type { RlEvent } from '../../../src/rl/stats.ts';
import { generateTask } from '../../../src/rl/tasks/index.ts';
import { charTokenizer, ScriptedEngine } from './fakes.ts';

/** answers right on even rows, wrong on odd rows: every group has signal */
const alternating = (prompt: string, row: number) => {
  const m = /(\d)\+(\d)/.exec(prompt);
  const sum = m ? Number(m[1]) + Number(m[2]) : 0;
  return `<answer>${row % 2 === 0 ? sum : sum + 1}</answer>`;
};

describe('roundTaskRefs', () => {
  it('derives the same refs from (swarm, round, peer) and different ones otherwise', () => {
    const mix = [{ family: 'basic_arithmetic', difficulty: 1 }, { family: 'sorting', difficulty: 2, weight: 3 }];
    const refs = roundTaskRefs('s', 4, 'p', mix, 8);
    expect(roundTaskRefs('s', 4, 'p', mix, 8)).toEqual(refs);
    expect(roundTaskRefs('s', 5, 'p', mix, 8)).not.toEqual(refs);
    expect(roundTaskRefs('s', 4, 'q', mix, 8)).not.toEqual(refs);
    expect(new Set(roundTaskRefs('s', 1, 'p', mix, 40).map((r) => r.family))).toEqual(new Set(['basic_arithmetic', 'sorting']));
    expect(() => roundTaskRefs('s', 1, 'p', [], 1)).toThrow(TaskMixError);
  });
});

describe('RoundRunner', () => {
  it('samples B×G, scores, publishes, trains with the token-mean gradient and emits typed events', async () => {
    const engine = new ScriptedEngine(alternating);
    const bus = new InMemoryBus();
    const listener = bus.connect('listener');
    const config = defaultRunnerConfig({ swarmId: 's', questions: 3, completions: 4, localGroups: 2, microBatch: 3 });
    const runner = new RoundRunner(engine, charTokenizer, bus.connect('p'), config);
    const events: RlEvent[] = [];
    runner.on((e) => events.push(e));
    const stats = await runner.runRound(7);

    expect(engine.sampleCalls[0].prompts).toHaveLength(12);
    expect(engine.sampleCalls[0].options.stopTokens).toEqual([charTokenizer.eosId]);
    expect(stats).toMatchObject({ round: 7, accuracy: 0.5, formatRate: 1, localGroups: 2, externalGroups: 0, trainedSequences: 8 });
    expect(stats.meanReward).toBeCloseTo(0.6, 12);
    expect(engine.steps).toBe(1);
    // every trained token gets -ρA/N with ρ = 1 (scripted logprobs equal the sampler's)
    const N = stats.trainedTokens;
    const flat = engine.dLogprobs.flat();
    expect(flat).toHaveLength(N);
    for (const d of flat) expect(Math.abs(d)).toBeCloseTo(1 / N, 7);

    const [published] = listener.receivedRollouts(7);
    expect(published.rollouts.map((r) => r.task)).toEqual(roundTaskRefs('s', 7, 'p', config.tasks, 3));
    expect(published.rollouts[0].completions[0]).toEqual({ text: alternating(generateTask(published.rollouts[0].task).prompt, 0), reward: 1.1 });
    expect(events.map((e) => (e.type === 'phase' ? e.phase : e.type))).toEqual(['sampling', 'publishing', 'training', 'round']);
  });

  it('ramps the learning rate over lrWarmupSteps optimizer steps, then holds it; rounds without a step do not count', async () => {
    let silent = false;
    const engine = new ScriptedEngine((prompt, row) => (silent ? '<answer>x</answer>' : alternating(prompt, row)));
    const config = defaultRunnerConfig({ swarmId: 's', questions: 2, completions: 4, localGroups: 2, lrWarmupSteps: 4 });
    config.adamw = { ...config.adamw, lr: 0.002 };
    const runner = new RoundRunner(engine, charTokenizer, new SoloTransport('p'), config);
    for (let r = 0; r < 3; r++) await runner.runRound(r);
    silent = true;
    await runner.runRound(3);
    silent = false;
    for (let r = 4; r < 7; r++) await runner.runRound(r);
    expect(engine.lrs).toEqual([0.0005, 0.001, 0.0015, 0.002, 0.002, 0.002]);
    expect(() => new RoundRunner(engine, charTokenizer, new SoloTransport('p'), { ...config, lrWarmupSteps: -1 })).toThrow(RunnerError);
  });

  it('skips the optimizer step when no group has signal', async () => {
    const engine = new ScriptedEngine(() => '<answer>x</answer>');
    const runner = new RoundRunner(engine, charTokenizer, new SoloTransport('p'), defaultRunnerConfig());
    const stats = await runner.runRound(0);
    expect(stats).toMatchObject({ trainedSequences: 0, localGroups: 0, meanReward: expect.closeTo(0.1, 12) });
    expect(engine.steps).toBe(0);
  });

  it('peers on a bus train on each other\'s re-scored rollouts (I local + J external)', async () => {
    const bus = new InMemoryBus();
    const config = defaultRunnerConfig({ swarmId: 's', questions: 2, completions: 2, localGroups: 2, externalGroups: 3 });
    const engines = [0, 1, 2].map(() => new ScriptedEngine(alternating));
    const runners = engines.map((e, i) => new RoundRunner(e, charTokenizer, bus.connect(`p${i}`), config));
    const locals: LocalRound[] = [];
    for (const r of runners) locals.push(await r.sampleRound(1));
    const stats = await Promise.all(runners.map((r, i) => r.trainRound(locals[i])));
    for (const s of stats) {
      expect(s.externalAvailable).toBe(4);
      expect(s.externalGroups).toBe(3);
      expect(s.localGroups).toBe(2);
      expect(s.externalDrops).toMatchObject({ zeroAdvantage: 0, malformedGroups: 0, claimMismatches: 0 });
      // by sender: only the two other peers, never itself, adding up to J, each within its 2 groups
      const byPeer = s.externalByPeer ?? {};
      expect(Object.keys(byPeer).every((p) => p !== s.peerId && ['p0', 'p1', 'p2'].includes(p))).toBe(true);
      expect(Object.values(byPeer).reduce((x, y) => x + y, 0)).toBe(3);
      for (const n of Object.values(byPeer)) expect(n).toBeLessThanOrEqual(2);
    }
    // external completions are re-encoded: the trained tokens end with EOS like local samples
    for (const seq of engines[0].trained) expect(seq.tokens[seq.tokens.length - 1]).toBe(charTokenizer.eosId);
  });

  it('fillUnusedLocal: a peer whose own groups had no signal fills those slots from its peers, each within its share', async () => {
    const bus = new InMemoryBus();
    const config = defaultRunnerConfig({ swarmId: 's', questions: 3, completions: 2, localGroups: 3, externalGroups: 1, fillUnusedLocal: true });
    // p0 answers everything wrong (no local signal); p1 and p2 alternate (every group has signal)
    const engines = [new ScriptedEngine(() => '<answer>x</answer>'), new ScriptedEngine(alternating), new ScriptedEngine(alternating)];
    const runners = engines.map((e, i) => new RoundRunner(e, charTokenizer, bus.connect(`p${i}`), config));
    const locals: LocalRound[] = [];
    for (const r of runners) locals.push(await r.sampleRound(2));
    const [lost, ...others] = await Promise.all(runners.map((r, i) => r.trainRound(locals[i])));
    // 3 empty local slots + J = 1: four external groups, two from each of the two other peers
    expect(lost).toMatchObject({ localGroups: 0, externalGroups: 4, externalByPeer: { p1: 2, p2: 2 } });
    // peers with full local slots keep J = 1
    for (const s of others) expect(s).toMatchObject({ localGroups: 3, externalGroups: 1 });
    const plain = new RoundRunner(new ScriptedEngine(() => '<answer>x</answer>'), charTokenizer, bus.connect('p3'), { ...config, fillUnusedLocal: false });
    await runners[1].sampleRound(3);
    expect((await plain.trainRound(await plain.sampleRound(3))).externalGroups).toBe(1);
  });

  it('evaluates greedy pass@1 on held-out tasks', async () => {
    const engine = new ScriptedEngine((prompt) => alternating(prompt, 0));
    const runner = new RoundRunner(engine, charTokenizer, new SoloTransport('p'), defaultRunnerConfig());
    // basic_arithmetic/1 has 100 distinct prompts, 9 of them reserved by content: 8 fit
    const tasks = heldOutTasks([{ family: 'basic_arithmetic', difficulty: 1 }], 8);
    expect(heldOutTasks([{ family: 'basic_arithmetic', difficulty: 1 }], 8)).toEqual(tasks);
    const stats = await runner.evaluate(tasks);
    expect(stats).toMatchObject({ tasks: 8, passAt1: 1, formatRate: 1, perFamily: { 'basic_arithmetic/1': { correct: 8, total: 8 } } });
    expect(engine.sampleCalls[0].options.temperature).toBe(0);
  });

  it('a failing publish becomes a warning event and the round goes on solo', async () => {
    const transport = new SoloTransport('p');
    transport.publishRollouts = async () => {
      throw new Error('network down');
    };
    const runner = new RoundRunner(new ScriptedEngine(alternating), charTokenizer, transport, defaultRunnerConfig());
    const events: RlEvent[] = [];
    runner.on((e) => events.push(e));
    await expect(runner.runRound(2)).resolves.toMatchObject({ round: 2 });
    expect(events).toContainEqual({ type: 'warning', peerId: 'p', round: 2, message: 'publishing rollouts failed: network down' });
  });

  it('a listener that throws does not stop the round', async () => {
    const runner = new RoundRunner(new ScriptedEngine(alternating), charTokenizer, new SoloTransport('p'), defaultRunnerConfig());
    runner.on(() => {
      throw new Error('display bug');
    });
    await expect(runner.runRound(0)).resolves.toMatchObject({ round: 0 });
  });
});

describe('RoundRunner on a slow network', () => {
  it('waits up to externalWaitMs for J external groups, then trains on what arrived', async () => {
    const bus = new InMemoryBus();
    const config = defaultRunnerConfig({ swarmId: 's', questions: 2, completions: 2, localGroups: 2, externalGroups: 2, externalWaitMs: 2000 });
    const late = new RoundRunner(new ScriptedEngine(alternating), charTokenizer, bus.connect('late'), config);
    const early = new RoundRunner(new ScriptedEngine(alternating), charTokenizer, bus.connect('early'), config);
    const local = await early.sampleRound(0);
    const start = performance.now();
    const training = early.trainRound(local);
    setTimeout(() => void late.sampleRound(0), 150);
    const stats = await training;
    expect(stats.externalGroups).toBe(2);
    expect(performance.now() - start).toBeLessThan(1500);

    const alone = new RoundRunner(new ScriptedEngine(alternating), charTokenizer, bus.connect('alone'), { ...config, externalWaitMs: 200 });
    const t0 = performance.now();
    const solo = await alone.trainRound(await alone.sampleRound(5));
    expect(solo.externalGroups).toBe(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
  });
});

describe('RoundRunner context limits', () => {
  it('shortens completions to fit the context and names a prompt that cannot fit', async () => {
    const engine = new ScriptedEngine(alternating);
    (engine.config as { max_position_embeddings: number }).max_position_embeddings = 20;
    const runner = new RoundRunner(engine, charTokenizer, new SoloTransport('p'), defaultRunnerConfig());
    await runner.sampleRound(0); // "a+b=?\n" + bos = 7 tokens
    expect(engine.sampleCalls[0].options.maxNewTokens).toBe(13);
    const wordy = new RoundRunner(engine, charTokenizer, new SoloTransport('p'), defaultRunnerConfig({ tasks: [{ family: 'word_problems', difficulty: 4 }] }));
    await expect(wordy.sampleRound(0)).rejects.toThrow(RunnerError);
  });
});

describe('RoundRunner ratio and policy epochs', () => {
  it('throws when sampler logprobs and completion tokens differ in length (no silent ratio 1)', async () => {
    const engine = new ScriptedEngine(alternating);
    const sample = engine.sample.bind(engine);
    engine.sample = async (prompts, options) => {
      const out = await sample(prompts, options);
      return { ...out, logprobs: out.logprobs.map((l) => l.slice(1)) };
    };
    const runner = new RoundRunner(engine, charTokenizer, new SoloTransport('p'), defaultRunnerConfig());
    // committed sampling refuses the batch first (a leaf binds each token to its logprob)
    await expect(runner.runRound(0)).rejects.toThrow(/tokens but \d+ logprobs/);
    await expect(new RoundRunner(engine, charTokenizer, new SoloTransport('p'), defaultRunnerConfig({ commitSampling: false })).runRound(0)).rejects.toThrow(/differ in length/);
    expect(engine.steps).toBe(0);
  });

  it('takes μ optimizer steps per batch; after the first the ratio is to the sampler logprobs and the clip binds', async () => {
    const engine = new ScriptedEngine(alternating);
    let forwards = 0;
    // the policy moves between epochs: from the second forward on, each logprob is 0.5 higher (ρ = e^0.5 ≈ 1.65)
    engine.forwardLogprobs = async (batch) => {
      forwards++;
      return batch.map((s) => s.tokens.slice(s.completionStart).map(() => (forwards > 1 ? 0 : -0.5)));
    };
    const config = defaultRunnerConfig({ questions: 2, completions: 4, localGroups: 2, microBatch: 64, policyEpochs: 3 });
    const stats = await new RoundRunner(engine, charTokenizer, new SoloTransport('p'), config).runRound(0);
    expect(engine.steps).toBe(3);
    expect(forwards).toBe(3);
    // last epoch: ρ ≈ 1.65 > 1.28, so every positive-advantage token is clipped (half of them)
    expect(stats.clipFraction).toBeCloseTo(0.5, 1);
    expect(() => new RoundRunner(engine, charTokenizer, new SoloTransport('p'), { ...config, policyEpochs: 0 })).toThrow(RunnerError);
  });
});
