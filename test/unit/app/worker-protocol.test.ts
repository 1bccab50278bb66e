// The worker protocol, host and round loop, in-thread. The contributor here is a small stand-in: these tests
// are about the plumbing around it (requests, events, pause/stop, checkpoints), not about training.
import { describe, expect, it } from 'vitest';
import type { RolloutBatch, Transport } from '../../../src/rl/transport.ts';
import { createInThreadWorker } from '../../../src/worker/in-thread.ts';
import type { HostDeps } from '../../../src/worker/host.ts';
import { nextRound, restAfter, type Contributor } from '../../../src/worker/loop.ts';
import { decodeCheckpoint, digestTensors, encodeCheckpoint, type Checkpoint, type CheckpointStore } from '../../../src/worker/persist.ts';
import { MemoryStore } from './memory-store.ts';
import { parseRequest, type LoadOptions, type RoundStats, type WorkerEvent } from '../../../src/worker/protocol.ts';

/** Counts rounds into its single weight so a restore is visible; publishes and reads the transport. */
class CountingContributor implements Contributor {
  readonly backend = 'cpu';
  readonly modelId = 'counting';
  readonly parameterCount = 1;
  weight = new Float32Array([0]);
  heard: number[] = [];
  constructor(
    private readonly roundMs = 5,
    private readonly failAt = -1,
  ) {}
  gathered: number[] = [];
  async runRound(round: number, transport: Transport, signal: AbortSignal, _onStage?: unknown, gather?: () => Promise<void>): Promise<RoundStats> {
    if (round === this.failAt) throw new RangeError(`boom at ${round}`);
    await new Promise((r) => setTimeout(r, this.roundMs));
    if (gather) {
      await gather();
      this.gathered.push(Date.now());
    }
    if (signal.aborted) throw new DOMException('aborted', 'AbortError');
    this.weight[0] += 1;
    const batch: RolloutBatch = { v: 1, swarmId: 's', round, peerId: transport.peerId, rollouts: [] };
    await transport.publishRollouts(batch);
    this.heard.push(transport.receivedRollouts(round).length);
    return {
      round, stage: 'train', ownReward: round / 10, ownAccuracy: 0.5, swarmReward: null, swarmAccuracy: null,
      localRollouts: 4, externalRollouts: 0, externalByPeer: {}, optimizerSteps: 1, peersHeard: 0, tokens: 100, seconds: this.roundMs / 1000, tokensPerSecond: 2e4,
      rolloutsPerSecond: 800, samples: [],
    };
  }
  async saveState() {
    return { modelId: this.modelId, meta: { steps: this.weight[0] }, tensors: new Map([['w', { shape: [1], data: this.weight.slice() }]]) };
  }
  async loadState(c: Checkpoint) {
    this.weight = c.tensors.get('w')!.data.slice();
  }
  async weightsDigest() {
    return digestTensors(new Map([['w', { data: this.weight }]]));
  }
  async exportModel() {
    return [{ name: 'config.json', data: new TextEncoder().encode('{}').buffer as ArrayBuffer }];
  }
  async exportAverage() {
    return { files: [], models: 1, refused: [] };
  }
  async averageWith() {}
  dispose() {}
}

const LOAD: LoadOptions = { modelUrl: './models/default/', swarmId: 's', peerId: 'me', backend: 'cpu', resume: true };

