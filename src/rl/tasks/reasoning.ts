// Word and logic families: calendar arithmetic, propositional logic, sorting, letter and leg counting.
import { Rng } from '../rng.ts';
import { parseRational, sameNumber } from './numbers.ts';
import type { Task, TaskFamily } from './types.ts';

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function verifyInteger(task: Task, answer: string): boolean {
  const expected = parseRational(task.answer);
  return expected !== null && sameNumber(answer, expected);
}

/** "Monday", "monday", "Mon", "mon." all name Monday */
function dayIndex(text: string): number {
  const s = text.trim().toLowerCase().replace(/\.$/, '');
  return DAYS.findIndex((d) => d.toLowerCase() === s || d.slice(0, 3).toLowerCase() === s);
}

function monthIndex(text: string): number {
  const s = text.trim().toLowerCase().replace(/\.$/, '');
  return MONTHS.findIndex((m) => m.toLowerCase() === s || m.slice(0, 3).toLowerCase() === s);
}

export const calendarArithmetic: TaskFamily = {
  name: 'calendar_arithmetic',
  generate(seed, difficulty): Task {
    const rng = new Rng(seed);
    if (difficulty <= 4) {
      const maxShift = [1, 6, 30, 100][difficulty - 1];
      const start = rng.int(0, 6);
      const n = rng.int(1, maxShift);
      const after = difficulty < 4 || rng.next() < 0.5;
      const end = (((start + (after ? n : -n)) % 7) + 7) % 7;
      const dir = after ? 'after' : 'before';
      return {
        family: this.name, seed, difficulty,
        prompt: `${n} day${n === 1 ? '' : 's'} ${dir} ${DAYS[start]} is?`,
        answer: DAYS[end],
        metadata: { kind: 'weekday', day: end },
      };
    }
    // a date in a non-leap year, moved forward 1..60 days
    const month = rng.int(0, 11);
    const day = rng.int(1, MONTH_DAYS[month]);
    const n = rng.int(1, 60);
    let [m, d] = [month, day + n];
    while (d > MONTH_DAYS[m]) [d, m] = [d - MONTH_DAYS[m], (m + 1) % 12];
    return {
      family: this.name, seed, difficulty,
      prompt: `${n} days after ${MONTHS[month]} ${day} (not a leap year) is?`,
      answer: `${MONTHS[m]} ${d}`,
      metadata: { kind: 'date', month: m, day: d },
    };
  },
  verify(task, answer) {
    if (task.metadata.kind === 'weekday') return dayIndex(answer) === task.metadata.day;
    // "April 4", "Apr 4", "4 April"
    const parts = answer.replace(/,/g, ' ').trim().split(/\s+/);
    if (parts.length !== 2) return false;
    const [a, b] = /^\d+$/.test(parts[0]) ? [parts[1], parts[0]] : [parts[0], parts[1]];
    return monthIndex(a) === task.metadata.month && /^\d{1,2}$/.test(b) && Number(b) === task.metadata.day;
  },
};

type Formula = { text: string; value: boolean };

function formula(rng: Rng, vars: Record<string, boolean>, depth: number, ops: readonly string[]): Formula {
  const names = Object.keys(vars);
  if (depth === 0) {
    const v = rng.pick(names);
    return { text: v, value: vars[v] };
  }
  const op = rng.pick(ops);
  if (op === 'not') {
    const inner = formula(rng, vars, depth - 1, ops);
    const text = depth > 1 && inner.text.includes(' ') ? `not (${inner.text})` : `not ${inner.text}`;
    return { text, value: !inner.value };
  }
  const l = formula(rng, vars, depth - 1, ops);
  const r = formula(rng, vars, rng.int(0, depth - 1), ops);
  const wrap = (f: Formula) => (f.text.includes(' ') ? `(${f.text})` : f.text);
  const value = op === 'and' ? l.value && r.value : op === 'or' ? l.value || r.value : op === 'xor' ? l.value !== r.value : !l.value || r.value;
  return { text: `${wrap(l)} ${op === 'implies' ? '->' : op} ${wrap(r)}`, value };
}

