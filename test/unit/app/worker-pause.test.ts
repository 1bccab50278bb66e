// Pause and stop mid-round through the worker protocol and the round loop: the round in flight is aborted
// (its signal fires), dropped whole (no stats, no checkpoint, the completed round unchanged) and, after
// resume, run again. Also: which checkpoints carry optimizer state.
import { describe, expect, it } from 'vitest';
import type { Transport } from '../../../src/rl/transport.ts';
import { optimizerStateOf } from '../../../src/worker/contributor.ts';
import { createInThreadWorker } from '../../../src/worker/in-thread.ts';
import type { Contributor } from '../../../src/worker/loop.ts';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, encodeCheckpointParts, type Checkpoint } from '../../../src/worker/persist.ts';
import { MemoryStore } from './memory-store.ts';
import type { LoadOptions, RoundStats, WorkerEvent } from '../../../src/worker/protocol.ts';

/**
 * A round that takes `roundMs` unless its signal fires first, in which case it rejects like the real runner.
 * `steps` counts completed rounds: it is what an aborted round must not change.
 */
class SlowContributor implements Contributor {
  readonly backend = 'cpu';
  readonly modelId = 'slow';
  readonly parameterCount = 1;
  steps = 0;
  started: number[] = [];
  aborted: number[] = [];
  constructor(public roundMs: number) {}
  async runRound(round: number, _t: Transport, signal: AbortSignal): Promise<RoundStats> {
    this.started.push(round);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, this.roundMs);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        this.aborted.push(round);
        reject(new DOMException('round aborted', 'AbortError'));
      }, { once: true });
    });
    this.steps++;
    return {
      round, stage: 'trained', ownReward: 0, ownAccuracy: 0, swarmReward: null, swarmAccuracy: null, localRollouts: 1,
      externalRollouts: 0, externalByPeer: {}, optimizerSteps: 1, peersHeard: 0, tokens: 1, seconds: 0.001, tokensPerSecond: 1, rolloutsPerSecond: 1, samples: [],
    };
  }
  async saveState() {
    return { modelId: this.modelId, meta: { steps: this.steps }, tensors: new Map([['w', { shape: [1], data: new Float32Array([this.steps]) }]]) };
  }
  async loadState() {}
  async weightsDigest() {
    return '00000000';
  }
  async exportModel() {
    return [];
  }
  async exportAverage() {
    return { files: [], models: 1, refused: [] };
  }
  async averageWith() {}
  dispose() {}
}

const LOAD: LoadOptions = { modelUrl: './models/default/', swarmId: 's', peerId: 'me', backend: 'cpu', resume: true };

