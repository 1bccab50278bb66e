import { describe, expect, it } from 'vitest';
import { extractAnswer, MAX_SCAN_CHARS } from '../../../src/rl/answer.ts';
import { evaluateExpression } from '../../../src/rl/tasks/puzzles.ts';
import { checkTaskRef, FAMILIES, generateTask, getFamily, scoreCompletion, TaskError } from '../../../src/rl/tasks/index.ts';
import { hashParts, roundSeed, Rng } from '../../../src/rl/rng.ts';

const wrap = (a: string) => `<answer>${a}</answer>`;

describe('task families', () => {
  it('has at least ten families with distinct names', () => {
    expect(FAMILIES.length).toBeGreaterThanOrEqual(10);
    expect(new Set(FAMILIES.map((f) => f.name)).size).toBe(FAMILIES.length);
  });

  it.each(FAMILIES.map((f) => [f.name]))('%s: deterministic, answer key verifies, a wrong answer does not', (name) => {
    const family = getFamily(name);
    for (let difficulty = 1; difficulty <= 5; difficulty++) {
      for (let i = 0; i < 40; i++) {
        const seed = hashParts('test', name, difficulty, i);
        const task = family.generate(seed, difficulty);
        expect(family.generate(seed, difficulty)).toEqual(task);
        expect(task.prompt.length).toBeLessThan(120);
        expect(scoreCompletion(task, wrap(task.answer))).toMatchObject({ correct: true, wellFormed: true, reward: 1.1 });
        expect(scoreCompletion(task, wrap('zzz'))).toMatchObject({ correct: false, wellFormed: true, reward: 0.1 });
        expect(scoreCompletion(task, task.answer).reward).toBe(0);
      }
    }
  });

  it('pins hashes and one task per family (a change here would split a live swarm: peers re-derive tasks)', () => {
    expect(hashParts('tabswarm')).toBe(694850220);
    expect(roundSeed('s', 1, 'p')).toBe(3253811739);
    expect(new Rng(1).nextU32()).toBe(2693262067);
    expect(hashParts('ab', 'c')).not.toBe(hashParts('a', 'bc'));
    expect(FAMILIES.map((f) => f.generate(42, 3)).map((t) => `${t.prompt}|${t.answer}`)).toEqual([
      '50-86=?|-36', 'Sum 13+9+18+14+4=?|58', '6.01-4.48=?|1.53', 'Simplify 5/10|1/2', '38 in base 4=?|212',
      '14 days after Friday is?|Friday', 'A=F B=T. not (not A)?|false', 'Sort ascending: 64 50 86 70 25|25 50 64 70 86',
      'Count m in grammar|2', 'Legs of 3 cats, 2 snakes, 5 spiders?|52', 'Use 16 12 22 17 to make 23|16+12-22+17',
      '8 boxes hold 6 eggs each. How many eggs?|48',
    ]);
  });

  it('accepts harmless variants of an answer', () => {
    const add = { family: 'basic_arithmetic', seed: 0, difficulty: 1, prompt: '3+4=?', answer: '7', metadata: {} };
    for (const a of ['7', ' 7 ', '7.0', '+7', '14/2', '７', '7\u200b']) expect(scoreCompletion(add, wrap(a)).correct, a).toBe(true);
    for (const a of ['8', '7a', 'seven', '', '7 7']) expect(scoreCompletion(add, wrap(a)).correct, a).toBe(false);
    const neg = { ...add, answer: '-3' };
    expect(scoreCompletion(neg, wrap('\u22123')).correct).toBe(true);
    const frac = generateTask({ family: 'fraction_simplification', seed: 5, difficulty: 2 });
    const [p, q] = frac.answer.split('/').map(Number);
    expect(getFamily('fraction_simplification').verify(frac, `${p} / ${q}`)).toBe(true);
    expect(getFamily('fraction_simplification').verify(frac, `${p * 2}/${q * 2}`)).toBe(false);
    const day = { family: 'calendar_arithmetic', seed: 0, difficulty: 1, prompt: '', answer: 'Monday', metadata: { kind: 'weekday', day: 0 } };
    for (const a of ['monday', 'Mon', 'MONDAY']) expect(getFamily('calendar_arithmetic').verify(day, a)).toBe(true);
    const sort = { family: 'sorting', seed: 0, difficulty: 1, prompt: '', answer: '1 2 3', metadata: {} };
    for (const a of ['1 2 3', '1, 2, 3', '[1,2,3]']) expect(getFamily('sorting').verify(sort, a)).toBe(true);
    expect(getFamily('sorting').verify(sort, '1 3 2')).toBe(false);
  });

  it('countdown accepts any expression that uses the given numbers and hits the target', () => {
    const task = { family: 'countdown', seed: 0, difficulty: 3, prompt: '', answer: '3+5', metadata: { numbers: [3, 5, 7], target: 8 } };
    const verify = (a: string) => getFamily('countdown').verify(task, a);
    expect(verify('3+5')).toBe(true);
    expect(verify('5 + 3')).toBe(true);
    expect(verify('(7-5)*3+7-5')).toBe(false); // reuses 7 and 5
    expect(verify('8')).toBe(false); // 8 is not given
    expect(verify('7+5/5')).toBe(false);
    expect(verify('1/0')).toBe(false);
    expect(verify('('.repeat(50) + '3' + ')'.repeat(50))).toBe(false);
    expect(evaluateExpression('2*(3+4)')?.value).toEqual({ num: 14n, den: 1n });
  });

  it('refuses bad task refs with a named error', () => {
    expect(checkTaskRef({ family: 'basic_arithmetic', seed: 1, difficulty: 1 })).toBeNull();
    for (const bad of [null, 1, {}, { family: 'nope', seed: 1, difficulty: 1 }, { family: 'sorting', seed: -1, difficulty: 1 }, { family: 'sorting', seed: 1, difficulty: 6 }, { family: 'sorting', seed: 1.5, difficulty: 1 }]) {
      expect(checkTaskRef(bad)).not.toBeNull();
    }
    expect(() => generateTask({ family: '__proto__', seed: 1, difficulty: 1 })).toThrow(TaskError);
  });
});

