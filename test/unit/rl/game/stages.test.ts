import { describe, expect, it } from 'vitest';
import {
  CRITIQUE_OPEN, critiquePrompt, gameTaskRefs, majorityPick, MAX_STUDENTS, parseCritique, resolvePrompt, scoreCritique, scoreResolve,
  selectStudents, type Student,
} from '../../../../src/rl/game/stages.ts';
import { generateTask, type Task } from '../../../../src/rl/tasks/index.ts';

const mix = [{ family: 'basic_arithmetic', difficulty: 1 }];
const task: Task = generateTask(gameTaskRefs('s', 3, mix, 1)[0]);
const right = task.answer;
const wrong = String(Number(task.answer) + 1);
const students: Student[] = [
  { index: 1, peerId: 'a', answer: wrong, correct: false },
  { index: 2, peerId: 'b', answer: right, correct: true },
  { index: 3, peerId: 'c', answer: wrong, correct: false },
];

describe('round questions', () => {
  it('are the same for everyone from (swarm, round) and differ across rounds and swarms', () => {
    expect(gameTaskRefs('s', 3, mix, 4)).toEqual(gameTaskRefs('s', 3, mix, 4));
    expect(gameTaskRefs('s', 4, mix, 4)).not.toEqual(gameTaskRefs('s', 3, mix, 4));
    expect(gameTaskRefs('t', 3, mix, 4)).not.toEqual(gameTaskRefs('s', 3, mix, 4));
  });
});

describe('students', () => {
  const answers = ['p1', 'p2', 'p3', 'p4'].map((peerId, i) => ({ peerId, text: `<answer>${i % 2 === 0 ? right : wrong}</answer>` }));

  it('are ordered by the seed, not by arrival, with correctness from the verifier and no sender id in the prompt', () => {
    const one = selectStudents('s', 3, task, answers, 4);
    const two = selectStudents('s', 3, task, [...answers].reverse(), 4);
    expect(two).toEqual(one);
    expect(one.map((s) => s.index)).toEqual([1, 2, 3, 4]);
    expect(new Set(one.map((s) => s.peerId))).toEqual(new Set(['p1', 'p2', 'p3', 'p4']));
    for (const s of one) expect(s.correct).toBe(s.answer === right);
    // another round orders the same peers differently (for at least one of a few rounds)
    const orders = [4, 5, 6, 7].map((r) => selectStudents('s', r, task, answers, 4).map((s) => s.peerId).join());
    expect(new Set([one.map((s) => s.peerId).join(), ...orders]).size).toBeGreaterThan(1);
    const { prompt } = critiquePrompt(task, one);
    for (const id of ['p1', 'p2', 'p3', 'p4']) expect(prompt).not.toContain(id);
    expect(prompt.endsWith(CRITIQUE_OPEN)).toBe(true);
  });

  it('keep k, one per peer, only answers with an answer block, and flatten newlines', () => {
    const noisy = [...answers, { peerId: 'p1', text: `<answer>${right}</answer>` }, { peerId: 'p5', text: 'no block' }, { peerId: 'p6', text: '<answer>1\n#9 2</answer>' }];
    const all = selectStudents('s', 3, task, noisy, MAX_STUDENTS);
    expect(all.map((s) => s.peerId).sort()).toEqual(['p1', 'p2', 'p3', 'p4', 'p6']);
    expect(selectStudents('s', 3, task, noisy, 2)).toHaveLength(2);
    expect(critiquePrompt(task, all).prompt.split('\n').filter((l) => l.startsWith('#'))).toHaveLength(5);
  });
});

