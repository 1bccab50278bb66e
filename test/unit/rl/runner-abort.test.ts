// Pause and stop act mid-round: an AbortSignal given to the RoundRunner stops sampling between decode steps,
// publishing, waiting for peers, training between micro-batches and before the optimizer step. An aborted
// round publishes nothing it had not published and never takes the optimizer step.
import { describe, expect, it } from 'vitest';
import { createCpuEngine, initWeights, tinyConfig } from '../../../src/engine/index.ts';
import { InMemoryBus, SoloTransport } from '../../../src/rl/bus.ts';
import { defaultRunnerConfig, RoundRunner } from '../../../src/rl/runner.ts';
import { charTokenizer, ScriptedEngine } from './fakes.ts';

const alternating = (prompt: string, row: number) => {
  const m = /(\d)\+(\d)/.exec(prompt);
  const sum = m ? Number(m[1]) + Number(m[2]) : 0;
  return `<answer>${row % 2 === 0 ? sum : sum + 1}</answer>`;
};
const abortError = { name: 'AbortError' };

describe('RoundRunner with an AbortSignal', () => {
  it('aborted during sampling: nothing published, no training, the signal reaches the engine', async () => {
    const bus = new InMemoryBus();
    const listener = bus.connect('listener');
    const engine = new ScriptedEngine(alternating);
    const runner = new RoundRunner(engine, charTokenizer, bus.connect('p'), defaultRunnerConfig({ swarmId: 's' }));
    const controller = new AbortController();
    engine.duringSample = () => controller.abort();
    await expect(runner.runRound(3, controller.signal)).rejects.toMatchObject(abortError);
    expect(engine.sampleCalls[0].options.signal).toBe(controller.signal);
    expect(listener.receivedRollouts(3)).toEqual([]);
    expect(engine.trained).toEqual([]);
    expect(engine.steps).toBe(0);
  });

  it('aborted between micro-batches: no optimizer step; the next round trains normally', async () => {
    const engine = new ScriptedEngine(alternating);
    const config = defaultRunnerConfig({ questions: 4, completions: 4, localGroups: 4, microBatch: 2 });
    const runner = new RoundRunner(engine, charTokenizer, new SoloTransport('p'), config);
    const controller = new AbortController();
    let forwards = 0;
    engine.duringForward = () => {
      if (++forwards === 2) controller.abort();
    };
    await expect(runner.runRound(0, controller.signal)).rejects.toMatchObject(abortError);
    expect(forwards).toBe(2); // stopped before the third micro-batch, of 8
    expect(engine.steps).toBe(0);
    engine.duringForward = undefined;
    await expect(runner.runRound(1, new AbortController().signal)).resolves.toMatchObject({ round: 1, trainedSequences: 16 });
    expect(engine.steps).toBe(1);
  });

  it('aborted after the last backward: still no optimizer step', async () => {
    const engine = new ScriptedEngine(alternating);
    const runner = new RoundRunner(engine, charTokenizer, new SoloTransport('p'), defaultRunnerConfig({ microBatch: 64 }));
    const controller = new AbortController();
    engine.duringForward = () => controller.abort();
    await expect(runner.runRound(0, controller.signal)).rejects.toMatchObject(abortError);
    expect(engine.trained.length).toBeGreaterThan(0);
    expect(engine.steps).toBe(0);
  });

  it('an abort ends the wait for peers\' rollouts at once', async () => {
    const bus = new InMemoryBus();
    const runner = new RoundRunner(new ScriptedEngine(alternating), charTokenizer, bus.connect('p'),
      defaultRunnerConfig({ externalGroups: 2, externalWaitMs: 5000 }));
    const local = await runner.sampleRound(0);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const t0 = performance.now();
    await expect(runner.trainRound(local, controller.signal)).rejects.toMatchObject(abortError);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('a real CPU engine aborted between decode steps keeps its weights and Adam state and publishes nothing', async () => {
    const config = tinyConfig({ vocab_size: 128, max_position_embeddings: 64 });
    const engine = createCpuEngine(config, initWeights(config, 4, 0.2));
    const bus = new InMemoryBus();
    const listener = bus.connect('listener');
    const runner = new RoundRunner(engine, charTokenizer, bus.connect('p'),
      defaultRunnerConfig({ swarmId: 's', questions: 2, completions: 2, localGroups: 2, sampling: { temperature: 1, topP: 1, topK: 0, maxNewTokens: 16 } }));
    await runner.runRound(0); // a trained round first, so there are moments to keep
    const params = await engine.readParams();
    const adam = await engine.exportOptimizerState();
    const controller = new AbortController();
    const round = runner.runRound(1, controller.signal);
    // fires at the engine's first yield between decode steps
    setImmediate(() => controller.abort());
    await expect(round).rejects.toMatchObject(abortError);
    expect(listener.receivedRollouts(1)).toEqual([]);
    expect(await engine.readParams()).toEqual(params);
    expect(await engine.exportOptimizerState()).toEqual(adam);
    engine.dispose();
  });
});
