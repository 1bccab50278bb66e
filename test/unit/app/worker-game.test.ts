// The swarm game through the worker protocol: two in-thread workers (messages structured-cloned, as
// postMessage does) play on one clock, each page's part played by the test: a worker's `gamePublish` events
// are delivered to the other as `deliverGame` requests. Both play every stage, see each other as students,
// and vote; stop ends the game.
import { describe, expect, it } from 'vitest';
import { GameRunner } from '../../../src/rl/game/runner.ts';
import { createInThreadWorker } from '../../../src/worker/in-thread.ts';
import type { Contributor } from '../../../src/worker/loop.ts';
import type { LoadOptions, WorkerEvent } from '../../../src/worker/protocol.ts';
import { charTokenizer, ScriptedEngine } from '../rl/fakes.ts';
import { MemoryStore } from './memory-store.ts';

const sumOf = (prompt: string) => {
  const m = /(\d+)\+(\d+)/.exec(prompt);
  return m ? Number(m[1]) + Number(m[2]) : 0;
};
const play = (prompt: string): string => {
  if (prompt.endsWith('<identify>Student #')) return '1</identify>';
  if (prompt.endsWith('<majority>Student #')) return `1</majority><answer>${sumOf(prompt)}</answer>`;
  return `<answer>${sumOf(prompt)}</answer>`;
};

function contributor(): Contributor {
  const engine = new ScriptedEngine(play);
  return {
    backend: 'cpu', modelId: 'scripted', parameterCount: 1,
    runRound: async () => { throw new Error('a game tab runs no SAPO rounds'); },
    saveState: async () => ({ modelId: 'scripted', meta: {}, tensors: new Map() }),
    loadState: async () => undefined,
    weightsDigest: async () => '00',
    exportModel: async () => [],
    exportAverage: async () => ({ files: [], models: 1, refused: [] }),
    averageWith: async () => undefined,
    createGameRunner: (transport, config) => new GameRunner(engine, charTokenizer, transport, { ...config, completions: 2 }),
    dispose: () => undefined,
  };
}

function tab(peerId: string, store = new MemoryStore(), resume = false) {
  const api = createInThreadWorker({ probe: async () => ({ webgpu: false, adapter: null, reason: 'test' }), createContributor: async () => contributor(), openStore: async () => store });
  const events: WorkerEvent[] = [];
  api.onEvent((e) => events.push(e));
  const load: LoadOptions = { modelUrl: './m/', swarmId: 'g', peerId, backend: 'cpu', resume };
  return { api, events, peerId, load, store };
}

/** what one tab publishes reaches the other (a closed tab's delivery failing is a reload, not an error) */
function bridge(from: ReturnType<typeof tab>, to: ReturnType<typeof tab>) {
  from.api.onEvent((e) => {
    if (e.kind === 'gamePublish') for (const m of e.messages) to.api.deliverGame(m).catch(() => undefined);
  });
}

const stageReports = (t: ReturnType<typeof tab>) => t.events.flatMap((e) => (e.kind === 'game' && e.event.type === 'stage' ? [e.event.report] : []));

