// The real contributor on the CPU with the shipped default model: "the swarm model" is the elementwise mean
// of this tab's weights and the peers' that pass the average guard (a peer at ours + 0.002 gives ours +
// 0.001), while a far peer (ours + 2), another architecture and a NaN are each left out with a named reason;
// the held-out evaluation answers every held-out task; periodic averaging refuses the far and the NaN peer,
// keeping the weights held, and takes the nearby peer's mean.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors } from '../../../src/engine/safetensors.ts';
import { DEFAULT_TASK_MIX } from '../../../src/rl/defaults.ts';
import { createContributor, HELD_OUT_PER_ENTRY } from '../../../src/worker/contributor.ts';
import type { ExportedFile, LoadOptions } from '../../../src/worker/protocol.ts';
import { AverageRefusedError } from '../../../src/worker/average-guard.ts';
import { SoloTransport } from '../../../src/rl/bus.ts';
import { parseConfig } from '../../../src/engine/config.ts';
import { estimateContributionBytes, runnerConfigFor } from '../../../src/worker/plan.ts';

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

const optionsFor = (swarmId: string) => ({ modelUrl: 'http://models.test/default/', swarmId, peerId: 'me', backend: 'cpu' as const, resume: false });
const load = (options: LoadOptions) => createContributor(options, () => undefined, { fetchFn: localFetch, cache: 'never' });

const file = (files: ExportedFile[], name: string) => new Uint8Array(files.find((f) => f.name === name)!.data);

