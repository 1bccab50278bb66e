// Short, asynchronous rounds: two tabs on one swarm clock run the same round indices (a late joiner falls in
// at the current round), each trains on the other's rollouts of that very round, and a tab stops waiting
// for peers as soon as the round holds J promising external groups instead of sitting out the clock. Also
// the held-out evaluation schedule (start line, then every N rounds) and that a failing evaluation never
// stops training. Real ContributionLoops and WorkerTransports; the contributor is a stand-in.
import { describe, expect, it } from 'vitest';
import type { RolloutBatch, Transport } from '../../../src/rl/transport.ts';
import { AverageRefusedError } from '../../../src/worker/average-guard.ts';
import { promisingGroups } from '../../../src/worker/contributor.ts';
import { ContributionLoop, GATHER_FRACTION, type Contributor } from '../../../src/worker/loop.ts';
import type { EvalPoint, RoundClock, RoundStats, WorkerEvent } from '../../../src/worker/protocol.ts';
import { WorkerTransport } from '../../../src/worker/transport.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publishes one group whose rewards differ (it carries signal), then gathers until it holds `wantJ` of them. */
class PeerContributor implements Contributor {
  readonly backend = 'cpu';
  readonly modelId = 'peer';
  readonly parameterCount = 1;
  /** round -> what it trained with: the rounds of the batches it had, and when (ms after round start) */
  trained = new Map<number, { heardRounds: number[]; heardPeers: string[]; gatheredAfterMs: number }>();
  evaluated: number[] = [];
  failEvalAt: number | null = null;
  constructor(
    private readonly clock: RoundClock | null,
    private readonly wantJ = 1,
  ) {}
  async runRound(round: number, transport: Transport, signal: AbortSignal, _s?: unknown, gather?: (enough?: () => boolean) => Promise<void>): Promise<RoundStats> {
    await transport.publishRollouts({
      v: 1, swarmId: 's', round, peerId: transport.peerId,
      rollouts: [{ task: { family: 'basic_arithmetic', difficulty: 1, seed: round }, completions: [{ text: 'a', reward: 0 }, { text: 'b', reward: 1.1 }] }],
    });
    // a real round takes time; without it a clockless loop would never yield to the test's timers
    await sleep(2);
    await gather?.(() => promisingGroups(transport.receivedRollouts(round)) >= this.wantJ);
    if (signal.aborted) throw new DOMException('aborted', 'AbortError');
    const received = transport.receivedRollouts(round);
    const start = this.clock ? this.clock.genesisMs + round * this.clock.roundMs : 0;
    this.trained.set(round, { heardRounds: received.map((b) => b.round), heardPeers: received.map((b) => b.peerId), gatheredAfterMs: Date.now() - start });
    return {
      round, stage: 'trained', ownReward: 0.5, ownAccuracy: 0.5, swarmReward: null, swarmAccuracy: null, localRollouts: 2,
      externalRollouts: received.length, externalByPeer: {}, optimizerSteps: 1, peersHeard: received.length, tokens: 2, seconds: 0.001, tokensPerSecond: 1, rolloutsPerSecond: 1, samples: [],
    };
  }
  async evaluate(round: number): Promise<EvalPoint> {
    this.evaluated.push(round);
    if (round === this.failEvalAt) throw new RangeError('eval broke');
    return { round, accuracy: 0.25 + round / 100, tasks: 8, formatRate: 1, seconds: 0 };
  }
  async saveState() {
    return { modelId: this.modelId, meta: {}, tensors: new Map() };
  }
  async loadState() {}
  async weightsDigest() {
    return '0';
  }
  async exportModel() {
    return [];
  }
  async exportAverage() {
    return { files: [], models: 1, refused: [] };
  }
  async averageWith(_peers: Uint8Array[]) {}
  dispose() {}
}

