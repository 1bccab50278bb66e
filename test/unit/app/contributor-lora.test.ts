// LoRA in the worker: a random Qwen3 (real architecture, real Qwen3 tokenizer and generation_config) loaded
// through the worker host with the swarm config's `lora` and `completionBudget`. It trains the adapter only
// (the merged export is base + B A of the exported PEFT adapter), samples within the budget and stops on the
// folder's eos ids, names base fingerprint + adapter hash in its rollouts, refuses peers of another base with
// a reason, checkpoints only the adapter and resumes it (not onto another base), and averages adapters.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRandomQwen3 } from '../../../scripts/model/random-chat-model.ts';
import { memoryFolder, loadHfModel } from '../../../src/engine/hf.ts';
import { loadLoraAdapter } from '../../../src/engine/lora-io.ts';
import { mergeLora } from '../../../src/engine/lora.ts';
import { roundTaskRefs } from '../../../src/rl/round-tasks.ts';
import { generateTask, scoreCompletion } from '../../../src/rl/tasks/index.ts';
import type { RolloutBatch } from '../../../src/rl/transport.ts';
import { runnerConfigFor } from '../../../src/worker/plan.ts';
import { WorkerTransport } from '../../../src/worker/transport.ts';
import { ADAPTER_DIR, baseFingerprint, baseOfCommitment } from '../../../src/worker/adapter.ts';
import { createContributor } from '../../../src/worker/contributor.ts';
import { createInThreadWorker } from '../../../src/worker/in-thread.ts';
import type { LoadOptions, WorkerEvent } from '../../../src/worker/protocol.ts';
import { MemoryStore } from './memory-store.ts';

let dir: string;
let baseFlat: Float32Array;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'contrib-lora-'));
  baseFlat = (await writeRandomQwen3(join(dir, 'qwen3'), { hidden: 32, layers: 2, seed: 9 })).flat;
  await writeRandomQwen3(join(dir, 'other'), { hidden: 32, layers: 2, seed: 10 });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** which folder on disk answers for /models/qwen3/ (a repo whose weights changed under the same URL) */
let qwen3Folder = 'qwen3';
/** the folders on disk as an HTTP server would answer: /models/<folder>/<file> */
const folderFetch: typeof fetch = async (input) => {
  const parts = new URL(String(input instanceof Request ? input.url : input)).pathname.split('/');
  try {
    return new Response(readFileSync(join(dir, parts.at(-2) === 'qwen3' ? qwen3Folder : parts.at(-2)!, parts.at(-1)!)));
  } catch {
    return new Response('not found', { status: 404 });
  }
};

const options = (folder: string, extra: Partial<LoadOptions> = {}): LoadOptions => ({
  modelUrl: `http://127.0.0.1:18301/models/${folder}/`, swarmId: 'lora-unit', peerId: 'me', backend: 'cpu', resume: true,
  lora: { rank: 4, targets: ['q_proj', 'v_proj', 'down_proj'] }, completionBudget: 12, taskMix: { basic_arithmetic: 1 }, ...extra,
});
/**
 * A peer of the same base with its round's own tasks, half of each group right: the signal a random model
 * cannot produce itself (it never writes an answer), so the round takes an optimizer step on the adapter.
 */
