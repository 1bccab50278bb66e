// The game view reducer: stage reports fold into per-round rows (answer, students, critique and pick,
// majority), votes into standings, drops and reward points stay bounded, and nothing is mutated.
import { describe, expect, it } from 'vitest';
import { emptyGameView, GAME_VIEW_LIMITS, reduceGame, withStandings } from '../../../src/app/lib/game-view.ts';
import type { GameEvent, QuestionView, StageReport } from '../../../src/rl/game/runner.ts';
import { generateTask } from '../../../src/rl/tasks/index.ts';

const task = generateTask({ family: 'basic_arithmetic', seed: 7, difficulty: 1 });
const ref = { family: task.family, seed: task.seed, difficulty: task.difficulty };
const students = [
  { index: 1, peerId: 'other', answer: '3', correct: false },
  { index: 2, peerId: 'me', answer: task.answer, correct: true },
];

function report(stage: StageReport['stage'], q: Partial<QuestionView>, round = 4): GameEvent {
  const question: QuestionView = { task, published: null, students: [], picks: [], majority: null, majorityCorrect: null, ...q };
  return { type: 'stage', report: { peerId: 'me', round, stage, meanReward: 0.5, accuracy: 0.25, formatRate: 1, questions: [question], step: { sequences: 0, tokens: 0, loss: 0, seconds: 0 } as never } };
}

describe('reduceGame', () => {
  it('folds a round into one row: answer, students, critique with its pick, majority, votes and winners', () => {
    const start = emptyGameView('me');
    let v = reduceGame(start, report('answer', { published: `<answer>${task.answer}</answer>` }));
    v = reduceGame(v, report('critique', { published: '<identify>Student #2</identify>', students }));
    v = reduceGame(v, report('resolve', { published: '<majority>Student #2</majority>', students, picks: [2, 2, 1], majority: 2, majorityCorrect: true }));
    v = reduceGame(v, { type: 'votes', peerId: 'me', round: 4, votes: [{ task: ref, peerId: 'other' }], tally: { round: 4, standings: [{ peerId: 'other', votes: 1 }], winners: ['other'], dropped: [] } });
    expect(start).toEqual(emptyGameView('me'));
    expect(v.position).toEqual({ round: 4, stage: 'resolve' });
    const [row] = v.rounds;
    expect(row.questions[0]).toMatchObject({ answer: `<answer>${task.answer}</answer>`, critique: '<identify>Student #2</identify>', pick: 2, majority: 2, majorityCorrect: true, picks: [2, 2, 1] });
    expect(row.questions[0].students.map((s) => [s.index, s.own])).toEqual([[1, false], [2, true]]);
    expect(row.votes).toEqual([{ question: 0, peerId: 'other' }]);
    expect(row.winners).toEqual(['other']);
    expect(v.rewards.answer).toEqual([{ round: 4, reward: 0.5, accuracy: 0.25 }]);
    const later = withStandings(v, [{ round: 4, standings: [{ peerId: 'me', votes: 2 }, { peerId: 'other', votes: 1 }], winners: ['me'], dropped: [] }]);
    expect(later.rounds[0].winners).toEqual(['me']);
  });

  it('a view that starts at the resolve (a tab reloaded after its critique) shows the students it resolved over', () => {
    const v = reduceGame(emptyGameView('me'), report('resolve', { published: '<majority>Student #2</majority>', students, picks: [2], majority: 2, majorityCorrect: true }));
    expect(v.position).toEqual({ round: 4, stage: 'resolve' });
    expect(v.rounds[0].questions[0].students.map((s) => [s.index, s.answer, s.own])).toEqual([[1, '3', false], [2, task.answer, true]]);
    expect(v.rounds[0].questions[0].critique).toBeNull();
  });

  it('keeps rounds, drops and texts bounded', () => {
    let v = emptyGameView('me');
    for (let r = 0; r < 20; r++) v = reduceGame(v, report('answer', { published: 'x'.repeat(10_000) }, r));
    for (let i = 0; i < 50; i++) v = reduceGame(v, { type: 'drop', peerId: 'me', from: 'p', round: 1, stage: 'critique', reason: `r${i}` });
    expect(v.rounds.map((r) => r.round)).toEqual([14, 15, 16, 17, 18, 19]);
    expect(v.rounds[0].questions[0].answer).toHaveLength(GAME_VIEW_LIMITS.textChars);
    expect(v.drops).toHaveLength(GAME_VIEW_LIMITS.drops);
    expect(v.drops.at(-1)?.reason).toBe('r49');
  });
});