describe('the swarm game in the worker', () => {
  it('two workers play rounds over the bridge: stages, students, votes', async () => {
    const a = tab('peer-a');
    const b = tab('peer-b');
    for (const [from, to] of [[a, b], [b, a]] as const) {
      from.api.onEvent((e) => {
        if (e.kind === 'gamePublish') for (const m of e.messages) void to.api.deliverGame(m);
      });
    }
    await Promise.all([a.api.load(a.load), b.api.load(b.load)]);
    // stages of 1 s (300 ms missed stages at a load average of 7), starting at the next round boundary
    const roundMs = 3000;
    const genesisMs = Date.now() - (Date.now() % roundMs);
    for (const t of [a, b]) await t.api.startGame({ clock: { genesisMs, roundMs }, swarmId: 'g' });
    const votes = (t: typeof a) => t.events.flatMap((e) => (e.kind === 'game' && e.event.type === 'votes' ? [e.event] : []));
    const until = Date.now() + 25_000;
    while ((votes(a).length < 1 || votes(b).length < 1) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(votes(a).length).toBeGreaterThan(0);
    expect(votes(b).length).toBeGreaterThan(0);
    const stages = a.events.flatMap((e) => (e.kind === 'game' && e.event.type === 'stage' ? [e.event.report] : []));
    const round = votes(a)[0].round;
    const played = stages.filter((r) => r.round === round);
    expect(played.map((r) => r.stage)).toEqual(['answer', 'critique', 'resolve']);
    // both tabs are students on every question of a round both played from its start
    for (const q of played[1].questions) expect(q.students.map((s) => s.peerId).sort()).toEqual(['peer-a', 'peer-b']);
    expect(votes(a)[0].tally.standings.length).toBeGreaterThan(0);
    // pause: the game sits out and says so; resume plays on
    await a.api.pause();
    expect(a.events.filter((e) => e.kind === 'phase').at(-1)).toMatchObject({ phase: 'paused' });
    await a.api.resume();
    expect(a.events.filter((e) => e.kind === 'phase').at(-1)).toMatchObject({ phase: 'running', detail: 'playing the swarm game' });
    for (const t of [a, b]) await t.api.stop();
    const n = a.events.length;
    await new Promise((r) => setTimeout(r, 700));
    expect(a.events.slice(n).filter((e) => e.kind === 'game')).toEqual([]);
    for (const t of [a, b]) t.api.terminate();
  }, 45_000);

  it('a reload mid-round resumes the round from the checkpoint: resolve played once, with the students it saw', async () => {
    const a = tab('peer-a');
    const b = tab('peer-b');
    bridge(a, b);
    bridge(b, a);
    await Promise.all([a.api.load(a.load), b.api.load(b.load)]);
    const roundMs = 1800;
    const genesisMs = Date.now() - (Date.now() % roundMs);
    for (const t of [a, b]) await t.api.startGame({ clock: { genesisMs, roundMs }, swarmId: 'g' });
    // the page reloads right after a's critique was checkpointed: the stored bytes are all that survives
    let copy: ArrayBuffer | null = null;
    let round = -1;
    const until = Date.now() + 10_000;
    while (copy === null && Date.now() < until) {
      const critique = stageReports(a).find((r) => r.stage === 'critique');
      if (critique && a.events.some((e) => e.kind === 'saved' && e.round === critique.round) && a.store.bytes) {
        copy = a.store.bytes.slice(0);
        round = critique.round;
      } else await new Promise((r) => setTimeout(r, 5));
    }
    expect(copy).not.toBeNull();
    await a.api.stop();
    a.api.terminate();
    const store = new MemoryStore();
    store.bytes = copy;
    const a2 = tab('peer-a', store, true);
    bridge(a2, b);
    bridge(b, a2);
    const loaded = await a2.api.load(a2.load);
    expect(loaded.resumedRound).toBe(round);
    await a2.api.startGame({ clock: { genesisMs, roundMs }, swarmId: 'g' });
    // b's answers at least (its critiques too if they arrived before the save)
    const resumedAt = new RegExp(`^playing the swarm game, resumed at critique of round ${round} \\([2-9] peer messages kept\\)$`);
    expect(a2.events.some((e) => e.kind === 'phase' && resumedAt.test(e.detail ?? ''))).toBe(true);
    const deadline = Date.now() + 6_000;
    while (!stageReports(a2).some((r) => r.round === round) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const played = stageReports(a2).filter((r) => r.round === round);
    expect(played.map((r) => r.stage)).toEqual(['resolve']);
    const before = stageReports(a).find((r) => r.round === round && r.stage === 'critique')!;
    for (const [i, q] of played[0].questions.entries()) {
      expect(q.students).toEqual(before.questions[i].students);
      expect(q.students.map((s) => s.peerId).sort()).toEqual(['peer-a', 'peer-b']);
    }
    for (const t of [a2, b]) await t.api.stop();
    for (const t of [a2, b]) t.api.terminate();
  }, 20_000);

  it('a game paced by the coordinator follows its counter, not the clock', async () => {
    const t = tab('peer-d');
    await t.api.load(t.load);
    // the clock would put this game in round 0 at once: paced by the coordinator, it waits for the counter
    await t.api.startGame({ clock: { genesisMs: Date.now() - 1, roundMs: 900 }, swarmId: 'g', pace: 'coordinator' });
    await new Promise((r) => setTimeout(r, 600));
    expect(stageReports(t)).toEqual([]);
    // a one-stage coordinator at round 7 is game round 2's critique: joined late, it sits that round out
    await t.api.gamePosition({ round: 7, stage: 0, stagesPerRound: 1 });
    const seen = (n: number) => new Promise<void>((resolve, reject) => {
      const until = Date.now() + 5_000;
      const poll = () => (stageReports(t).length >= n ? resolve() : Date.now() > until ? reject(new Error(`no stage ${n}`)) : setTimeout(poll, 20));
      poll();
    });
    await new Promise((r) => setTimeout(r, 400));
    expect(stageReports(t)).toEqual([]);
    await t.api.gamePosition({ round: 9, stage: 0, stagesPerRound: 1 });
    await seen(1);
    await t.api.gamePosition({ round: 10, stage: 0, stagesPerRound: 1 });
    await seen(2);
    expect(stageReports(t).map((r) => [r.round, r.stage])).toEqual([[3, 'answer'], [3, 'critique']]);
    // a counter that is no game position, and a malformed request, are refused by name
    await expect(t.api.gamePosition({ round: 1, stage: 0, stagesPerRound: 2 })).rejects.toThrow(/2 stages a round cannot pace/);
    await expect(t.api.gamePosition({ round: -1, stage: 0, stagesPerRound: 1 } as never)).rejects.toThrow(/gamePosition takes/);
    await t.api.stop();
    t.api.terminate();
  }, 15_000);

  it('a paced game drops a snapshot that stands ahead of the chain, and follows the clock once the page gives the chain up', async () => {
    const a = tab('peer-e');
    await a.api.load(a.load);
    // a game played on the swarm clock, 50 rounds after genesis: its checkpoint stands at round 50 or later
    const roundMs = 1800;
    const genesisMs = Date.now() - (Date.now() % roundMs) - 50 * roundMs;
    await a.api.startGame({ clock: { genesisMs, roundMs }, swarmId: 'g' });
    const until = Date.now() + 10_000;
    while (!(a.events.some((e) => e.kind === 'saved') && a.store.bytes) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    const copy = a.store.bytes!.slice(0);
    await a.api.stop();
    a.api.terminate();
    const store = new MemoryStore();
    store.bytes = copy;
    const a2 = tab('peer-e', store, true);
    await a2.api.load(a2.load);
    await a2.api.startGame({ clock: { genesisMs, roundMs }, swarmId: 'g', pace: 'coordinator' });
    // the coordinator is at game round 3: the round-50 state would stall the game (it only moves forward)
    await a2.api.gamePosition({ round: 9, stage: 0, stagesPerRound: 1 });
    expect(a2.events.some((e) => e.kind === 'warning' && /^game state not resumed: it stands at \w+ of round (5\d|6\d), ahead of the coordinator's answer of round 3/.test(e.message))).toBe(true);
    const wait = async (ok: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    };
    await wait(() => stageReports(a2).length > 0, 5_000);
    expect(stageReports(a2).map((r) => [r.round, r.stage])).toEqual([[3, 'answer']]);
    // the page lost the chain: the swarm clock paces from now on, and its rounds are ahead, so play goes on
    await a2.api.gamePosition(null);
    await wait(() => stageReports(a2).some((r) => r.round >= 50), 6_000);
    expect(stageReports(a2).at(-1)!.round).toBeGreaterThanOrEqual(50);
    await a2.api.stop();
    a2.api.terminate();
  }, 30_000);

  it('refuses a malformed deliverGame request by name', async () => {
    const t = tab('peer-c');
    await t.api.load(t.load);
    await expect(t.api.deliverGame(null as never)).rejects.toThrow(/deliverGame takes one game message/);
    t.api.terminate();
  });
});