function friendBatch(round: number, commitment: string): RolloutBatch {
  const mix = runnerConfigFor(options('qwen3')).tasks;
  return {
    v: 1, swarmId: 'lora-unit', round, peerId: 'friend', modelCommitment: commitment,
    rollouts: roundTaskRefs('lora-unit', round, 'friend', mix, 4).map((ref) => {
      const t = generateTask(ref);
      return { task: ref, completions: [`<answer>${t.answer}</answer>`, '<answer>x</answer>'].map((text) => ({ text, reward: scoreCompletion(t, text).reward })) };
    }),
  };
}
const file = (files: { name: string; data: ArrayBuffer }[], name: string) => new Uint8Array(files.find((f) => f.name === name)!.data);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe('LoRA through the worker host', () => {
  it('trains the adapter only, within the budget, names base + adapter, checkpoints and resumes the adapter', async () => {
    const store = new MemoryStore();
    const events: WorkerEvent[] = [];
    const api = createInThreadWorker({
      probe: async () => ({ webgpu: false, adapter: null, reason: 'test' }),
      createContributor: (o, p) => createContributor(o, p, { fetchFn: folderFetch, cache: 'never' }),
      openStore: async () => store,
    });
    api.onEvent((e) => events.push(e));
    const loaded = await api.load(options('qwen3'));
    const fingerprint = await baseFingerprint((await loadHfModel(memoryFolder(new Map([['config.json', readFileSync(join(dir, 'qwen3', 'config.json'))], ['model.safetensors', readFileSync(join(dir, 'qwen3', 'model.safetensors'))]])))).config, baseFlat);
    expect(loaded.baseFingerprint).toBe(fingerprint);
    expect(loaded.lora).toEqual({ rank: 4, targets: ['q_proj', 'v_proj', 'down_proj'] });
    expect(loaded.completionBudget).toBe(12);
    expect(loaded.weightsFamily).toMatch(/^qwen3-v151936-h32-.*-lora4-q\.v\.down-[0-9a-f]{16}$/);
    expect(loaded.resumedRound).toBeNull();

    const published: RolloutBatch[] = [];
    api.onEvent((e) => void (e.kind === 'publish' && published.push(e.batch)));
    // a peer of another base is refused with the reason, once; a peer naming ours is merged
    await api.deliver({ ...friendBatch(0, 'ab'.repeat(64)), peerId: 'stranger' });
    await api.deliver({ ...friendBatch(1, 'ab'.repeat(64)), peerId: 'stranger' });
    for (const round of [0, 1, 2]) await api.deliver(friendBatch(round, fingerprint + 'cd'.repeat(32)));
    await api.start({ evalEvery: 0 });
    await expect.poll(() => store.saves.length, { timeout: 150_000, interval: 200 }).toBeGreaterThanOrEqual(2);
    const trained = events.flatMap((e) => (e.kind === 'stats' ? [e.stats] : []));
    expect(trained[0].optimizerSteps).toBe(1);
    expect(trained[0].externalByPeer).toEqual({ friend: 4 });
    await api.stop();
    const refusals = events.filter((e) => e.kind === 'warning' && e.message.includes('another base model'));
    expect(refusals).toHaveLength(1);

    // every rollout names base + adapter; the first round's is the fresh adapter, the next one's the trained
    expect(published.length).toBeGreaterThanOrEqual(2);
    for (const b of published) expect(baseOfCommitment(b.modelCommitment)).toBe(fingerprint);
    expect(published[0].modelCommitment).not.toBe(published.at(-1)!.modelCommitment);
    // the swarm's budget bounds every completion: 16 of them, at most 12 tokens each (the default is 24)
    for (const s of trained) expect(s.tokens).toBeLessThanOrEqual(16 * 12);
    expect(Math.max(...trained.map((s) => s.tokens))).toBeGreaterThan(16 * 6);

    // the checkpoint holds the adapter and Adam's moments, not the base
    const checkpoint = (await store.load())!;
    const names = [...checkpoint.tensors.keys()];
    expect(names.some((n) => n.endsWith('q_proj.weight') && !n.includes('lora_'))).toBe(false);
    expect(names.filter((n) => n.includes('.lora_')).length).toBe(2 * 3 * 2);
    expect(checkpoint.meta.base).toBe(fingerprint);

    // the download: merged folder + PEFT adapter; merged = base + B A of that adapter
    const files = await api.exportModel();
    const config = (await loadHfModel(memoryFolder(new Map([['config.json', file(files, 'config.json')], ['model.safetensors', file(files, 'model.safetensors')]])))).config;
    const adapter = await loadLoraAdapter(memoryFolder(new Map([
      ['adapter_config.json', file(files, `${ADAPTER_DIR}adapter_config.json`)], ['adapter_model.safetensors', file(files, `${ADAPTER_DIR}adapter_model.safetensors`)],
    ])), config);
    expect(Math.max(...Array.from(adapter.adapter, Math.abs))).toBeGreaterThan(0);
    const merged = (await loadHfModel(memoryFolder(new Map([['config.json', file(files, 'config.json')], ['model.safetensors', file(files, 'model.safetensors')]])))).flat;
    expect(maxDiff(merged, mergeLora(config, adapter.lora, baseFlat, adapter.adapter))).toBeLessThan(1e-6);
    expect(maxDiff(merged, baseFlat)).toBeGreaterThan(0);
    expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']));

    // a reload resumes the adapter; the same swarm on another base refuses the checkpoint and starts fresh
    const digest = (events.filter((e) => e.kind === 'saved').at(-1) as { weightsDigest: string }).weightsDigest;
    const again = await api.load(options('qwen3'));
    expect(again.resumedRound).toBe(checkpoint.round);
    expect(again.weightsDigest).toBe(digest);
    qwen3Folder = 'other';
    const other = await api.load(options('qwen3'));
    qwen3Folder = 'qwen3';
    expect(other.resumedRound).toBeNull();
    expect(other.baseFingerprint).not.toBe(fingerprint);
    expect(events.some((e) => e.kind === 'warning' && /could not resume \(the checkpoint was trained on another base/.test(e.message))).toBe(true);
    api.terminate();
  }, 200_000);

  it('refuses a base the swarm does not name, and averages adapters (not whole models) with a peer', async () => {
    const load = (o: LoadOptions) => createContributor(o, () => undefined, { fetchFn: folderFetch, cache: 'never' });
    await expect(load(options('qwen3', { baseFingerprint: '0'.repeat(64) }))).rejects.toMatchObject({ name: 'BaseMismatchError' });
    const mine = await load(options('qwen3'));
    const theirs = await load(options('qwen3', { peerId: 'them' }));
    const transport = new WorkerTransport('them', () => undefined);
    transport.deliver(friendBatch(0, (await theirs.modelCommitment!()).slice(0, 64) + 'cd'.repeat(32)));
    expect((await theirs.runRound(0, transport, new AbortController().signal)).optimizerSteps).toBe(1);
    const peerAdapterBytes = file(await theirs.exportModel(), `${ADAPTER_DIR}adapter_model.safetensors`);
    const before = await mine.modelCommitment!();
    await mine.averageWith([peerAdapterBytes]);
    expect(await mine.modelCommitment!()).not.toBe(before);
    // a full model's file is not an adapter: refused by name, the adapter unchanged
    const fullModel = readFileSync(join(dir, 'qwen3', 'model.safetensors'));
    const now = await mine.modelCommitment!();
    await expect(mine.averageWith([new Uint8Array(fullModel)])).rejects.toMatchObject({ name: 'AdapterMismatchError' });
    expect(await mine.modelCommitment!()).toBe(now);
    mine.dispose();
    theirs.dispose();
  }, 120_000);
});
