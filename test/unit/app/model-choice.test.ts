// Choosing a model: the swarm config's LoRA / budget / base / hub fields (bounded, named errors), repo ids
// under a configurable hub, the size and memory estimate from config.json alone (LoRA shrinks it), offline
// said plainly, and the completion budget rule (the swarm's wins; a folder may only shorten the default).
import { describe, expect, it } from 'vitest';
import { qwen25_05BConfig } from '../../../src/engine/config.ts';
import { describeEstimate, estimateModel, OfflineError, swarmLoadOptions } from '../../../src/app/lib/model-choice.ts';
import { resolveModelUrl } from '../../../src/app/lib/model-source.ts';
import { parseSwarmConfig, SwarmConfigError } from '../../../src/swarm/config.ts';
import { DEFAULT_COMPLETION_TOKENS, runnerConfigFor, sampleBudget } from '../../../src/worker/plan.ts';

const PAGE = 'http://127.0.0.1:5173/';
const minimal = { swarmId: 'real', relayAddrs: ['/ip4/127.0.0.1/tcp/9090/ws'], local: true };

describe('swarm config: a real model', () => {
  it('keeps lora, completionBudget, baseFingerprint and hubUrl, and hands the worker what it needs', () => {
    const config = parseSwarmConfig({
      ...minimal, modelId: 'Qwen/Qwen3-0.6B', lora: { rank: 16, targets: ['q_proj', 'v_proj'] }, completionBudget: 256,
      baseFingerprint: 'a'.repeat(64), hubUrl: 'http://127.0.0.1:18302/hub',
    });
    expect(config.lora).toEqual({ rank: 16, targets: ['q_proj', 'v_proj'] });
    expect(config.hubUrl).toBe('http://127.0.0.1:18302/hub/');
    expect(swarmLoadOptions(config)).toEqual({ taskMix: {}, lora: { rank: 16, targets: ['q_proj', 'v_proj'] }, completionBudget: 256, baseFingerprint: 'a'.repeat(64) });
    expect(swarmLoadOptions(parseSwarmConfig(minimal))).toEqual({ taskMix: {} });
  });

  it('refuses what no honest swarm asks for, by name', () => {
    const bad: Record<string, unknown>[] = [
      { lora: { rank: 0 } }, { lora: { rank: 257 } }, { lora: { rank: 8, targets: [] } }, { lora: { rank: 8, targets: Array(8).fill('q_proj') } },
      { lora: 'all' }, { completionBudget: 0 }, { completionBudget: 5000 }, { completionBudget: 1.5 }, { baseFingerprint: 'xyz' },
      { hubUrl: 'ftp://hub' }, { hubUrl: 'http://hub/?a=1' },
    ];
    for (const extra of bad) expect(() => parseSwarmConfig({ ...minimal, ...extra }), JSON.stringify(extra)).toThrow(SwarmConfigError);
  });
});

describe('model choice', () => {
  it('resolves repo ids under the swarm\'s hub', () => {
    expect(resolveModelUrl('Qwen/Qwen3-0.6B', PAGE, 'http://127.0.0.1:18302/hub/')).toBe('http://127.0.0.1:18302/hub/Qwen/Qwen3-0.6B/resolve/main/');
    expect(resolveModelUrl('Qwen/Qwen3-0.6B@abc', PAGE, 'http://127.0.0.1:18302/hub')).toBe('http://127.0.0.1:18302/hub/Qwen/Qwen3-0.6B/resolve/abc/');
  });

  it('estimates from config.json alone; a LoRA swarm needs less; offline says so before any fetch', async () => {
    const fetched: string[] = [];
    const fetchFn: typeof fetch = async (url) => {
      fetched.push(String(url));
      return new Response(JSON.stringify(qwen25_05BConfig()));
    };
    const swarm = parseSwarmConfig({ ...minimal, hubUrl: 'http://127.0.0.1:18302/' });
    const full = await estimateModel('Qwen/Qwen2.5-0.5B', swarm, PAGE, 8 * 2 ** 30, { fetchFn, online: () => true });
    expect(fetched).toEqual(['http://127.0.0.1:18302/Qwen/Qwen2.5-0.5B/resolve/main/config.json']);
    expect(full.parameters).toBeGreaterThan(4e8);
    const lora = await estimateModel('Qwen/Qwen2.5-0.5B', { ...swarm, lora: { rank: 16 } }, PAGE, 8 * 2 ** 30, { fetchFn, online: () => true });
    expect(lora.neededBytes).toBeLessThan(0.8 * full.neededBytes);
    expect(describeEstimate(lora)).toMatch(/^Qwen\/Qwen2\.5-0\.5B \(qwen2, 0\.49 B parameters, trained through a rank-16 LoRA adapter\) (needs|is too large: needs) about [\d.]+ GiB of memory; this tab allows 8\.0 GiB\.$/);
    expect(describeEstimate({ ...full, budgetBytes: 2 ** 20, fits: false })).toContain('is too large');
    await expect(estimateModel('Qwen/Qwen2.5-0.5B', swarm, PAGE, 2 ** 30, { fetchFn, online: () => false })).rejects.toThrow(OfflineError);
    await expect(estimateModel('Qwen/Qwen2.5-0.5B', swarm, PAGE, 2 ** 30, { fetchFn, online: () => false })).rejects.toThrow(/offline/);
    expect(fetched).toHaveLength(2);
    // the app's own models need no network
    await expect(estimateModel('tabswarm-tiny', swarm, PAGE, 2 ** 30, { fetchFn, online: () => false })).resolves.toMatchObject({ modelId: 'tabswarm-tiny' });
    const unreachable: typeof fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    await expect(estimateModel('a/b', swarm, PAGE, 2 ** 30, { fetchFn: unreachable, online: () => true })).rejects.toThrow(OfflineError);
  });

  it('the completion budget: the swarm\'s wins; a model folder may only shorten the default', () => {
    expect(sampleBudget(undefined, null)).toBe(DEFAULT_COMPLETION_TOKENS);
    expect(sampleBudget(200, null)).toBe(200);
    expect(sampleBudget(200, 8)).toBe(200);
    expect(sampleBudget(undefined, 8)).toBe(8);
    expect(sampleBudget(undefined, 32768)).toBe(DEFAULT_COMPLETION_TOKENS);
    const base = { modelUrl: '', swarmId: 's', peerId: 'p', backend: 'cpu' as const, resume: false };
    expect(runnerConfigFor({ ...base, completionBudget: 64 }).sampling.maxNewTokens).toBe(64);
    expect(runnerConfigFor(base, 10).sampling.maxNewTokens).toBe(10);
  });
});