export const propositionalLogic: TaskFamily = {
  name: 'propositional_logic',
  generate(seed, difficulty) {
    const rng = new Rng(seed);
    const nVars = [1, 2, 2, 3, 3][difficulty - 1];
    const ops = ([['not'], ['and', 'or'], ['and', 'or', 'not'], ['and', 'or', 'not'], ['and', 'or', 'not', 'xor', 'implies']] as const)[difficulty - 1];
    const depth = [1, 1, 2, 2, 3][difficulty - 1];
    const vars: Record<string, boolean> = {};
    for (const name of ['A', 'B', 'C'].slice(0, nVars)) vars[name] = rng.next() < 0.5;
    const f = formula(rng, vars, depth, ops);
    const given = Object.entries(vars).map(([k, v]) => `${k}=${v ? 'T' : 'F'}`).join(' ');
    return { family: this.name, seed, difficulty, prompt: `${given}. ${f.text}?`, answer: f.value ? 'true' : 'false', metadata: { formula: f.text } };
  },
  verify(task, answer) {
    const s = answer.trim().toLowerCase();
    const value = ['true', 't', '1', 'yes'].includes(s) ? 'true' : ['false', 'f', '0', 'no'].includes(s) ? 'false' : null;
    return value === task.answer;
  },
};

export const sorting: TaskFamily = {
  name: 'sorting',
  generate(seed, difficulty) {
    const rng = new Rng(seed);
    const count = difficulty + 2;
    const [lo, hi] = ([[0, 9], [0, 9], [10, 99], [-50, 50], [-99, 999]] as const)[difficulty - 1];
    const values: number[] = [];
    for (let i = 0; i < count; i++) values.push(rng.int(lo, hi));
    const descending = difficulty >= 4 && rng.next() < 0.5;
    const sorted = values.slice().sort((a, b) => (descending ? b - a : a - b));
    return {
      family: this.name, seed, difficulty,
      prompt: `Sort ${descending ? 'descending' : 'ascending'}: ${values.join(' ')}`,
      answer: sorted.join(' '),
      metadata: { values, descending },
    };
  },
  /** any separators between the numbers: "1 2 3", "1, 2, 3", "[1,2,3]" */
  verify(task, answer) {
    const got = answer.replace(/^\[|\]$/g, '').split(/[\s,;]+/).filter((x) => x.length > 0);
    const want = task.answer.split(' ');
    return got.length === want.length && got.every((g, i) => /^[+-]?\d{1,6}$/.test(g) && Number(g) === Number(want[i]));
  },
};

const WORDS = [
  'apple', 'banana', 'cherry', 'letter', 'yellow', 'balloon', 'coffee', 'mississippi', 'strawberry', 'bookkeeper',
  'pepper', 'level', 'assess', 'committee', 'parallel', 'success', 'address', 'tomato', 'potato', 'grammar',
  'cat', 'dog', 'tree', 'moon', 'book', 'hello', 'seed', 'zoo', 'kiwi', 'lemon', 'mango', 'papaya',
];

export const letterCounting: TaskFamily = {
  name: 'letter_counting',
  generate(seed, difficulty) {
    const rng = new Rng(seed);
    const pool = difficulty <= 2 ? WORDS.filter((w) => w.length <= 5) : WORDS;
    const nWords = difficulty <= 3 ? 1 : difficulty - 2;
    const text = Array.from({ length: nWords }, () => rng.pick(pool)).join(' ');
    const letters = [...new Set(text.replace(/ /g, ''))];
    // easy levels ask about a letter that occurs; harder ones may ask about one that does not
    const letter = difficulty >= 3 && rng.next() < 0.2 ? rng.pick([...'abcdefghijklmnopqrstuvwxyz']) : rng.pick(letters);
    const count = [...text].filter((c) => c === letter).length;
    return { family: this.name, seed, difficulty, prompt: `Count ${letter} in ${text}`, answer: String(count), metadata: { text, letter } };
  },
  verify: verifyInteger,
};

const ANIMALS: [string, string, number][] = [
  ['cat', 'cats', 4], ['dog', 'dogs', 4], ['bird', 'birds', 2], ['spider', 'spiders', 8], ['ant', 'ants', 6],
  ['cow', 'cows', 4], ['duck', 'ducks', 2], ['snake', 'snakes', 0], ['crab', 'crabs', 10], ['horse', 'horses', 4],
];

export const legCounting: TaskFamily = {
  name: 'leg_counting',
  generate(seed, difficulty) {
    const rng = new Rng(seed);
    const kinds = rng.sample(difficulty <= 2 ? ANIMALS.slice(0, 3) : ANIMALS, Math.min(difficulty, 4));
    const maxCount = [1, 3, 5, 9, 20][difficulty - 1];
    let total = 0;
    const parts = kinds.map(([one, many, legs]) => {
      const n = rng.int(1, maxCount);
      total += n * legs;
      return `${n} ${n === 1 ? one : many}`;
    });
    return { family: this.name, seed, difficulty, prompt: `Legs of ${parts.join(', ')}?`, answer: String(total), metadata: { parts } };
  },
  verify: verifyInteger,
};
