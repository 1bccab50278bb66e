// GameRunner on the in-memory game bus with scripted engines: the plumbing around the model (prompts,
// inbox, drops, majority, votes) with peers whose behaviour is known. The real model plays the game in
// scripts/experiment-game.ts.
import { describe, expect, it } from 'vitest';
import { defaultGameConfig, GameRunner, type GameEvent, type StageReport } from '../../../../src/rl/game/runner.ts';
import type { StagePosition } from '../../../../src/rl/game/machine.ts';
import { CRITIQUE_OPEN, STAGES } from '../../../../src/rl/game/stages.ts';
import { InMemoryGameBus, type GameMessage } from '../../../../src/rl/game/transport.ts';
import { charTokenizer, ScriptedEngine } from '../fakes.ts';

const sumOf = (prompt: string) => {
  const m = /(\d+)\+(\d+)/.exec(prompt);
  return m ? Number(m[1]) + Number(m[2]) : 0;
};

/**
 * A scripted player: answers right when `answersRight`, (on odd rows always wrong, so groups have signal);
 * as a critic it names the first student whose answer is right (or `#1` when `wrongCritic`); as a resolver
 * it states the most listed pick and the right sum.
 */
function player(opts: { answersRight: boolean; wrongCritic?: boolean }) {
  return (prompt: string, row: number): string => {
    const sum = sumOf(prompt);
    if (prompt.endsWith(CRITIQUE_OPEN)) {
      if (opts.wrongCritic) return '1</identify>';
      const line = prompt.split('\n').find((l) => l === `#${/#(\d+) /.exec(l)?.[1]} ${sum}`);
      const pick = line ? /#(\d+)/.exec(line)![1] : '1';
      return row % 2 === 0 ? `${pick}</identify>` : 'nobody';
    }
    if (prompt.endsWith('<majority>Student #')) {
      const picks = (/Picks: (.*)\n/.exec(prompt)?.[1] ?? '').split(' ').filter((p) => p.startsWith('#'));
      const counts = new Map<string, number>();
      for (const p of picks) counts.set(p, (counts.get(p) ?? 0) + 1);
      const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0]?.slice(1) ?? '1';
      return row % 2 === 0 ? `${top}</majority><answer>${sum}</answer>` : `${top}</majority><answer>x</answer>`;
    }
    return `<answer>${opts.answersRight && row % 2 === 0 ? sum : sum + 1}</answer>`;
  };
}

function makePeers(bus: InMemoryGameBus, specs: { id: string; answersRight: boolean; wrongCritic?: boolean }[]) {
  const config = defaultGameConfig({ swarmId: 'g', questions: 2, completions: 2, students: 4 });
  return specs.map((s) => {
    const engine = new ScriptedEngine(player(s));
    const runner = new GameRunner(engine, charTokenizer, bus.connect(s.id), config);
    const events: GameEvent[] = [];
    runner.on((e) => events.push(e));
    return { id: s.id, engine, runner, events };
  });
}

async function playRound(peers: { runner: GameRunner }[], round: number): Promise<StageReport[][]> {
  const out: StageReport[][] = [];
  for (const stage of STAGES) out.push((await advanceAll(peers, { round, stage })).flat());
  return out;
}

/** every peer moves at once, as on a clock: all take the new position before anyone publishes */
function advanceAll(peers: { runner: GameRunner }[], position: StagePosition): Promise<StageReport[][]> {
  return Promise.all(peers.map((p) => p.runner.advance(position)));
}

const drops = (events: GameEvent[]) => events.filter((e): e is Extract<GameEvent, { type: 'drop' }> => e.type === 'drop');