/** A tab: its loop, its transport, and a gossip stand-in that delivers what it publishes to the other tabs. */
function tab(peerId: string, contributor: Contributor, others: () => WorkerTransport[]) {
  const events: WorkerEvent[] = [];
  const transport: WorkerTransport = new WorkerTransport(peerId, (batch: RolloutBatch) => {
    for (const other of others()) if (other !== transport) other.deliver(batch);
  });
  const loop = new ContributionLoop({ contributor, transport, store: null, emit: (e) => events.push(e) }, null);
  const rounds = () => events.flatMap((e) => (e.kind === 'stats' ? [e.stats.round] : []));
  return { transport, loop, events, rounds };
}

async function until(pred: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(10);
  }
}

describe('short asynchronous rounds', () => {
  it('keep two tabs in step on the swarm clock, a late one joining at the current round, each training on the other\'s rollouts of the same round early', async () => {
    const roundMs = 1000;
    const clock = { genesisMs: Date.now() - 5 * roundMs - 50, roundMs }; // 50 ms into round 5
    const all: WorkerTransport[] = [];
    const ca = new PeerContributor(clock), cb = new PeerContributor(clock);
    const a = tab('A', ca, () => all), b = tab('B', cb, () => all);
    all.push(a.transport, b.transport);
    a.loop.start({ clock, evalEvery: 0 });
    await sleep(1.3 * roundMs); // B opens its page more than a round later
    b.loop.start({ clock, evalEvery: 0 });
    try {
      await until(() => b.rounds().length >= 3, 10 * roundMs);
    } finally {
      await Promise.all([a.loop.stop(), b.loop.stop()]);
    }
    const ar = a.rounds(), br = b.rounds();
    // consecutive round indices from the clock; B starts at the round current when it joined, not at 0
    expect(ar[0]).toBe(5);
    expect(ar).toEqual(ar.map((_, i) => 5 + i));
    expect(br[0]).toBeGreaterThanOrEqual(6);
    expect(br[0]).toBeLessThanOrEqual(7);
    // B's first round began before B existed, so A's batch of it was gone by then (gossip does not replay):
    // from B's second round on, both are in step
    const common = br.slice(1).filter((r) => ar.includes(r));
    expect(common.length).toBeGreaterThanOrEqual(2);
    for (const r of common) {
      // each trained on exactly the other's batch of that round: the same index on both sides
      expect(ca.trained.get(r)).toMatchObject({ heardRounds: [r], heardPeers: ['B'] });
      expect(cb.trained.get(r)).toMatchObject({ heardRounds: [r], heardPeers: ['A'] });
      // and did not sit out the gather window once the other's group was in
      expect(ca.trained.get(r)!.gatheredAfterMs).toBeLessThan(GATHER_FRACTION * roundMs);
      expect(cb.trained.get(r)!.gatheredAfterMs).toBeLessThan(GATHER_FRACTION * roundMs);
    }
  });

  it('a lone tab waits out the gather window (nobody else will send anything), then trains', async () => {
    const roundMs = 400;
    const clock = { genesisMs: Date.now() - 2 * roundMs - 20, roundMs };
    const c = new PeerContributor(clock);
    const solo = tab('S', c, () => []);
    solo.loop.start({ clock, evalEvery: 0 });
    try {
      await until(() => solo.rounds().length >= 2, 6 * roundMs);
    } finally {
      await solo.loop.stop();
    }
    for (const r of solo.rounds()) expect(c.trained.get(r)!.gatheredAfterMs).toBeGreaterThanOrEqual(GATHER_FRACTION * roundMs - 2);
  });
});

