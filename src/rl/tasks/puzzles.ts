// Countdown (reach a target from given numbers) and templated word problems.
import { Rng } from '../rng.ts';
import { parseRational, rational, sameNumber, type Rational } from './numbers.ts';
import type { TaskFamily } from './types.ts';

const MAX_EXPR_CHARS = 100;
const MAX_DEPTH = 16;

export interface ParsedExpression {
  value: Rational;
  /** integer literals in order of appearance */
  numbers: number[];
}

/**
 * Exact evaluation of + - * / and parentheses over integer literals. Returns null on anything else
 * (unknown characters, division by zero, too long, too deep): verifiers never throw.
 */
export function evaluateExpression(text: string): ParsedExpression | null {
  if (text.length > MAX_EXPR_CHARS) return null;
  const tokens = text.replace(/[×x]/g, '*').replace(/÷/g, '/').match(/\d+|[-+*/()]|\S/g) ?? [];
  let pos = 0;
  const numbers: number[] = [];
  const fail = Symbol('fail');

  const add = (a: Rational, b: Rational, sign: bigint) => rational(a.num * b.den + sign * b.num * a.den, a.den * b.den);
  function primary(depth: number): Rational {
    if (depth > MAX_DEPTH) throw fail;
    const t = tokens[pos++];
    if (t === '(') {
      const v = sum(depth + 1);
      if (tokens[pos++] !== ')') throw fail;
      return v;
    }
    if (t === '-') {
      const v = primary(depth + 1);
      return { num: -v.num, den: v.den };
    }
    if (t !== undefined && /^\d{1,9}$/.test(t)) {
      numbers.push(Number(t));
      return { num: BigInt(t), den: 1n };
    }
    throw fail;
  }
  function product(depth: number): Rational {
    let v = primary(depth);
    while (tokens[pos] === '*' || tokens[pos] === '/') {
      const op = tokens[pos++];
      const r = primary(depth);
      if (op === '/' && r.num === 0n) throw fail;
      v = op === '*' ? rational(v.num * r.num, v.den * r.den) : rational(v.num * r.den, v.den * r.num);
    }
    return v;
  }
  function sum(depth: number): Rational {
    let v = product(depth);
    while (tokens[pos] === '+' || tokens[pos] === '-') {
      const sign = tokens[pos++] === '+' ? 1n : -1n;
      v = add(v, product(depth), sign);
    }
    return v;
  }
  try {
    const value = sum(0);
    return pos === tokens.length ? { value, numbers } : null;
  } catch (e) {
    if (e === fail) return null;
    throw e;
  }
}

export const countdown: TaskFamily = {
  name: 'countdown',
  generate(seed, difficulty) {
    const rng = new Rng(seed);
    const count = Math.min(difficulty + 1, 5);
    const max = difficulty <= 2 ? 9 : 25;
    const numbers = Array.from({ length: count }, () => rng.int(1, max));
    // build a target from all numbers left to right, so a solution always exists
    const ops = difficulty <= 1 ? ['+'] : difficulty <= 3 ? ['+', '-'] : ['+', '-', '*'];
    let target = numbers[0];
    let solution = String(numbers[0]);
    for (const n of numbers.slice(1)) {
      let op = rng.pick(ops);
      if (op === '-' && target - n < 0) op = '+';
      if (op === '*' && target * n > 999) op = '+';
      target = op === '+' ? target + n : op === '-' ? target - n : target * n;
      solution = op === '*' ? `(${solution})*${n}` : `${solution}${op}${n}`;
    }
    return {
      family: this.name, seed, difficulty,
      prompt: `Use ${numbers.join(' ')} to make ${target}`,
      answer: solution,
      metadata: { numbers, target },
    };
  },
  /** any expression that uses each given number at most as often as it is given and hits the target */
  verify(task, answer) {
    const parsed = evaluateExpression(answer);
    if (!parsed) return false;
    const available = new Map<number, number>();
    for (const n of task.metadata.numbers as number[]) available.set(n, (available.get(n) ?? 0) + 1);
    for (const n of parsed.numbers) {
      const left = available.get(n) ?? 0;
      if (left === 0) return false;
      available.set(n, left - 1);
    }
    return parsed.value.den === 1n && parsed.value.num === BigInt(task.metadata.target as number);
  },
};

const NAMES = ['Ann', 'Ben', 'Cy', 'Dee', 'Eva', 'Finn', 'Gus', 'Ivy'];
const THINGS = ['apples', 'pens', 'coins', 'cards', 'eggs', 'books'];

type Template = (rng: Rng, max: number) => { text: string; value: number };
const TEMPLATES: Template[] = [
  (rng, max) => {
    const [a, b] = [rng.int(1, max), rng.int(1, max)];
    const [who, what] = [rng.pick(NAMES), rng.pick(THINGS)];
    return { text: `${who} has ${a} ${what} and gets ${b} more. How many now?`, value: a + b };
  },
  (rng, max) => {
    const a = rng.int(2, max + 1);
    const b = rng.int(1, a - 1);
    const [who, what] = [rng.pick(NAMES), rng.pick(THINGS)];
    return { text: `${who} has ${a} ${what} and gives away ${b}. How many left?`, value: a - b };
  },
  (rng, max) => {
    const [a, b] = [rng.int(2, Math.min(max, 12)), rng.int(2, 9)];
    const what = rng.pick(THINGS);
    return { text: `${b} boxes hold ${a} ${what} each. How many ${what}?`, value: a * b };
  },
  (rng, max) => {
    const [a, b, c] = [rng.int(1, max), rng.int(1, max), rng.int(1, max)];
    const [x, y] = rng.sample(NAMES, 2);
    const what = rng.pick(THINGS);
    return { text: `${x} has ${a} ${what}, ${y} has ${b}, then ${x} finds ${c}. How many in total?`, value: a + b + c };
  },
];

export const wordProblems: TaskFamily = {
  name: 'word_problems',
  generate(seed, difficulty) {
    const rng = new Rng(seed);
    const template = TEMPLATES[difficulty <= 1 ? 0 : difficulty <= 2 ? rng.int(0, 1) : rng.int(0, TEMPLATES.length - 1)];
    const { text, value } = template(rng, [5, 9, 20, 50, 99][difficulty - 1]);
    return { family: this.name, seed, difficulty, prompt: text, answer: String(value), metadata: {} };
  },
  verify(task, answer) {
    const expected = parseRational(task.answer);
    // "8 apples" is as good as "8"
    const leading = /^\s*([+-]?\d[\d,]*)\b/.exec(answer);
    return expected !== null && (sameNumber(answer, expected) || (leading !== null && sameNumber(leading[1], expected)));
  },
};