describe('the contributor\u2019s swarm model and evaluation', () => {
  it('averages with peers\u2019 safetensors, refuses another architecture, and evaluates the held-out set', async () => {
    const contributor = await load(optionsFor('meta'));
    try {
      const own = parseSafetensors(file(await contributor.exportModel(), 'model.safetensors')).tensors;
      const shifted = (by: number) => new Map([...own].map(([name, t]) => [name, { shape: t.shape, data: t.data.map((x) => x + by) }]));
      const plusTwo = shifted(2), nearby = shifted(0.002);
      const [first] = own.keys();
      const wrong = new Map(own);
      wrong.set(first, { shape: [3, 3], data: new Float32Array(9), dtype: 'F32' });
      const broken = new Map([...own].map(([name, t]) => [name, { shape: t.shape, data: t.data.map((x, i) => (i === 0 ? NaN : x)) }]));
      // the swarm model takes each peer whose mean with this tab passes the guard, and names why the others did not
      const made = await contributor.exportAverage([plusTwo, nearby, wrong, broken].map((m) => serializeSafetensors(m)));
      expect(made.models).toBe(2);
      expect(made.refused).toHaveLength(3);
      expect(made.refused[0]).toMatch(/^peer 1: AverageRefusedError: the mean answers the probe worse than this tab.s model and the swarm.s start/);
      expect(made.refused[1]).toMatch(/^peer 3: Error: the peer's model does not fit this swarm's model/);
      expect(made.refused[2]).toMatch(/^peer 4: MetaModelError: model 1 has a non-finite value/);
      const files = made.files;
      expect(files.map((f) => f.name).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
      const mean = parseSafetensors(file(files, 'model.safetensors')).tensors;
      expect([...mean.keys()].sort()).toEqual([...own.keys()].sort());
      for (const [name, t] of own) {
        const m = mean.get(name)!.data;
        let worst = 0;
        for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(m[i] - (t.data[i] + 0.001)));
        expect(worst, name).toBeLessThan(1e-6);
      }
      // exporting an average leaves the tab's own weights alone
      const after = parseSafetensors(file(await contributor.exportModel(), 'model.safetensors')).tensors;
      for (const [name, t] of own) expect(after.get(name)!.data).toEqual(t.data);
      // nobody passing: the swarm model is this tab's alone, and says so
      const alone = await contributor.exportAverage([serializeSafetensors(plusTwo)]);
      expect(alone.models).toBe(1);
      expect(parseSafetensors(file(alone.files, 'model.safetensors')).tensors.get(first)!.data).toEqual(own.get(first)!.data);

      const point = await contributor.evaluate!(-1, new AbortController().signal);
      expect(point.round).toBe(-1);
      expect(point.tasks).toBe(DEFAULT_TASK_MIX.length * HELD_OUT_PER_ENTRY);
      expect(point.accuracy).toBeGreaterThanOrEqual(0);
      expect(point.accuracy).toBeLessThanOrEqual(1);
      // the shipped model was pretrained on this format: most of its greedy answers are well-formed
      expect(point.formatRate).toBeGreaterThan(0.5);

      // periodic averaging refuses a mean that wrecks the probe's answers (ours + 1 everywhere) and keeps the weights held
      const before = await contributor.saveState();
      await expect(contributor.averageWith([serializeSafetensors(plusTwo)])).rejects.toThrow(AverageRefusedError);
      await expect(contributor.averageWith([serializeSafetensors(plusTwo)])).rejects.toThrow(/answers the probe worse than this tab.s model and the swarm.s start \(NLL per answer token: mean \d+\.\d{3}/);
      const kept = parseSafetensors(file(await contributor.exportModel(), 'model.safetensors')).tensors;
      for (const [name, t] of own) expect(kept.get(name)!.data, name).toEqual(t.data);
      // a peer with NaN weights is refused by the mean itself, by name
      await expect(contributor.averageWith([serializeSafetensors(broken)])).rejects.toThrow(/model 1 has a non-finite value/);
      // a nearby peer (ours + 0.002) passes: the weights held become the mean (ours + 0.001) and Adam's state stays
      await contributor.averageWith([serializeSafetensors(nearby)]);
      const averagedOwn = parseSafetensors(file(await contributor.exportModel(), 'model.safetensors')).tensors;
      for (const [name, t] of own) {
        const m = averagedOwn.get(name)!.data;
        expect(Math.max(...m.map((x, i) => Math.abs(x - (t.data[i] + 0.001)))), name).toBeLessThan(1e-6);
      }
      const afterState = await contributor.saveState();
      expect(afterState.meta.steps).toBe(before.meta.steps);
      expect(afterState.tensors.get('adam.m')!.data).toEqual(before.tensors.get('adam.m')!.data);
    } finally {
      contributor.dispose();
    }
  });

  it('a swarm-model download asked for mid-round waits for the round and averages the weights it left', async () => {
    const contributor = await load(optionsFor('meta-serial'));
    try {
      const before = parseSafetensors(file(await contributor.exportModel(), 'model.safetensors')).tensors;
      const nearby = serializeSafetensors(new Map([...before].map(([name, t]) => [name, { shape: t.shape, data: t.data.map((x) => x + 0.002) }])));
      const order: string[] = [];
      const round = contributor.runRound(0, new SoloTransport('me'), new AbortController().signal).then((stats) => { order.push('round'); return stats; });
      // asked while the round samples and trains: twice at once, and an export of the weights beside them
      const made = [contributor.exportAverage([nearby]), contributor.exportAverage([nearby])].map((p) => p.then((m) => { order.push('average'); return m; }));
      const plain = contributor.exportModel().then((f) => { order.push('export'); return f; });
      expect((await round).optimizerSteps).toBeGreaterThan(0);
      const [first, second] = await Promise.all(made);
      const after = parseSafetensors(file(await plain, 'model.safetensors')).tensors;
      expect(order).toEqual(['round', 'average', 'average', 'export']);
      // the round moved the weights; both downloads are the mean of the trained weights and the peer's
      let moved = 0;
      for (const [name, t] of before) moved = Math.max(moved, ...after.get(name)!.data.map((x, i) => Math.abs(x - t.data[i])));
      expect(moved).toBeGreaterThan(1e-5);
      for (const m of [first, second]) {
        expect(m.models).toBe(2);
        expect(m.refused).toEqual([]);
        const mean = parseSafetensors(file(m.files, 'model.safetensors')).tensors;
        for (const [name, t] of after) {
          const want = before.get(name)!.data;
          expect(Math.max(...mean.get(name)!.data.map((x, i) => Math.abs(x - (t.data[i] + want[i] + 0.002) / 2))), name).toBeLessThan(1e-6);
        }
      }
    } finally {
      contributor.dispose();
    }
  }, 120_000);

  it('refuses an average and a swarm-model download by name when the budget has no room for a second engine', async () => {
    const options = optionsFor('meta-budget');
    const config = parseConfig(JSON.parse(readFileSync(folder + 'config.json', 'utf8')));
    // room for the running engine, not for a second one beside it
    const memoryBudgetBytes = estimateContributionBytes(config, runnerConfigFor(options)).total + 1024;
    const contributor = await load({ ...options, memoryBudgetBytes });
    try {
      const own = await contributor.exportModel();
      const peer = file(own, 'model.safetensors');
      await expect(contributor.averageWith([peer])).rejects.toMatchObject({ name: 'ModelTooLargeError', message: expect.stringMatching(/^a second copy of this model/) });
      await expect(contributor.exportAverage([peer])).rejects.toMatchObject({ name: 'ModelTooLargeError' });
      // the tab trains on with the weights it held
      expect(file(await contributor.exportModel(), 'model.safetensors')).toEqual(peer);
      expect((await contributor.runRound(0, new SoloTransport('me'), new AbortController().signal)).optimizerSteps).toBeGreaterThan(0);
    } finally {
      contributor.dispose();
    }
  }, 120_000);

  it('keeps peers that pass alone but pull the same way (sybils) from adding up past the guard in the swarm model', async () => {
    const contributor = await load(optionsFor('meta-sybil'));
    try {
      const own = parseSafetensors(file(await contributor.exportModel(), 'model.safetensors')).tensors;
      // one fixed direction: ±1 per element, seeded
      let seed = 11;
      const direction = new Map([...own].map(([name, t]) => [name, t.data.map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 1 ? 1 : -1)]));
      const along = (c: number) => serializeSafetensors(new Map([...own].map(([name, t]) => {
        const d = direction.get(name)!;
        return [name, { shape: t.shape, data: t.data.map((x, i) => x + c * d[i]) }];
      })));
      const keptAlone = async (c: number) => (await contributor.exportAverage([along(c)])).models === 2;
      // c*: where a single peer at ours + c·d stops passing (its mean is ours + c/2·d)
      let lo = 0, hi = 0.01;
      while (await keptAlone(hi)) { lo = hi; hi *= 2; expect(hi).toBeLessThan(100); }
      for (let step = 0; step < 10; step++) {
        const mid = (lo + hi) / 2;
        if (await keptAlone(mid)) lo = mid; else hi = mid;
      }
      // two sybils at 0.875 c*: each alone gives ours + 0.44 c*·d (passes: below c*/2), both at once ours + 0.58 c*·d (would not)
      const c = 0.875 * lo;
      expect(await keptAlone(c)).toBe(true);
      const made = await contributor.exportAverage([along(c), along(c)]);
      expect(made.models).toBe(2);
      expect(made.refused).toEqual([expect.stringMatching(/^peer 2: AverageRefusedError: with the 1 peer kept before it, the mean answers the probe worse/)]);
      // the file is the pair's mean, not the three-way one
      const mean = parseSafetensors(file(made.files, 'model.safetensors')).tensors;
      for (const [name, t] of own) {
        const d = direction.get(name)!;
        expect(Math.max(...mean.get(name)!.data.map((x, i) => Math.abs(x - (t.data[i] + (c / 2) * d[i])))), name).toBeLessThan(1e-5);
      }
    } finally {
      contributor.dispose();
    }
  }, 180_000);
});