function setup(contributor: Contributor, store = new MemoryStore()) {
  const api = createInThreadWorker({
    probe: async () => ({ webgpu: false, adapter: null, reason: 'test' }),
    createContributor: async () => contributor,
    openStore: async () => store,
  });
  const events: WorkerEvent[] = [];
  api.onEvent((e) => events.push(e));
  const waitFor = async (pred: () => boolean, ms = 3000) => {
    const until = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > until) throw new Error(`timed out; events: ${JSON.stringify(events.map((e) => e.kind))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const rounds = () => events.flatMap((e) => (e.kind === 'stats' ? [e.stats.round] : []));
  return { api, events, waitFor, rounds, store };
}

describe('pause and stop mid-round', () => {
  it('pause aborts the round in flight at once, drops it, and resume runs the same round again', async () => {
    const c = new SlowContributor(30);
    const { api, events, waitFor, rounds, store } = setup(c);
    await api.load(LOAD);
    await api.start({});
    await waitFor(() => rounds().length >= 1);
    c.roundMs = 60_000; // the next round would take a minute: only an abort ends it
    await waitFor(() => c.started.length >= 2);
    const t0 = Date.now();
    await api.pause();
    await waitFor(() => c.aborted.length === 1);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(c.aborted).toEqual([1]);
    expect(c.steps).toBe(1);
    expect(events).toContainEqual({ kind: 'phase', phase: 'paused', detail: expect.stringMatching(/mid-round/) });
    await new Promise((r) => setTimeout(r, 100));
    // paused: no new round starts, no stats or checkpoint of the dropped one
    expect(c.started).toEqual([0, 1]);
    expect(rounds()).toEqual([0]);
    expect(store.saves).toEqual([0]);
    expect(events.some((e) => e.kind === 'phase' && e.phase === 'error')).toBe(false);

    c.roundMs = 10;
    await api.resume();
    await waitFor(() => rounds().length >= 2);
    await api.stop();
    expect(c.started.slice(0, 3)).toEqual([0, 1, 1]);
    expect(rounds().slice(0, 2)).toEqual([0, 1]);
    expect(store.saves.slice(0, 2)).toEqual([0, 1]);
  });

  it('stop aborts the round in flight: the loop ends quickly with nothing published for it', async () => {
    const c = new SlowContributor(60_000);
    const { api, events, waitFor, rounds, store } = setup(c);
    await api.load(LOAD);
    await api.start({});
    await waitFor(() => c.started.length === 1);
    const t0 = Date.now();
    await api.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(c.aborted).toEqual([0]);
    expect(c.steps).toBe(0);
    expect(rounds()).toEqual([]);
    expect(store.saves).toEqual([]);
    expect(events.filter((e) => e.kind === 'phase').at(-1)).toEqual({ kind: 'phase', phase: 'stopped', detail: null });
  });

  it('a pause while waiting for the swarm clock starts no round until resume', async () => {
    const c = new SlowContributor(5);
    const { api, waitFor, rounds } = setup(c);
    await api.load(LOAD);
    // round 1 starts 150 ms from now
    await api.start({ clock: { genesisMs: Date.now() - 850, roundMs: 1000 } });
    await waitFor(() => rounds().length >= 1);
    await api.pause();
    await new Promise((r) => setTimeout(r, 400));
    expect(c.started).toEqual([0]);
    await api.resume();
    await waitFor(() => c.started.length >= 2);
    await api.stop();
  });
});

describe('optimizer state in checkpoints', () => {
  const weights = new Map([['model.norm.weight', { shape: [2], data: new Float32Array([1, 2]) }]]);

  it('an old checkpoint without moments gives none (fresh Adam); a full one gives m, v and steps', () => {
    expect(optimizerStateOf({ meta: { backend: 'cpu' }, tensors: weights })).toBeNull();
    const m = new Float32Array([0.5, -0.5]), v = new Float32Array([0.25, 0.125]);
    const full = new Map([...weights, ['adam.m', { shape: [2], data: m }], ['adam.v', { shape: [2], data: v }]]);
    // through the codec, as a reload reads it
    const back = decodeCheckpoint(encodeCheckpoint({ round: 3, modelId: 'x', meta: { steps: 7 }, tensors: full }));
    expect(optimizerStateOf(back)).toEqual({ m, v, steps: 7 });
  });

  it('half an optimizer state is a named error', () => {
    const m = { shape: [2], data: new Float32Array(2) };
    expect(() => optimizerStateOf({ meta: { steps: 1 }, tensors: new Map([...weights, ['adam.m', m]]) })).toThrow(CheckpointError);
    expect(() => optimizerStateOf({ meta: {}, tensors: new Map([...weights, ['adam.m', m], ['adam.v', m]]) })).toThrow(/not the rest/);
  });

  it('the streamed parts (what OPFS writes) join to the same file and view the tensors without copying', () => {
    const m = new Float32Array([0.5, -0.5]);
    const c: Checkpoint = { round: 1, modelId: 'x', meta: { steps: 2 }, tensors: new Map([...weights, ['adam.m', { shape: [2], data: m }]]) };
    const parts = encodeCheckpointParts(c);
    expect(parts).toHaveLength(3);
    expect(parts[0].length % 4).toBe(0);
    expect(parts[2].buffer).toBe(m.buffer);
    const joined = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) joined.set(p, (at += p.length) - p.length);
    expect(joined).toEqual(new Uint8Array(encodeCheckpoint(c)));
    expect(decodeCheckpoint(joined.buffer).tensors.get('adam.m')!.data).toEqual(m);
  });
});
