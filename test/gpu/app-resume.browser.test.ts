// A resumed contributor holds the optimizer state it checkpointed: Adam's m, v and step count go to real
// OPFS with the weights and come back bit-identical into a fresh contributor's engine (CPU and WebGPU).
// A checkpoint from before the moments were saved still loads, with fresh moments; a damaged one is refused
// without touching the running engine.
import { describe, expect, it } from 'vitest';
import { initWeights, tinyConfig, unpackWeights } from '../../src/engine/index.ts';
import { paramLayout, tensorElements } from '../../src/engine/layout.ts';
import { serializeSafetensors } from '../../src/engine/safetensors.ts';
import { createContributor, optimizerStateOf } from '../../src/worker/contributor.ts';
import { checkpointKey, openCheckpointStore } from '../../src/worker/persist.ts';
import type { LoadOptions } from '../../src/worker/protocol.ts';

const config = tinyConfig({ vocab_size: 384, hidden_size: 32, intermediate_size: 64, max_position_embeddings: 128 });
const files: Record<string, Uint8Array> = {
  'config.json': new TextEncoder().encode(JSON.stringify(config)),
  'model.safetensors': serializeSafetensors(unpackWeights(config, initWeights(config, 3))),
};
const testFetch: typeof fetch = async (input, init) => {
  const name = new URL(String(input instanceof Request ? input.url : input)).pathname.split('/').pop()!;
  if (files[name]) return new Response(files[name].slice());
  return fetch(input, init);
};
const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

for (const backend of ['cpu', 'webgpu'] as const) {
  describe(`optimizer state across a reload (${backend})`, () => {
    it('saves m, v and steps to OPFS and a fresh contributor restores them exactly', async () => {
      const options: LoadOptions = { modelUrl: `${location.origin}/models/default/`, swarmId: `resume-${backend}-${Date.now()}`, peerId: 'p', backend, resume: true };
      const make = () => createContributor(options, () => undefined, { fetchFn: testFetch, cache: 'never' });
      const first = await make();
      expect(first.backend).toBe(backend);
      const state = await first.saveState();
      const fresh = optimizerStateOf(state)!;
      expect(fresh.steps).toBe(0);
      // the moments cover the flat buffer, rows aligned to 64 elements; the parameter count is the tensors' own
      expect(fresh.m.length).toBe(paramLayout(config).size);
      expect(first.parameterCount).toBe(tensorElements(paramLayout(config)));
      // untrained moments are zeros: put distinctive values in (as training would) so the round trip shows
      const m = Float32Array.from(fresh.m, (_, i) => Math.sin(i) * 1e-3);
      const v = Float32Array.from(fresh.v, (_, i) => (1 + Math.cos(i)) * 1e-6);
      await first.loadState({ ...state, round: 0, meta: { ...state.meta, steps: 5 }, tensors: new Map([...state.tensors, ['adam.m', { shape: [m.length], data: m }], ['adam.v', { shape: [v.length], data: v }]]) });
      const store = (await openCheckpointStore(checkpointKey(options.swarmId, first.modelId, options.peerId), { prefer: 'opfs' }))!;
      expect(store.kind).toBe('opfs');
      await store.save({ ...(await first.saveState()), round: 4 });
      first.dispose();

      const second = await make();
      const checkpoint = (await store.load())!;
      expect(checkpoint.round).toBe(4);
      await second.loadState(checkpoint);
      const resumed = optimizerStateOf(await second.saveState())!;
      expect(resumed.steps).toBe(5);
      expect(bits(resumed.m)).toEqual(bits(m));
      expect(bits(resumed.v)).toEqual(bits(v));

      // an old checkpoint (weights only): loads, moments start fresh
      const old = new Map([...checkpoint.tensors].filter(([name]) => !name.startsWith('adam.')));
      await second.loadState({ ...checkpoint, meta: { backend }, tensors: old });
      const restarted = optimizerStateOf(await second.saveState())!;
      expect(restarted.steps).toBe(0);
      expect(restarted.m.every((x) => x === 0) && restarted.v.every((x) => x === 0)).toBe(true);

      // moments of the wrong size: a named error, and the engine in use keeps its state
      const digest = await second.weightsDigest();
      const short = new Map(checkpoint.tensors).set('adam.m', { shape: [3], data: new Float32Array(3) });
      await expect(second.loadState({ ...checkpoint, tensors: short })).rejects.toMatchObject({ name: 'WeightsMismatchError' });
      expect(await second.weightsDigest()).toBe(digest);
      expect(optimizerStateOf(await second.saveState())!.steps).toBe(0);
      second.dispose();
      await store.clear();
    });
  });
}
