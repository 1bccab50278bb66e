// A game peer that reloads mid-round: its snapshot (through JSON, as a checkpoint's meta stores it) brings
// back the stage it stood at, the students it saw, its own critique and the peers' critiques it kept, so the
// restored peer plays the round's resolve and votes exactly as the peer that never left would have. Broken or
// foreign snapshots are refused by name and change nothing.
import { describe, expect, it } from 'vitest';
import { defaultGameConfig, GameRunner, type GameEvent, type StageReport } from '../../../../src/rl/game/runner.ts';
import { GameSnapshotError } from '../../../../src/rl/game/snapshot.ts';
import { CRITIQUE_OPEN, gameTaskRefs, MAJORITY_OPEN } from '../../../../src/rl/game/stages.ts';
import { InMemoryGameBus } from '../../../../src/rl/game/transport.ts';
import { charTokenizer, ScriptedEngine } from '../fakes.ts';

const sumOf = (prompt: string) => {
  const m = /(\d+)\+(\d+)/.exec(prompt);
  return m ? Number(m[1]) + Number(m[2]) : 0;
};

/** answers right on even rows (`right`) or never; critiques name the first right student; resolves state the top pick */
const player = (right: boolean) => (prompt: string, row: number): string => {
  const sum = sumOf(prompt);
  if (prompt.endsWith(CRITIQUE_OPEN)) {
    const line = prompt.split('\n').find((l) => new RegExp(`^#\\d+ ${sum}$`).test(l));
    return `${line ? /#(\d+)/.exec(line)![1] : '1'}</identify>`;
  }
  if (prompt.endsWith(MAJORITY_OPEN)) {
    const top = /Picks: #(\d+)/.exec(prompt)?.[1] ?? '1';
    return row % 2 === 0 ? `${top}</majority><answer>${sum}</answer>` : `${top}</majority><answer>x</answer>`;
  }
  return `<answer>${right && row % 2 === 0 ? sum : sum + 1}</answer>`;
};

const config = defaultGameConfig({ swarmId: 'g', questions: 2, completions: 2, students: 4 });
const SPECS = [{ id: 'a', right: true }, { id: 'b', right: false }, { id: 'c', right: true }];

/** three peers on a bus; `interrupt` reloads peer a after round 0's critique, from its snapshot */
async function playRoundZero(interrupt: 'none' | 'restore' | 'fresh') {
  const bus = new InMemoryGameBus();
  const peers = SPECS.map((s) => ({ id: s.id, runner: new GameRunner(new ScriptedEngine(player(s.right)), charTokenizer, bus.connect(s.id), config) }));
  const all = (position: Parameters<GameRunner['advance']>[0]) => Promise.all(peers.map((p) => p.runner.advance(position)));
  await all({ round: 0, stage: 'answer' });
  await all({ round: 0, stage: 'critique' });
  const events: GameEvent[] = [];
  let restored: { messages: number; dropped: number } | null = null;
  if (interrupt !== 'none') {
    const saved = JSON.parse(JSON.stringify(peers[0].runner.snapshot()));
    await peers[0].runner.transport.close();
    const reloaded = new GameRunner(new ScriptedEngine(player(true)), charTokenizer, bus.connect('a'), config);
    if (interrupt === 'restore') restored = reloaded.restore(saved);
    peers[0].runner = reloaded;
  }
  peers[0].runner.on((e) => events.push(e));
  const resolve = await all({ round: 0, stage: 'resolve' });
  const answer1 = await all({ round: 1, stage: 'answer' });
  return { peers, resolve, answer1, events, restored };
}

