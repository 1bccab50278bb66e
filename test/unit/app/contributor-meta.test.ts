// The real contributor on the CPU with the shipped default model: "the swarm model" is the elementwise mean
// of this tab's weights and peers' (checked against a peer whose every weight is ours + 2: the mean is ours
// + 1), another architecture is refused by name, and the held-out evaluation answers every held-out task.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors } from '../../../src/engine/safetensors.ts';
import { DEFAULT_TASK_MIX } from '../../../src/rl/defaults.ts';
import { createContributor, HELD_OUT_PER_ENTRY } from '../../../src/worker/contributor.ts';
import type { ExportedFile } from '../../../src/worker/protocol.ts';

const folder = fileURLToPath(new URL('../../../public/models/default/', import.meta.url));
const localFetch: typeof fetch = async (input) => {
  const name = new URL(String(input instanceof Request ? input.url : input)).pathname.split('/').pop()!;
  try {
    const bytes = readFileSync(folder + name);
    return new Response(bytes, { headers: { 'content-length': String(bytes.length) } });
  } catch {
    return new Response('not found', { status: 404 });
  }
};

const file = (files: ExportedFile[], name: string) => new Uint8Array(files.find((f) => f.name === name)!.data);

describe('the contributor\u2019s swarm model and evaluation', () => {
  it('averages with peers\u2019 safetensors, refuses another architecture, and evaluates the held-out set', async () => {
    const contributor = await createContributor(
      { modelUrl: 'http://models.test/default/', swarmId: 'meta', peerId: 'me', backend: 'cpu', resume: false },
      () => undefined,
      { fetchFn: localFetch, cache: 'never' },
    );
    try {
      const own = parseSafetensors(file(await contributor.exportModel(), 'model.safetensors')).tensors;
      const plusTwo = new Map([...own].map(([name, t]) => [name, { shape: t.shape, data: t.data.map((x) => x + 2) }]));
      const files = await contributor.exportAverage([serializeSafetensors(plusTwo)]);
      expect(files.map((f) => f.name).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
      const mean = parseSafetensors(file(files, 'model.safetensors')).tensors;
      expect([...mean.keys()].sort()).toEqual([...own.keys()].sort());
      for (const [name, t] of own) {
        const m = mean.get(name)!.data;
        let worst = 0;
        for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(m[i] - (t.data[i] + 1)));
        expect(worst, name).toBeLessThan(1e-6);
      }
      // exporting an average leaves the tab's own weights alone
      const after = parseSafetensors(file(await contributor.exportModel(), 'model.safetensors')).tensors;
      for (const [name, t] of own) expect(after.get(name)!.data).toEqual(t.data);

      const [first] = own.keys();
      const wrong = new Map(own);
      wrong.set(first, { shape: [3, 3], data: new Float32Array(9), dtype: 'F32' });
      await expect(contributor.exportAverage([serializeSafetensors(wrong)])).rejects.toThrow(/peer model 1 does not fit this swarm's model/);

      const point = await contributor.evaluate!(-1, new AbortController().signal);
      expect(point.round).toBe(-1);
      expect(point.tasks).toBe(DEFAULT_TASK_MIX.length * HELD_OUT_PER_ENTRY);
      expect(point.accuracy).toBeGreaterThanOrEqual(0);
      expect(point.accuracy).toBeLessThanOrEqual(1);
      // the shipped model was pretrained on this format: most of its greedy answers are well-formed
      expect(point.formatRate).toBeGreaterThan(0.5);

      // periodic averaging replaces the weights held with the mean and keeps Adam's state
      const before = await contributor.saveState();
      await contributor.averageWith([serializeSafetensors(plusTwo)]);
      const averagedOwn = parseSafetensors(file(await contributor.exportModel(), 'model.safetensors')).tensors;
      for (const [name, t] of own) {
        const m = averagedOwn.get(name)!.data;
        expect(Math.max(...m.map((x, i) => Math.abs(x - (t.data[i] + 1)))), name).toBeLessThan(1e-6);
      }
      const afterState = await contributor.saveState();
      expect(afterState.meta.steps).toBe(before.meta.steps);
      expect(afterState.tensors.get('adam.m')!.data).toEqual(before.tensors.get('adam.m')!.data);
    } finally {
      contributor.dispose();
    }
  });
});