describe('held-out evaluation in the loop', () => {
  it('measures a start line before the first round, then every N rounds, and survives a failing evaluation', async () => {
    const c = new PeerContributor(null, 0);
    c.failEvalAt = 3;
    const t = tab('E', c, () => []);
    t.loop.start({ evalEvery: 2 });
    try {
      await until(() => t.rounds().length >= 8, 5_000);
    } finally {
      await t.loop.stop();
    }
    expect(c.evaluated.slice(0, 4)).toEqual([-1, 1, 3, 5]);
    const points = t.events.flatMap((e) => (e.kind === 'eval' ? [e.point] : []));
    expect(points.slice(0, 3).map((p) => p.round)).toEqual([-1, 1, 5]);
    expect(points[0]).toEqual({ round: -1, accuracy: 0.24, tasks: 8, formatRate: 1, seconds: 0 });
    expect(t.events.some((e) => e.kind === 'warning' && /held-out evaluation after round 3 failed: eval broke/.test(e.message))).toBe(true);
    // training went on past the failure
    expect(t.rounds().slice(0, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('never evaluates with evalEvery 0', async () => {
    const c = new PeerContributor(null, 0);
    const t = tab('N', c, () => []);
    t.loop.start({ evalEvery: 0 });
    try {
      await until(() => t.rounds().length >= 3, 5_000);
    } finally {
      await t.loop.stop();
    }
    expect(c.evaluated).toEqual([]);
  });
});

describe('promisingGroups', () => {
  it('counts groups whose claimed rewards differ, ignoring malformed parts', () => {
    const batch = (rewards: number[][]): RolloutBatch => ({
      v: 1, swarmId: 's', round: 0, peerId: 'p',
      rollouts: rewards.map((r) => ({ task: { family: 'f', difficulty: 1, seed: 0 }, completions: r.map((reward) => ({ text: '', reward })) })),
    });
    expect(promisingGroups([batch([[0, 0], [0, 1]]), batch([[1.1, 1.1, 0.1]])])).toBe(2);
    expect(promisingGroups([batch([[1, 1]])])).toBe(0);
    expect(promisingGroups([{ ...batch([]), rollouts: null as unknown as [] }])).toBe(0);
  });
});

describe('periodic averaging in the loop', () => {
  it('applies a requested average between two rounds, never inside one, and reports it', async () => {
    const log: string[] = [];
    class Recording extends PeerContributor {
      override async runRound(round: number, transport: Transport, signal: AbortSignal): Promise<RoundStats> {
        log.push(`start ${round}`);
        const stats = await super.runRound(round, transport, signal);
        log.push(`end ${round}`);
        return stats;
      }
      override async averageWith(peers: Uint8Array[]) {
        log.push(`average ${peers.length}`);
      }
    }
    const t = tab('V', new Recording(null, 0), () => []);
    t.loop.start({ evalEvery: 0 });
    try {
      await until(() => t.rounds().length >= 1, 5_000);
      t.loop.averageWith([new Uint8Array(4)]);
      await until(() => t.events.some((e) => e.kind === 'averaged'), 5_000);
      await until(() => t.rounds().length >= 4, 5_000);
    } finally {
      await t.loop.stop();
    }
    const at = log.indexOf('average 1');
    expect(at).toBeGreaterThan(0);
    // the entry before it closes a round, the one after opens the next
    expect(log[at - 1]).toMatch(/^end \d+$/);
    expect(log[at + 1]).toMatch(/^start \d+$/);
    expect(log.filter((l) => l.startsWith('average'))).toHaveLength(1);
    expect(t.events.find((e) => e.kind === 'averaged')).toMatchObject({ kind: 'averaged', models: 2, weightsDigest: '0' });
  });

  it('reports a refused average as a warning with its reason, keeps the weights, and trains on', async () => {
    class Refusing extends PeerContributor {
      override async averageWith(_peers: Uint8Array[]): Promise<void> {
        throw new AverageRefusedError('the mean answers the probe worse than this tab\u2019s model and the swarm\u2019s start');
      }
    }
    const t = tab('R', new Refusing(null, 0), () => []);
    t.loop.start({ evalEvery: 0 });
    try {
      await until(() => t.rounds().length >= 1, 5_000);
      t.loop.averageWith([new Uint8Array(4)]);
      await until(() => t.events.some((e) => e.kind === 'warning'), 5_000);
      const after = t.rounds().length;
      await until(() => t.rounds().length >= after + 2, 5_000);
    } finally {
      await t.loop.stop();
    }
    expect(t.events.filter((e) => e.kind === 'warning').map((e) => (e as { message: string }).message)).toEqual([
      'averaging with peers skipped: the mean answers the probe worse than this tab\u2019s model and the swarm\u2019s start',
    ]);
    expect(t.events.some((e) => e.kind === 'averaged')).toBe(false);
    expect(t.events.some((e) => e.kind === 'phase' && (e as { phase: string }).phase === 'error')).toBe(false);
  });
});