describe('game snapshot: a reload mid-round resumes the round', () => {
  it('the restored peer resolves and votes as the peer that never left', async () => {
    const control = await playRoundZero('none');
    const resumed = await playRoundZero('restore');
    // b's and c's answers and critiques of both questions came back: nothing dropped
    expect(resumed.restored).not.toBeNull();
    expect(resumed.restored!.dropped).toBe(0);
    expect(resumed.restored!.messages).toBeGreaterThanOrEqual(4);
    const strip = (r: StageReport) => ({ stage: r.stage, round: r.round, meanReward: r.meanReward, formatRate: r.formatRate, questions: r.questions.map((q) => ({ published: q.published, students: q.students, picks: q.picks, majority: q.majority })) });
    const want = control.resolve[0].map(strip);
    expect(resumed.resolve[0].map(strip)).toEqual(want);
    expect(want[0].questions.every((q) => q.students.length === 3 && q.picks.length === 3)).toBe(true);
    // the votes for round 0 are the same, and so is the tally every peer holds
    expect(resumed.events.filter((e) => e.type === 'votes')).toHaveLength(1);
    expect(resumed.peers[0].runner.tally(0)).toEqual(control.peers[0].runner.tally(0));
    expect(resumed.peers[1].runner.tally(0)).toEqual(control.peers[1].runner.tally(0));
    // nothing of round 0 was played twice
    expect(resumed.resolve[0].map((r) => r.stage)).toEqual(['resolve']);
  });

  it('without the snapshot the reloaded peer sits the round out (what the snapshot is for)', async () => {
    const fresh = await playRoundZero('fresh');
    expect(fresh.resolve[0]).toEqual([]);
    expect(fresh.events.some((e) => e.type === 'missed' && e.round === 0 && e.stage === 'resolve')).toBe(true);
    expect(fresh.events.some((e) => e.type === 'votes')).toBe(false);
  });

  it('refuses foreign, broken or late snapshots by name and changes nothing', async () => {
    const bus = new InMemoryGameBus();
    const a = new GameRunner(new ScriptedEngine(player(true)), charTokenizer, bus.connect('a'), config);
    await a.advance({ round: 3, stage: 'answer' });
    const good = JSON.parse(JSON.stringify(a.snapshot()));
    const fresh = () => new GameRunner(new ScriptedEngine(player(true)), charTokenizer, bus.connect(`x${Math.random()}`), config);
    const other = new GameRunner(new ScriptedEngine(player(true)), charTokenizer, new InMemoryGameBus().connect('a'), { ...config, swarmId: 'h' });
    expect(() => other.restore(good)).toThrow(/another swarm/);
    expect(() => fresh().restore(good)).toThrow(/another peer/);
    const twin = () => new GameRunner(new ScriptedEngine(player(true)), charTokenizer, new InMemoryGameBus().connect('a'), config);
    const broken = [
      null, 'x', { ...good, version: 2 }, { ...good, rounds: [...good.rounds, ...good.rounds, ...good.rounds] },
      { ...good, rounds: [{ ...good.rounds[0], questions: good.rounds[0].questions.slice(1) }] },
      { ...good, rounds: [{ ...good.rounds[0], own: [['answer/0', 'x'.repeat(config.maxTextChars + 1)]] }] },
      { ...good, rounds: [{ ...good.rounds[0], own: [['vote/9', 'x']] }] },
      { ...good, position: { round: -1, stage: 'answer' } },
      { ...good, playingRound: 7 },
      { ...good, messages: new Array(5000).fill(null) },
    ];
    for (const b of broken) {
      const t = twin();
      expect(() => t.restore(b)).toThrow(GameSnapshotError);
      expect(t.machine.current).toBeNull();
    }
    // restoring into a game that already moved would replay or skip stages: refused
    expect(() => a.restore(good)).toThrow(/before it advances/);
    // peers' messages in a snapshot are judged again: off-round questions, oversized and own-name texts drop
    const t = twin();
    const [task] = gameTaskRefs('g', 3, config.tasks, config.questions);
    const r = t.restore({ ...good, messages: [
      { kind: 'answer', swarmId: 'g', round: 3, peerId: 'b', task, text: '<answer>1</answer>' },
      { kind: 'answer', swarmId: 'g', round: 3, peerId: 'd', task: { ...task, seed: task.seed + 1 }, text: '<answer>1</answer>' },
      { kind: 'answer', swarmId: 'g', round: 3, peerId: 'a', task, text: 'mine' },
      { kind: 'answer', swarmId: 'g', round: 3, peerId: 'c', task, text: 'x'.repeat(1 << 20) },
      { kind: 'answer', swarmId: 'g', round: 3, peerId: 'b', task, text: '<answer>2</answer>' },
      'junk',
    ] });
    expect(r).toEqual({ messages: 1, dropped: 5 });
    expect(t.machine.current).toEqual({ round: 3, stage: 'answer' });
  });
});
