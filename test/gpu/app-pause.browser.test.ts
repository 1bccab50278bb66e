// Pause mid-round on the real engine and RL runner in Chromium (in-thread host, CPU and WebGPU): a pause
// that arrives while the round is sampling aborts it between decode steps. The round publishes nothing,
// takes no training step and is not checkpointed; the model exports unchanged while paused; resume runs
// the same round again to completion.
import { describe, expect, it } from 'vitest';
import { initWeights, tinyConfig, unpackWeights } from '../../src/engine/index.ts';
import { serializeSafetensors } from '../../src/engine/safetensors.ts';
import { createContributor } from '../../src/worker/contributor.ts';
import { createInThreadWorker } from '../../src/worker/in-thread.ts';
import { openCheckpointStore } from '../../src/worker/persist.ts';
import type { LoadOptions, WorkerEvent } from '../../src/worker/protocol.ts';

const config = tinyConfig({ vocab_size: 384, hidden_size: 32, intermediate_size: 64, max_position_embeddings: 128 });
const files: Record<string, Uint8Array> = {
  'config.json': new TextEncoder().encode(JSON.stringify(config)),
  'model.safetensors': serializeSafetensors(unpackWeights(config, initWeights(config, 11, 0.5))),
};
const testFetch: typeof fetch = async (input, init) => {
  const name = new URL(String(input instanceof Request ? input.url : input)).pathname.split('/').pop()!;
  if (files[name]) return new Response(files[name].slice());
  return fetch(input, init);
};

for (const backend of ['cpu', 'webgpu'] as const) {
  describe(`pause mid-round (${backend})`, () => {
    it('drops the sampling round whole and reruns it on resume', async () => {
      const options: LoadOptions = { modelUrl: `${location.origin}/models/default/`, swarmId: `pause-${backend}-${Date.now()}`, peerId: 'p', backend, resume: false };
      const api = createInThreadWorker({
        probe: async () => ({ webgpu: true, adapter: 'test', reason: null }),
        createContributor: (o, onProgress) => createContributor(o, onProgress, { fetchFn: testFetch, cache: 'never' }),
        openStore: (key) => openCheckpointStore(key),
      });
      const events: WorkerEvent[] = [];
      let pausedAt: number | null = null;
      api.onEvent((e) => {
        events.push(e);
        // the pause goes out the moment the first round starts sampling
        if (pausedAt === null && e.kind === 'stage' && e.stage === 'sampling') {
          pausedAt = e.round;
          void api.pause();
        }
      });
      const loaded = await api.load(options);
      expect(loaded.backend).toBe(backend);
      await api.start({});
      const until = async (pred: () => boolean, ms: number) => {
        const end = Date.now() + ms;
        while (!pred()) {
          if (Date.now() > end) throw new Error(`timed out; events: ${events.map((e) => (e.kind === 'stage' ? e.stage : e.kind)).join(',')}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await until(() => events.some((e) => e.kind === 'phase' && e.phase === 'paused'), 30_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(pausedAt).toBe(0);
      expect(events).toContainEqual({ kind: 'phase', phase: 'paused', detail: expect.stringMatching(/mid-round/) });
      expect(events.filter((e) => ['publish', 'stats', 'saved'].includes(e.kind))).toEqual([]);
      expect(events.some((e) => e.kind === 'phase' && e.phase === 'error')).toBe(false);
      // nothing trained: the model exports as it was downloaded (and export is not blocked by the pause)
      const exported = await api.exportModel();
      const safetensors = exported.find((f) => f.name === 'model.safetensors')!;
      expect(new Uint8Array(safetensors.data)).toEqual(files['model.safetensors']);

      await api.resume();
      await until(() => events.some((e) => e.kind === 'saved'), 90_000);
      await api.stop();
      const stats = events.flatMap((e) => (e.kind === 'stats' ? [e.stats.round] : []));
      expect(stats[0]).toBe(0);
      expect(events.filter((e) => e.kind === 'publish').map((e) => (e as { batch: { round: number } }).batch.round)[0]).toBe(0);
      await api.reset();
      api.terminate();
    });
  });
}