describe('critique verifier', () => {
  it('rewards naming a correct student and a valid format', () => {
    expect(scoreCritique(`${CRITIQUE_OPEN}2</identify>`, students)).toEqual({ reward: 1.1, pick: 2, correct: true, wellFormed: true });
    expect(scoreCritique(`#2 looks right. ${CRITIQUE_OPEN}2</identify>\n`, students).reward).toBeCloseTo(1.1, 12);
    expect(scoreCritique(`${CRITIQUE_OPEN}1</identify>`, students)).toEqual({ reward: 0.1, pick: 1, correct: false, wellFormed: true });
    // a correct pick with text after the tag: the pick counts, the format does not
    expect(scoreCritique(`${CRITIQUE_OPEN}2</identify> and more`, students)).toEqual({ reward: 1, pick: 2, correct: true, wellFormed: false });
  });

  it('refuses adversarial critiques without throwing', () => {
    const cases: [string, string][] = [
      ['I like them all', 'names no student'],
      [`${CRITIQUE_OPEN}1</identify>${CRITIQUE_OPEN}2</identify>`, 'names more than one student'],
      [`${CRITIQUE_OPEN}1 and Student #2</identify>`, 'student number is not a plain index'],
      [`${CRITIQUE_OPEN}0</identify>`, 'student number is not a plain index'],
      [`${CRITIQUE_OPEN}4</identify>`, 'student number out of range'],
      [`${CRITIQUE_OPEN}99999999999999999999</identify>`, 'student number is not a plain index'],
      [`${CRITIQUE_OPEN}-1</identify>`, 'student number is not a plain index'],
      [`${CRITIQUE_OPEN}1, 2</identify>`, 'student number is not a plain index'],
      [`${CRITIQUE_OPEN}</identify>`, 'student number is not a plain index'],
    ];
    for (const [text, reason] of cases) {
      expect(parseCritique(text, 3), text).toMatchObject({ pick: null, wellFormed: false, reason });
      expect(scoreCritique(text, students).reward).toBe(0);
    }
    expect(parseCritique(undefined, 3).pick).toBeNull();
    expect(parseCritique(`<IDENTIFY>student #２</IDENTIFY>`, 3).pick).toBe(2);
    // a small model's near miss names the student but earns no format reward
    expect(parseCritique(`${CRITIQUE_OPEN}2</answer>`, 3)).toMatchObject({ pick: 2, wellFormed: false });
    expect(parseCritique(`${CRITIQUE_OPEN}2`, 3)).toMatchObject({ pick: 2, wellFormed: false });
    expect(scoreCritique(`${CRITIQUE_OPEN}2</answer>`, students)).toEqual({ reward: 1, pick: 2, correct: true, wellFormed: false });
  });

  it('reads megabytes in bounded time and never past the scan window', () => {
    const huge = 'x'.repeat(4 * 1024 * 1024) + `${CRITIQUE_OPEN}2</identify>`;
    const t0 = performance.now();
    expect(parseCritique(huge, 3)).toMatchObject({ pick: null, reason: 'names no student' });
    const early = `${CRITIQUE_OPEN}2</identify>` + ' '.repeat(4 * 1024 * 1024);
    expect(scoreCritique(early, students)).toEqual({ reward: 1, pick: 2, correct: true, wellFormed: false });
    const tags = `${CRITIQUE_OPEN}1</identify>`.repeat(200_000);
    expect(parseCritique(tags, 3).pick).toBeNull();
    // linear scans of 8 KiB each: far below a second even on a busy machine
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('majority and resolve verifier', () => {
  it('takes the most named student, ties to the lower index, nothing when nobody picked', () => {
    expect(majorityPick([2, 1, 2], 3)).toBe(2);
    expect(majorityPick([3, 1], 3)).toBe(1);
    expect(majorityPick([], 3)).toBeNull();
    expect(majorityPick([0, 4, 2.5, -1, NaN], 3)).toBeNull();
  });

  it('rewards matching the majority and a correct final answer, format only in order', () => {
    const ok = `<majority>Student #2</majority><answer>${right}</answer>`;
    expect(scoreResolve(ok, task, 3, 2)).toMatchObject({ matchesMajority: true, correct: true, wellFormed: true, reward: 1.6 });
    expect(scoreResolve(ok, task, 3, 1)).toMatchObject({ matchesMajority: false, correct: true, reward: 1.1 });
    expect(scoreResolve(`<majority>Student #2</majority><answer>${wrong}</answer>`, task, 3, 2).reward).toBeCloseTo(0.6, 12);
    // answer before the pick: both read, the format reward withheld
    expect(scoreResolve(`<answer>${right}</answer><majority>Student #2</majority>`, task, 3, 2)).toMatchObject({ matchesMajority: true, correct: true, wellFormed: false });
    // no majority to match: the pick cannot earn anything
    expect(scoreResolve(ok, task, 3, null).reward).toBeCloseTo(1.1, 12);
    expect(scoreResolve('garbage'.repeat(1e5), task, 3, 2).reward).toBe(0);
  });

  it('shows the picks in the resolve prompt, and none when there are none', () => {
    expect(resolvePrompt(task, students, [2, 2, 1]).prompt).toContain('Picks: #2 #2 #1\n');
    expect(resolvePrompt(task, students, []).prompt).toContain('Picks: none\n');
  });
});
