// The worker's whole path in Chromium, in-thread: download an HF folder (generated tiny weights + the shipped
// tokenizer), run real rounds (engine + RL runner), checkpoint to real OPFS, resume in a fresh host with the
// same weights, export an HF folder that loads again. Only the model bytes are served by a test fetch.
import { describe, expect, it } from 'vitest';
import { initWeights, tinyConfig, unpackWeights } from '../../src/engine/index.ts';
import { loadHfModel, memoryFolder } from '../../src/engine/hf.ts';
import { serializeSafetensors } from '../../src/engine/safetensors.ts';
import { createContributor } from '../../src/worker/contributor.ts';
import { createInThreadWorker } from '../../src/worker/in-thread.ts';
import { openCheckpointStore } from '../../src/worker/persist.ts';
import type { BackendChoice, LoadOptions, RoundStats, WorkerEvent } from '../../src/worker/protocol.ts';

const config = tinyConfig({ vocab_size: 384, hidden_size: 32, intermediate_size: 64, max_position_embeddings: 128 });
const weights = unpackWeights(config, initWeights(config, 7));
const files: Record<string, Uint8Array> = {
  'config.json': new TextEncoder().encode(JSON.stringify(config)),
  'model.safetensors': serializeSafetensors(weights),
};

/** generated model files; everything else (the tokenizer) from the shipped default model */
const testFetch: typeof fetch = async (input, init) => {
  const url = new URL(String(input instanceof Request ? input.url : input));
  const name = url.pathname.split('/').pop()!;
  if (files[name]) return new Response(files[name].slice(), { headers: { 'content-length': String(files[name].length) } });
  return fetch(input, init);
};

function host(backend: BackendChoice) {
  const api = createInThreadWorker({
    probe: async () => ({ webgpu: true, adapter: 'test', reason: null }),
    createContributor: (options, onProgress) => createContributor(options, onProgress, { fetchFn: testFetch }),
    openStore: (key) => openCheckpointStore(key),
  });
  const events: WorkerEvent[] = [];
  api.onEvent((e) => events.push(e));
  const stats = () => events.flatMap((e) => (e.kind === 'stats' ? [e.stats] : []));
  const until = async (pred: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!pred()) {
      const failed = events.find((e) => e.kind === 'phase' && e.phase === 'error');
      if (failed) throw new Error(`worker failed: ${JSON.stringify(failed)}`);
      if (Date.now() > end) throw new Error(`timed out; events: ${events.map((e) => e.kind).join(',')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { api, events, stats, until };
}

for (const backend of ['cpu', 'webgpu'] as const) {
  describe(`contributing in the browser (${backend})`, () => {
    it('loads with progress, runs a round, checkpoints, resumes with the same weights and exports', async () => {
      const swarmId = `app-test-${backend}-${Date.now()}`;
      const options: LoadOptions = { modelUrl: `${location.origin}/models/default/`, swarmId, peerId: '12D3KooWtest', backend, resume: true };
      const first = host(backend);
      const loaded = await first.api.load(options);
      expect(loaded.backend).toBe(backend);
      expect(loaded.parameterCount).toBe(weights.size > 0 ? [...weights.values()].reduce((s, t) => s + t.data.length, 0) : 0);
      expect(loaded.resumedRound).toBeNull();
      const downloads = first.events.flatMap((e) => (e.kind === 'progress' && e.progress.stage === 'download' ? [e.progress] : []));
      expect(downloads.some((p) => p.item === 'model.safetensors' && p.percent === 100)).toBe(true);

      await first.api.start({});
      await first.until(() => first.events.some((e) => e.kind === 'saved'), 90_000);
      await first.api.stop();
      const s: RoundStats = first.stats()[0];
      expect(s.round).toBe(0);
      expect(s.localRollouts).toBe(16);
      expect(s.tokens).toBeGreaterThan(0);
      expect(s.tokensPerSecond).toBeGreaterThan(0);
      expect(s.ownReward).toBeGreaterThanOrEqual(0);
      expect(first.events.some((e) => e.kind === 'publish' && e.batch.rollouts.length === 4)).toBe(true);
      expect(first.events.some((e) => e.kind === 'stage' && e.stage === 'training')).toBe(true);
      const saved = first.events.filter((e) => e.kind === 'saved').at(-1) as { round: number };
      const exported = await first.api.exportModel();
      // generation_config.json rides along when the folder has one
      expect(exported.map((f) => f.name).filter((n) => n !== 'generation_config.json').sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
      const trained = await loadHfModel(memoryFolder(new Map(exported.map((f) => [f.name, new Uint8Array(f.data)]))));
      expect([...trained.weights.values()].reduce((n, t) => n + t.data.length, 0)).toBe(loaded.parameterCount);
      first.api.terminate();

      // Random weights rarely earn a reward, so the step may not move them: mark the stored checkpoint's
      // weights so that resuming from it (rather than from the download) is visible.
      const key = (await import('../../src/worker/persist.ts')).checkpointKey(swarmId, loaded.modelId, options.peerId);
      const store = (await openCheckpointStore(key))!;
      const checkpoint = (await store.load())!;
      expect(checkpoint.round).toBe(saved.round);
      const embed = checkpoint.tensors.get('model.embed_tokens.weight')!;
      embed.data[0] = 0.125;
      await store.save(checkpoint);

      // a reload: a fresh host finds the checkpoint and resumes with its weights
      const second = host(backend);
      const again = await second.api.load(options);
      expect(again.resumedRound).toBe(saved.round);
      const resumed = await loadHfModel(memoryFolder(new Map((await second.api.exportModel()).map((f) => [f.name, new Uint8Array(f.data)]))));
      expect(resumed.weights.get('model.embed_tokens.weight')!.data[0]).toBe(0.125);
      expect([...resumed.flat.filter((v, i) => v !== trained.flat[i])]).toEqual([0.125]);
      await second.api.reset();
      expect((await second.api.load(options)).resumedRound).toBeNull();
      second.api.terminate();
    });
  });
}

describe('model downloads', () => {
  it('report progress, fetch each file once per load, and come from Cache Storage on the next visit', async () => {
    const { progressSource, MODEL_CACHE } = await import('../../src/worker/contributor.ts');
    await caches.delete(MODEL_CACHE);
    const cache = await caches.open(MODEL_CACHE);
    let fetches = 0;
    const counting: typeof fetch = async (input, init) => {
      fetches++;
      return testFetch(input, init);
    };
    const base = `${location.origin}/cache-test-${Date.now()}/`;
    const percents: (number | null)[] = [];
    const first = progressSource(base, (p) => percents.push(p.percent), counting, cache);
    const bytes = await first.read('model.safetensors');
    expect(bytes).toEqual(files['model.safetensors']);
    expect(await first.read('model.safetensors')).toBe(bytes); // the second read of a load is free
    expect(fetches).toBe(1);
    expect(percents.at(-1)).toBe(100);
    const later = progressSource(base, () => undefined, counting, cache);
    expect(await later.read('model.safetensors')).toEqual(files['model.safetensors']);
    expect(fetches).toBe(1);
    await caches.delete(MODEL_CACHE);
  });
});
