// Pure pieces of the app: where models come from, persisted settings, the memory guard and the stats mapping.
import { describe, expect, it } from 'vitest';
import { ModelSourceError, needsNetwork, resolveModelUrl } from '../../../src/app/lib/model-source.ts';
import { DEFAULT_SETTINGS, parseSettings } from '../../../src/app/lib/settings.svelte.ts';
import { toRoundStats } from '../../../src/worker/contributor.ts';
import { checkMemory, checkSecondEngine, estimateContributionBytes, estimateSecondEngineBytes, runnerConfigFor } from '../../../src/worker/plan.ts';
import { smolLM2_135MConfig, tinyConfig } from '../../../src/engine/index.ts';
import type { LoadOptions } from '../../../src/worker/protocol.ts';
import type { RolloutBatch } from '../../../src/rl/transport.ts';

const PAGE = 'http://127.0.0.1:5173/?swarm=abc';

describe('resolveModelUrl', () => {
  it('maps the shipped model, local folders, HF repo ids and URLs', () => {
    expect(resolveModelUrl('tabswarm-tiny', PAGE)).toBe('http://127.0.0.1:5173/models/default/');
    expect(resolveModelUrl('tabswarm-tiny-game', PAGE)).toBe('http://127.0.0.1:5173/models/game/');
    expect(resolveModelUrl('my-model', PAGE)).toBe('http://127.0.0.1:5173/models/my-model/');
    expect(resolveModelUrl('HuggingFaceTB/SmolLM2-135M', PAGE)).toBe('https://huggingface.co/HuggingFaceTB/SmolLM2-135M/resolve/main/');
    expect(resolveModelUrl('Qwen/Qwen2.5-0.5B@v1.0', PAGE)).toBe('https://huggingface.co/Qwen/Qwen2.5-0.5B/resolve/v1.0/');
    expect(resolveModelUrl('https://example.org/m', PAGE)).toBe('https://example.org/m/');
    expect(needsNetwork(resolveModelUrl('a/b', PAGE), PAGE)).toBe(true);
    expect(needsNetwork(resolveModelUrl('tabswarm-tiny', PAGE), PAGE)).toBe(false);
  });
  it('refuses what is none of those, by name', () => {
    for (const bad of ['', '../../etc', 'a/b/c', 'javascript:alert(1)', 'x'.repeat(600)]) {
      expect(() => resolveModelUrl(bad, PAGE)).toThrow(ModelSourceError);
    }
  });
});

describe('parseSettings', () => {
  it('keeps valid fields and falls back field by field', () => {
    expect(parseSettings(null)).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings('not json')).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings('{"duty":0.5,"pauseWhenHidden":false,"backend":"cpu"}')).toEqual({ duty: 0.5, pauseWhenHidden: false, backend: 'cpu' });
    expect(parseSettings('{"duty":7,"pauseWhenHidden":"yes","backend":"tpu"}')).toEqual(DEFAULT_SETTINGS);
  });
});

describe('memory guard', () => {
  const options: LoadOptions = { modelUrl: 'x', swarmId: 's', peerId: 'p', backend: 'auto', resume: false };
  it('lets a tiny model through and stops a 135M model on a 256 MiB budget with ModelTooLargeError', () => {
    const runner = runnerConfigFor(options);
    expect(() => checkMemory(tinyConfig(), runner, 64 * 2 ** 20)).not.toThrow();
    expect(() => checkMemory(smolLM2_135MConfig(), runner, 256 * 2 ** 20)).toThrow(expect.objectContaining({ name: 'ModelTooLargeError' }));
    expect(() => checkMemory(smolLM2_135MConfig(), runner, undefined)).not.toThrow();
    // weights, grads and two Adam moments at least: 4 x 4 bytes per parameter
    const est = estimateContributionBytes(smolLM2_135MConfig(), runner);
    expect(est.total).toBeGreaterThan(134e6 * 16);
  });
  it('counts the second engine an average builds beside the running one, against the budget left', () => {
    const runner = runnerConfigFor(options), cfg = smolLM2_135MConfig();
    const held = estimateContributionBytes(cfg, runner).total, second = estimateSecondEngineBytes(cfg, runner).total;
    // weights, grads and two Adam moments again, but no sampling state (the KV cache is the running engine's)
    expect(second).toBeGreaterThan(134e6 * 16);
    expect(second).toBeLessThan(held);
    expect(() => checkSecondEngine(cfg, runner, held + second)).not.toThrow();
    expect(() => checkSecondEngine(cfg, runner, undefined)).not.toThrow();
    expect(() => checkSecondEngine(cfg, runner, held + second - 1)).toThrow(/a second copy of this model, which an average or a swarm-model download holds beside the running one, needs .* already held/);
  });
  it('follows the swarm task mix, falling back to the default for unknown families', () => {
    expect(runnerConfigFor({ ...options, taskMix: { sorting: 3 } }).tasks).toEqual([{ family: 'sorting', difficulty: 1, maxDifficulty: 2, weight: 3 }]);
    expect(runnerConfigFor({ ...options, taskMix: { nope: 1 } }).tasks.length).toBeGreaterThan(5);
    expect(runnerConfigFor(options).externalGroups).toBeGreaterThan(0);
  });
});

