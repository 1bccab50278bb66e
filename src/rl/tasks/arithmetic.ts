// Number families: basic arithmetic, chain sums, decimals, fraction simplification, base conversion.
import { Rng } from '../rng.ts';
import { gcd, parseRational, rational, sameNumber } from './numbers.ts';
import type { Task, TaskFamily } from './types.ts';

function numericTask(family: string, seed: number, difficulty: number, prompt: string, answer: bigint | string, metadata: Task['metadata'] = {}): Task {
  return { family, seed, difficulty, prompt, answer: String(answer), metadata };
}

/** numeric answers compare by value: "7", "7.0", "+7" and "14/2" are all 7 */
function verifyNumeric(task: Task, answer: string): boolean {
  const expected = parseRational(task.answer);
  return expected !== null && sameNumber(answer, expected);
}

type Op = '+' | '-' | '*';
const apply = (a: number, op: Op, b: number): number => (op === '+' ? a + b : op === '-' ? a - b : a * b);

export const basicArithmetic: TaskFamily = {
  name: 'basic_arithmetic',
  generate(seed, difficulty) {
    const rng = new Rng(seed);
    let expr: string;
    let value: number;
    if (difficulty <= 2) {
      const op: Op = difficulty === 1 ? '+' : rng.pick(['+', '-'] as const);
      let a = rng.int(0, 9);
      let b = rng.int(0, 9);
      if (op === '-' && b > a) [a, b] = [b, a];
      expr = `${a}${op}${b}`;
      value = apply(a, op, b);
    } else if (difficulty === 3) {
      const op = rng.pick(['+', '-'] as const);
      const a = rng.int(10, 99);
      const b = rng.int(10, 99);
      expr = `${a}${op}${b}`;
      value = apply(a, op, b);
    } else if (difficulty === 4) {
      const a = rng.int(2, 19);
      const b = rng.int(2, 12);
      expr = `${a}*${b}`;
      value = a * b;
    } else {
      const [o1, o2] = [rng.pick(['+', '-', '*'] as const), rng.pick(['+', '-', '*'] as const)];
      const [a, b, c] = [rng.int(2, 30), rng.int(2, 30), rng.int(2, 12)];
      expr = `(${a}${o1}${b})${o2}${c}`;
      value = apply(apply(a, o1, b), o2, c);
    }
    return numericTask(this.name, seed, difficulty, `${expr}=?`, BigInt(value), { expression: expr });
  },
  verify: verifyNumeric,
};

export const chainSum: TaskFamily = {
  name: 'chain_sum',
  generate(seed, difficulty) {
    const rng = new Rng(seed);
    const count = difficulty + 2;
    const max = [9, 9, 20, 50, 99][difficulty - 1];
    const terms: number[] = [];
    for (let i = 0; i < count; i++) terms.push(rng.int(1, max));
    const signs = terms.map((_, i) => (i > 0 && difficulty >= 4 && rng.next() < 0.4 ? '-' : '+'));
    const value = terms.reduce((s, t, i) => (signs[i] === '-' ? s - t : s + t), 0);
    const expr = terms.map((t, i) => (i === 0 ? `${t}` : `${signs[i]}${t}`)).join('');
    return numericTask(this.name, seed, difficulty, `Sum ${expr}=?`, BigInt(value), { terms });
  },
  verify: verifyNumeric,
};

/** exact decimal string of n / 10^places */
function formatDecimal(n: number, places: number): string {
  const sign = n < 0 ? '-' : '';
  const digits = String(Math.abs(n)).padStart(places + 1, '0');
  const whole = digits.slice(0, digits.length - places);
  const frac = digits.slice(digits.length - places).replace(/0+$/, '');
  return frac ? `${sign}${whole}.${frac}` : `${sign}${whole}`;
}

export const decimalArithmetic: TaskFamily = {
  name: 'decimal_arithmetic',
  generate(seed, difficulty) {
    const rng = new Rng(seed);
    const places = difficulty <= 2 ? 1 : 2;
    const max = [50, 99, 999, 9999, 9999][difficulty - 1];
    const a = rng.int(1, max);
    const b = rng.int(1, max);
    const op: Op = difficulty === 1 ? '+' : difficulty === 5 ? rng.pick(['+', '-', '*'] as const) : rng.pick(['+', '-'] as const);
    const text = `${formatDecimal(a, places)}${op}${formatDecimal(b, places)}`;
    const answer = op === '*' ? formatDecimal(a * b, 2 * places) : formatDecimal(apply(a, op, b), places);
    return numericTask(this.name, seed, difficulty, `${text}=?`, answer, { expression: text });
  },
  verify: verifyNumeric,
};

export const fractionSimplification: TaskFamily = {
  name: 'fraction_simplification',
  generate(seed, difficulty) {
    const rng = new Rng(seed);
    const maxDen = [4, 6, 9, 12, 20][difficulty - 1];
    const den = rng.int(2, maxDen);
    let num = rng.int(1, den - 1);
    const g = gcd(num, den);
    const [p, q] = [num / g, den / g];
    const k = rng.int(2, difficulty + 2);
    num = p * k;
    const shown = `${num}/${q * k}`;
    return { family: this.name, seed, difficulty, prompt: `Simplify ${shown}`, answer: `${p}/${q}`, metadata: { fraction: shown } };
  },
  /** must be the same value AND in lowest terms ("2/4" for 1/2 is not simplified) */
  verify(task, answer) {
    const m = /^\s*([+-]?\d{1,12})\s*(?:\/\s*(\d{1,12}))?\s*$/.exec(answer);
    const expected = parseRational(task.answer);
    if (!m || !expected) return false;
    const num = BigInt(m[1]);
    const den = BigInt(m[2] ?? '1');
    if (den === 0n) return false;
    const reduced = rational(num, den);
    return reduced.num === num && reduced.den === den && reduced.num === expected.num && reduced.den === expected.den;
  },
};

export const baseConversion: TaskFamily = {
  name: 'base_conversion',
  generate(seed, difficulty) {
    const rng = new Rng(seed);
    const [max, bases] = ([
      [7, [2]],
      [15, [2]],
      [63, [2, 3, 4, 5, 8]],
      [255, [2, 8, 16]],
      [999, [2, 3, 5, 7, 8, 16]],
    ] as const)[difficulty - 1];
    const n = rng.int(1, max);
    const base = rng.pick(bases);
    return {
      family: this.name, seed, difficulty,
      prompt: `${n} in base ${base}=?`,
      answer: n.toString(base),
      metadata: { value: n, base },
    };
  },
  verify(task, answer) {
    const base = Number(task.metadata.base);
    const prefix = base === 2 ? '0b' : base === 8 ? '0o' : base === 16 ? '0x' : null;
    let s = answer.replace(/\s+/g, '').toLowerCase();
    if (prefix && s.startsWith(prefix) && s.length > 2) s = s.slice(2);
    if (!/^[0-9a-z]{1,32}$/.test(s)) return false;
    const digits = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, base);
    for (const ch of s) if (!digits.includes(ch)) return false;
    return parseInt(s, base) === Number(task.metadata.value);
  },
};