describe('GameRunner on the in-memory bus', () => {
  it('plays answer → critique → resolve, the majority names a correct student, votes pick a winner', async () => {
    const bus = new InMemoryGameBus();
    const peers = makePeers(bus, [
      { id: 'p1', answersRight: true },
      { id: 'p2', answersRight: false },
      { id: 'p3', answersRight: true },
    ]);
    const [answer, critique, resolve] = await playRound(peers, 0);
    expect(answer.map((r) => r.stage)).toEqual(['answer', 'answer', 'answer']);
    // p2 answers wrong everywhere: its groups have no signal and it takes no step
    expect(answer.map((r) => r.step.sequences > 0)).toEqual([true, false, true]);
    for (const r of critique) {
      for (const q of r.questions) {
        expect(q.students).toHaveLength(3);
        expect(q.students.filter((s) => s.correct).map((s) => s.peerId).sort()).toEqual(['p1', 'p3']);
      }
    }
    for (const r of resolve) {
      for (const q of r.questions) {
        expect(q.picks).toHaveLength(3);
        expect(q.majority).not.toBeNull();
        expect(q.majorityCorrect).toBe(true);
      }
      expect(r.meanReward).toBeCloseTo((1.6 + 0.6) / 2, 12);
    }
    for (const p of peers) expect(p.engine.steps).toBe(p.id === 'p2' ? 2 : 3);
    // the round ends: every peer votes, every peer holds every vote
    await advanceAll(peers, { round: 1, stage: 'answer' });
    const tallies = peers.map((p) => p.runner.tally(0));
    for (const t of tallies) {
      expect(t.standings.reduce((s, x) => s + x.votes, 0)).toBe(6);
      expect(t.winners).toEqual(tallies[0].winners);
      expect(t.winners.length).toBeGreaterThan(0);
    }
    for (const p of peers) expect(drops(p.events)).toEqual([]);
  });

  it('a peer that joins mid-round sits it out and plays the next round', async () => {
    const bus = new InMemoryGameBus();
    const peers = makePeers(bus, [{ id: 'p1', answersRight: true }, { id: 'p2', answersRight: true }]);
    await advanceAll(peers, { round: 0, stage: 'answer' });
    const [late] = makePeers(bus, [{ id: 'late', answersRight: true }]);
    for (const stage of ['critique', 'resolve'] as const) {
      await advanceAll([...peers, late], { round: 0, stage });
    }
    expect(late.events.filter((e) => e.type === 'missed').map((e) => (e.type === 'missed' ? e.stage : ''))).toEqual(['critique', 'resolve']);
    expect(late.engine.sampleCalls).toHaveLength(0);
    const round1 = await playRound([...peers, late], 1);
    expect(round1[0]).toHaveLength(3);
    for (const q of round1[1][0].questions) expect(q.students.map((s) => s.peerId)).toContain('late');
    // the late peer cast no vote for round 0 (it did not play it)
    expect(peers[0].runner.tally(0).standings.reduce((s, x) => s + x.votes, 0)).toBe(4);
  });

  it('a peer missing from a stage leaves the others playing on what arrived', async () => {
    const bus = new InMemoryGameBus();
    const peers = makePeers(bus, [{ id: 'p1', answersRight: true }, { id: 'p2', answersRight: true }, { id: 'gone', answersRight: true }]);
    await advanceAll(peers, { round: 0, stage: 'answer' });
    // "gone" never plays critique or resolve
    for (const stage of ['critique', 'resolve'] as const) await advanceAll(peers.slice(0, 2), { round: 0, stage });
    const last = peers[0].events.filter((e) => e.type === 'stage').at(-1);
    expect(last?.type === 'stage' && last.report.questions.every((q) => q.picks.length === 2 && q.majorityCorrect === true)).toBe(true);
  });

  it('drops late and malformed critiques with reasons, and they do not move the majority', async () => {
    const bus = new InMemoryGameBus();
    const peers = makePeers(bus, [
      { id: 'p1', answersRight: true },
      { id: 'p2', answersRight: false },
      { id: 'slow', answersRight: true, wrongCritic: true },
    ]);
    await advanceAll(peers, { round: 0, stage: 'answer' });
    bus.holdBack((m) => m.peerId === 'slow' && m.kind === 'critique');
    await advanceAll(peers, { round: 0, stage: 'critique' });
    const first = peers[0].events.find((e) => e.type === 'stage' && e.report.stage === 'critique');
    if (first?.type !== 'stage') throw new Error('no critique report');
    expect(first.report.questions[0].students).toHaveLength(3);
    const { family, seed, difficulty } = first.report.questions[0].task;
    const base = { kind: 'critique' as const, swarmId: 'g', round: 0, task: { family, seed, difficulty } };
    const junk: GameMessage[] = [
      { ...base, peerId: 'r1', text: 'everyone is wrong', about: 'p2' },
      { ...base, peerId: 'r2', text: `${CRITIQUE_OPEN}1</identify>${CRITIQUE_OPEN}2</identify>`, about: 'p2' },
      { ...base, peerId: 'r3', text: `${CRITIQUE_OPEN}42</identify>`, about: 'p2' },
      { ...base, peerId: 'r4', text: 'x'.repeat(3 * 1024 * 1024), about: 'p2' },
      { ...base, peerId: 'r5', task: { family: 'basic_arithmetic', seed: 1, difficulty: 1 }, text: `${CRITIQUE_OPEN}1</identify>`, about: 'p2' },
      { ...base, peerId: 'r6', swarmId: 'elsewhere', text: `${CRITIQUE_OPEN}1</identify>` },
      { ...base, peerId: 'r7', text: `${CRITIQUE_OPEN}1</identify>`, about: 'not-a-student' },
      // a well-formed critique from a stranger counts once; its second one for the question does not
      { ...base, peerId: 'r8', text: `${CRITIQUE_OPEN}1</identify>`, about: first.report.questions[0].students[0].peerId },
      { ...base, peerId: 'r8', text: `${CRITIQUE_OPEN}2</identify>`, about: first.report.questions[0].students[1].peerId },
    ];
    for (const m of junk) await bus.connect(`${m.peerId}-${junk.indexOf(m)}`).publish(m);
    await advanceAll(peers, { round: 0, stage: 'resolve' });
    bus.releaseHeld();
    const reasons = drops(peers[0].events).map((d) => d.reason);
    expect(reasons).toEqual(expect.arrayContaining([
      expect.stringContaining('a second message'),
      'more than 1024 characters',
      'not a question of this round',
      'not a message of this swarm',
      'critique names no student',
      'critique names more than one student',
      'critique student number out of range',
      'the named student is not the one it is about (another student list)',
      expect.stringMatching(/^late: critique of round 0 closed/),
    ]));
    const resolve = peers[0].events.filter((e) => e.type === 'stage').at(-1);
    if (resolve?.type !== 'stage') throw new Error('no resolve report');
    // p1's and p2's honest critiques, plus r8's first on question 0: the slow one came late, the malformed
    // ones did not count
    expect(resolve.report.questions.map((q) => q.picks.length)).toEqual([3, 2]);
    for (const q of resolve.report.questions) expect(q.majorityCorrect).toBe(true);
  });

  it('refuses a second vote message and votes outside their window', async () => {
    const bus = new InMemoryGameBus();
    const peers = makePeers(bus, [{ id: 'p1', answersRight: true }, { id: 'p2', answersRight: true }]);
    const rogue = bus.connect('rogue');
    await playRound(peers, 0);
    await advanceAll(peers, { round: 1, stage: 'answer' });
    const refs = peers[0].runner.tally(0);
    expect(refs.standings.reduce((s, x) => s + x.votes, 0)).toBe(4);
    const stage = peers[0].events.find((e) => e.type === 'stage');
    const task = stage?.type === 'stage' ? stage.report.questions[0].task : null;
    const tref = { family: task!.family, seed: task!.seed, difficulty: task!.difficulty };
    await rogue.publish({ kind: 'vote', swarmId: 'g', round: 0, peerId: 'rogue', votes: [{ task: tref, peerId: 'rogue' }] });
    await rogue.publish({ kind: 'vote', swarmId: 'g', round: 0, peerId: 'rogue', votes: [{ task: tref, peerId: 'rogue' }] });
    await rogue.publish({ kind: 'vote', swarmId: 'g', round: 7, peerId: 'rogue', votes: [{ task: tref, peerId: 'rogue' }] });
    await rogue.publish({ kind: 'vote', swarmId: 'g', round: 0, peerId: 'p9', votes: Array.from({ length: 50 }, () => ({ task: tref, peerId: 'rogue' })) });
    const t = peers[0].runner.tally(0);
    expect(t.standings.find((s) => s.peerId === 'rogue')?.votes).toBe(1);
    expect(drops(peers[0].events).map((d) => d.reason)).toEqual(['a second vote message from this voter', 'vote outside its window', 'malformed vote message']);
  });
});