function setup(contributor: Contributor, store: CheckpointStore | null = new MemoryStore()) {
  const deps: HostDeps = {
    probe: async () => ({ webgpu: false, adapter: null, reason: 'test' }),
    createContributor: async (_options, onProgress) => {
      onProgress({ stage: 'download', item: 'model.safetensors', loaded: 50, total: 100, percent: 50 });
      return contributor;
    },
    openStore: async () => store,
  };
  const api = createInThreadWorker(deps);
  const events: WorkerEvent[] = [];
  api.onEvent((e) => events.push(e));
  const waitFor = async (pred: (e: WorkerEvent[]) => boolean, ms = 3000) => {
    const until = Date.now() + ms;
    while (!pred(events)) {
      if (Date.now() > until) throw new Error(`timed out; events: ${JSON.stringify(events.map((e) => e.kind))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const rounds = () => events.flatMap((e) => (e.kind === 'stats' ? [e.stats.round] : []));
  return { api, events, waitFor, rounds, store };
}

describe('worker protocol envelope', () => {
  it('rejects unknown types, missing ids and out-of-range throttles with ProtocolError', () => {
    expect(() => parseRequest(null)).toThrow(/object/);
    expect(() => parseRequest({ type: 'probe' })).toThrow(/integer id/);
    expect(() => parseRequest({ id: 1, type: 'explode' })).toThrow(/unknown worker request type "explode"/);
    expect(() => parseRequest({ id: 1, type: 'throttle', duty: 0 })).toThrow(/\(0, 1\]/);
    expect(() => parseRequest({ id: 1, type: 'throttle', duty: 1.5 })).toThrow(/\(0, 1\]/);
    expect(parseRequest({ id: 1, type: 'throttle', duty: 0.25 })).toMatchObject({ type: 'throttle', duty: 0.25 });
  });

  it('answers probe and carries error names across (NotLoadedError before load)', async () => {
    const { api } = setup(new CountingContributor());
    await expect(api.probe()).resolves.toEqual({ webgpu: false, adapter: null, reason: 'test' });
    await expect(api.start({})).rejects.toMatchObject({ name: 'NotLoadedError', message: expect.stringMatching(/no model/) });
    await expect(api.throttle(2)).rejects.toMatchObject({ name: 'ProtocolError' });
    const seen: WorkerEvent[] = [];
    api.onEvent((e) => seen.push(e));
    api.terminate();
    await expect(api.probe()).rejects.toMatchObject({ name: 'WorkerGoneError' });
    expect(seen).toEqual([{ kind: 'phase', phase: 'error', detail: 'WorkerGoneError: the engine worker was terminated' }]);
  });
});

describe('round loop behind the protocol', () => {
  it('loads with progress, runs rounds in order, publishes, checkpoints and stops', async () => {
    const c = new CountingContributor();
    const { api, events, waitFor, rounds } = setup(c);
    const loaded = await api.load(LOAD);
    // a contributor without a plan (this fake) gets neutral base / adapter / budget fields
    expect(loaded).toEqual({
      backend: 'cpu', modelId: 'counting', parameterCount: 1, resumedRound: null, note: null, weightsDigest: digestTensors(new Map([['w', { data: new Float32Array([0]) }]])),
      baseFingerprint: '', lora: null, weightsFamily: null, completionBudget: 0,
    });
    expect(events.find((e) => e.kind === 'progress')).toMatchObject({ progress: { stage: 'download', percent: 50 } });
    await api.start({});
    await waitFor(() => rounds().length >= 3);
    await api.stop();
    expect(rounds().slice(0, 3)).toEqual([0, 1, 2]);
    const published = events.flatMap((e) => (e.kind === 'publish' ? [e.batch] : []));
    expect(published[0].peerId).toBe('me');
    // each batch carries the fingerprint of the weights it was sampled with: the previous round's checkpoint
    const saved = events.flatMap((e) => (e.kind === 'saved' ? [e.weightsDigest] : []));
    expect(published[0].modelCommitment).toBe(loaded.weightsDigest);
    expect(published[1].modelCommitment).toBe(saved[0]);
    expect(published[2].modelCommitment).toBe(saved[1]);
    expect(saved[0]).not.toBe(saved[1]);
    expect(events.filter((e) => e.kind === 'saved').map((e) => (e as { round: number }).round).slice(0, 3)).toEqual([0, 1, 2]);
    expect(events.at(-1)).toEqual({ kind: 'phase', phase: 'stopped', detail: null });
  });

  it('resumes from the checkpoint: same round count, restored weights, next round follows', async () => {
    const store = new MemoryStore();
    const first = setup(new CountingContributor(), store);
    await first.api.load(LOAD);
    await first.api.start({});
    await first.waitFor(() => first.events.filter((e) => e.kind === 'saved').length >= 2);
    await first.api.stop();
    const saved = decodeCheckpoint(store.bytes!);
    const second = new CountingContributor();
    const again = setup(second, store);
    const loaded = await again.api.load(LOAD);
    expect(loaded.resumedRound).toBe(saved.round);
    const lastSaved = first.events.filter((e) => e.kind === 'saved').at(-1) as { weightsDigest: string };
    expect(loaded.weightsDigest).toBe(lastSaved.weightsDigest);
    expect(loaded.weightsDigest).not.toBe(digestTensors(new Map([['w', { data: new Float32Array([0]) }]])));
    expect(second.weight[0]).toBe(saved.round + 1);
    await again.api.start({});
    await again.waitFor(() => again.rounds().length >= 1);
    await again.api.stop();
    expect(again.rounds()[0]).toBe(saved.round + 1);
  });

  it('reset clears the checkpoint so the next load starts fresh', async () => {
    const store = new MemoryStore();
    const { api, waitFor, events } = setup(new CountingContributor(), store);
    await api.load(LOAD);
    await api.start({});
    await waitFor(() => events.some((e) => e.kind === 'saved'));
    await api.reset();
    expect(store.bytes).toBeNull();
    expect((await api.load(LOAD)).resumedRound).toBeNull();
  });

  it('feeds delivered peer batches to the round and ignores its own echo', async () => {
    const c = new CountingContributor(30);
    const { api, waitFor, rounds } = setup(c);
    await api.load(LOAD);
    const batch = (peerId: string): RolloutBatch => ({ v: 1, swarmId: 's', round: 0, peerId, rollouts: [] });
    await api.deliver(batch('peer-a'));
    await api.deliver(batch('peer-a')); // same peer, same round: kept once
    await api.deliver(batch('peer-b'));
    await api.deliver(batch('me'));
    await api.start({});
    await waitFor(() => rounds().length >= 1);
    await api.stop();
    expect(c.heard[0]).toBe(2);
  });

  it('pause holds between rounds and resume continues', async () => {
    const { api, waitFor, rounds, events } = setup(new CountingContributor(10));
    await api.load(LOAD);
    await api.start({});
    await waitFor(() => rounds().length >= 1);
    await api.pause();
    await new Promise((r) => setTimeout(r, 150)); // the round in flight may finish (generous: loaded CI machines)
    const atPause = rounds().length;
    await new Promise((r) => setTimeout(r, 150));
    expect(rounds().length).toBe(atPause);
    expect(events.some((e) => e.kind === 'phase' && e.phase === 'paused')).toBe(true);
    await api.resume();
    await waitFor(() => rounds().length > atPause);
    await api.stop();
  });

  it('throttle makes the loop rest: duty 0.25 runs about a quarter as many rounds', async () => {
    const count = async (duty: number) => {
      const { api, rounds } = setup(new CountingContributor(20), null);
      await api.load(LOAD);
      await api.throttle(duty);
      await api.start({});
      await new Promise((r) => setTimeout(r, 600));
      await api.stop();
      return rounds().length;
    };
    const full = await count(1);
    const quarter = await count(0.25);
    expect(full).toBeGreaterThanOrEqual(5);
    expect(quarter).toBeLessThanOrEqual(Math.ceil(full / 2));
  });

  it('a failing round reports a named error; a failing save only warns', async () => {
    const failing = setup(new CountingContributor(2, 1));
    await failing.api.load(LOAD);
    await failing.api.start({});
    await failing.waitFor((e) => e.some((x) => x.kind === 'phase' && x.phase === 'error'));
    expect(failing.events.find((e) => e.kind === 'phase' && e.phase === 'error')).toMatchObject({ detail: 'RangeError: boom at 1' });

    const store = new MemoryStore();
    store.failSaves = true;
    const warned = setup(new CountingContributor(), store);
    await warned.api.load(LOAD);
    await warned.api.start({});
    await warned.waitFor(() => warned.rounds().length >= 2);
    await warned.api.stop();
    expect(warned.events.find((e) => e.kind === 'warning')).toMatchObject({ message: expect.stringMatching(/not saved: quota exceeded/) });
  });

  it('exports the model files through the protocol', async () => {
    const { api } = setup(new CountingContributor());
    await api.load(LOAD);
    const files = await api.exportModel();
    expect(files.map((f) => f.name)).toEqual(['config.json']);
    expect(new TextDecoder().decode(files[0].data)).toBe('{}');
  });
});

describe('gathering peers\' rollouts', () => {
  it('with a swarm clock, trains only after the middle of the round', async () => {
    const c = new CountingContributor(5);
    const { api, rounds } = setup(c, null);
    await api.load(LOAD);
    const roundMs = 200;
    const genesisMs = Date.now() - 10 * roundMs - 20; // 20 ms into round 10
    await api.start({ clock: { genesisMs, roundMs } });
    const until = Date.now() + 3000;
    while (rounds().length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    await api.stop();
    expect(rounds().slice(0, 2)).toEqual([10, 11]);
    expect(c.gathered[0] - genesisMs).toBeGreaterThanOrEqual(10.5 * roundMs - 2);
    expect(c.gathered[1] - genesisMs).toBeGreaterThanOrEqual(11.5 * roundMs - 2);
  });
});

describe('round clock and duty cycle', () => {
  it('follows the last round, or jumps to the clock when behind', () => {
    expect(nextRound(null, undefined, 0)).toBe(0);
    expect(nextRound(4, undefined, 0)).toBe(5);
    const clock = { genesisMs: 1000, roundMs: 100 };
    expect(nextRound(null, clock, 1550)).toBe(5);
    expect(nextRound(2, clock, 1550)).toBe(5);
    expect(nextRound(7, clock, 1550)).toBe(8);
    expect(nextRound(null, clock, 0)).toBe(0);
  });
  it('rests (1 - duty) / duty of the busy time', () => {
    expect(restAfter(100, 1)).toBe(0);
    expect(restAfter(100, 0.5)).toBe(100);
    expect(restAfter(100, 0.25)).toBe(300);
  });
});

describe('checkpoint codec', () => {
  const c: Checkpoint = {
    round: 7,
    modelId: 'm',
    meta: { step: 8 },
    tensors: new Map([
      ['a', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, Math.PI]) }],
      ['b', { shape: [1], data: Float32Array.from([-0]) }],
    ]),
  };
  it('round-trips bit-identically', () => {
    const back = decodeCheckpoint(encodeCheckpoint(c));
    expect(back.round).toBe(7);
    expect(back.meta).toEqual({ step: 8 });
    expect([...back.tensors.keys()]).toEqual(['a', 'b']);
    expect(new Uint32Array(back.tensors.get('a')!.data.buffer)).toEqual(new Uint32Array(c.tensors.get('a')!.data.buffer));
    expect(Object.is(back.tensors.get('b')!.data[0], -0)).toBe(true);
  });
  it('names truncated, foreign and inconsistent files', () => {
    const bytes = encodeCheckpoint(c);
    expect(() => decodeCheckpoint(bytes.slice(0, bytes.byteLength - 4))).toThrow(/runs past the end/);
    expect(() => decodeCheckpoint(new ArrayBuffer(40))).toThrow(/bad magic/);
    expect(() => decodeCheckpoint(bytes.slice(0, 20))).toThrow(/does not fit/);
    expect(() => encodeCheckpoint({ ...c, tensors: new Map([['x', { shape: [3], data: new Float32Array(2) }]]) })).toThrow(/holds 3 values/);
    try {
      decodeCheckpoint(new ArrayBuffer(3));
    } catch (error) {
      expect((error as Error).name).toBe('CheckpointError');
    }
  });
});

describe('weights digest', () => {
  it('ignores optimizer tensors and insertion order, and sees a single flipped bit', () => {
    const a = new Map([['x', { data: Float32Array.from([1, 2]) }], ['y', { data: Float32Array.from([3]) }]]);
    const b = new Map([['adam.m.x', { data: Float32Array.from([9]) }], ['y', { data: Float32Array.from([3]) }], ['x', { data: Float32Array.from([1, 2]) }]]);
    expect(digestTensors(a)).toBe(digestTensors(b));
    expect(digestTensors(a)).toMatch(/^[0-9a-f]{8}$/);
    const c = new Map([['x', { data: Float32Array.from([1, 2.0000002]) }], ['y', { data: Float32Array.from([3]) }]]);
    expect(digestTensors(c)).not.toBe(digestTensors(a));
  });
});