describe('toRoundStats', () => {
  it('maps the runner stats for the dashboard', () => {
    const s = toRoundStats(
      {
        peerId: 'p', round: 4, meanReward: 0.5, accuracy: 0.25, formatRate: 1, localGroups: 4, externalGroups: 2, externalAvailable: 3,
        externalDrops: null, trainedSequences: 16, trainedTokens: 100, loss: 0.1, gradNorm: 1, clipFraction: 0, sampledTokens: 200,
        sampleSeconds: 1.5, trainSeconds: 0.5, tokensPerSecond: 133, samples: [{ prompt: 'q', completion: 'a', reward: 1, correct: true }],
      },
      16,
      { reward: 0.7, accuracy: 0.5, peers: 2 },
    );
    expect(s).toMatchObject({ round: 4, ownReward: 0.5, ownAccuracy: 0.25, swarmReward: 0.7, externalRollouts: 2, peersHeard: 2, seconds: 2, rolloutsPerSecond: 8 });
    expect(s.samples).toEqual([{ prompt: 'q', text: 'a', reward: 1, correct: true }]);
  });
});

describe('checkpointKey', () => {
  it('separates swarms, models and peers, and stays filesystem-safe', async () => {
    const { checkpointKey } = await import('../../../src/worker/persist.ts');
    const a = checkpointKey('s', 'llama-64x2-http___x_models_default_', '12D3KooWA');
    expect(a).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(checkpointKey('s', 'm', 'p1')).not.toBe(checkpointKey('s', 'm', 'p2'));
    expect(checkpointKey('s', 'm/../x', 'p')).not.toContain('/');
    expect(checkpointKey('s'.repeat(300), 'm'.repeat(300), 'p'.repeat(300)).length).toBeLessThanOrEqual(200);
  });
});

describe('rescorePeers', () => {
  it('re-scores every peer completion by our verifier, ignores claims, own and foreign batches', async () => {
    const { rescorePeers } = await import('../../../src/worker/rescore.ts');
    const { generateTask } = await import('../../../src/rl/tasks/index.ts');
    const ref = { family: 'basic_arithmetic', seed: 42, difficulty: 1 };
    const task = generateTask(ref);
    const batch = (peerId: string, texts: string[], extra: Partial<RolloutBatch> = {}): RolloutBatch => ({
      v: 1, swarmId: 's', round: 3, peerId, rollouts: [{ task: ref, completions: texts.map((text) => ({ text, reward: 99 })) }], ...extra,
    });
    const right = `<answer>${task.answer}</answer>`;
    const wrong = '<answer>definitely not it</answer>';
    const score = rescorePeers(
      [
        batch('a', [right, wrong]),
        batch('a', [right, right]), // a second batch from the same peer is not counted twice
        batch('me', [right]),
        batch('b', [wrong], { round: 2 }),
        batch('c', [wrong], { swarmId: 'other' }),
        { ...batch('d', []), rollouts: [{ task: { family: 'nope', seed: 1, difficulty: 1 }, completions: [{ text: right, reward: 1 }] }] },
        batch('e', ['x'.repeat(10_000)]),
      ],
      { swarmId: 's', round: 3, selfPeerId: 'me' },
    );
    expect(score.accuracy).toBe(0.5);
    expect(score.peers).toBe(3); // a, d and e sent batches for this round; only a's were scorable
    expect(score.reward).toBeGreaterThan(0.5);
    expect(score.reward).toBeLessThan(1.2);
    expect(rescorePeers([], { swarmId: 's', round: 3, selfPeerId: 'me' })).toEqual({ reward: null, accuracy: null, peers: 0 });
  });
});
