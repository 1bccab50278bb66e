// Checkpoints in real browser storage: OPFS (the default) and the IndexedDB fallback, in headless Chromium.
import { describe, expect, it } from 'vitest';
import { openCheckpointStore, type Checkpoint } from '../../src/worker/persist.ts';

function checkpoint(round: number, fill: number): Checkpoint {
  const big = new Float32Array(300_000).map((_, i) => fill + i * 1e-3);
  return {
    round,
    modelId: 'tiny',
    meta: { step: round + 1 },
    tensors: new Map([
      ['model.embed_tokens.weight', { shape: [600, 500], data: big }],
      ['adam.m.model.embed_tokens.weight', { shape: [3], data: Float32Array.from([fill, -fill, 0]) }],
    ]),
  };
}

for (const prefer of ['opfs', 'indexeddb'] as const) {
  describe(`checkpoint store: ${prefer}`, () => {
    it('saves, loads back bit-identically, overwrites with the newer round, and clears', async () => {
      const key = `test-${prefer}-${Math.random().toString(36).slice(2)}`;
      const store = await openCheckpointStore(key, { prefer });
      expect(store?.kind).toBe(prefer);
      expect(await store!.load()).toBeNull();

      const bytes = await store!.save(checkpoint(3, 1));
      expect(bytes).toBeGreaterThan(1_200_000);
      await store!.save(checkpoint(4, 2));

      // a second handle on the same key sees it, as a reloaded tab would
      const reopened = await openCheckpointStore(key, { prefer });
      const back = await reopened!.load();
      expect(back?.round).toBe(4);
      expect(back?.meta).toEqual({ step: 5 });
      const want = checkpoint(4, 2).tensors.get('model.embed_tokens.weight')!.data;
      const got = back!.tensors.get('model.embed_tokens.weight')!.data;
      expect(got.length).toBe(want.length);
      expect(new Uint32Array(got.buffer).every((v, i) => v === new Uint32Array(want.buffer)[i])).toBe(true);

      await reopened!.clear();
      expect(await store!.load()).toBeNull();
    });

    it('keys are separate: another swarm sees nothing', async () => {
      const a = await openCheckpointStore(`a-${prefer}-${Date.now()}`, { prefer });
      const b = await openCheckpointStore(`b-${prefer}-${Date.now()}`, { prefer });
      await a!.save(checkpoint(1, 1));
      expect(await b!.load()).toBeNull();
      await a!.clear();
    });
  });
}