describe('extractAnswer', () => {
  it('reads one block, tolerating reasoning before it', () => {
    expect(extractAnswer('<answer>42</answer>')).toEqual({ answer: '42', wellFormed: true });
    expect(extractAnswer('think... <ANSWER> 42 </Answer>\n')).toEqual({ answer: '42', wellFormed: true });
    expect(extractAnswer('<answer>42</answer> trailing')).toEqual({ answer: '42', wellFormed: false });
  });

  it('refuses missing, empty, nested and repeated blocks', () => {
    for (const text of ['42', '<answer>42', '42</answer>', '<answer></answer>', '<answer>  </answer>', '<answer><answer>4</answer></answer>', '<answer>1</answer><answer>2</answer>', '</answer>1<answer>']) {
      expect(extractAnswer(text).answer, text).toBeNull();
    }
    expect(extractAnswer(undefined).answer).toBeNull();
    expect(extractAnswer(`<answer>${'9'.repeat(300)}</answer>`).answer).toBeNull();
  });

  it('survives megabytes and odd unicode quickly, reading only a bounded prefix', () => {
    const big = '<answer>' + '\u{1F600}\u0301'.repeat(1_000_000) + '</answer>';
    const start = performance.now();
    expect(extractAnswer(big)).toEqual({ answer: null, wellFormed: false });
    expect(extractAnswer('<answer>7</answer>' + ' '.repeat(2 * MAX_SCAN_CHARS))).toEqual({ answer: '7', wellFormed: false });
    expect(extractAnswer('<answer>'.repeat(200_000))).toEqual({ answer: null, wellFormed: false });
    const task = generateTask({ family: 'countdown', seed: 3, difficulty: 5 });
    expect(scoreCompletion(task, '<answer>' + '('.repeat(5000) + '</answer>').reward).toBe(0);
    expect(scoreCompletion(task, '\uD800<answer>\u0000\uFFFF</answer>').correct).toBe(false);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});
