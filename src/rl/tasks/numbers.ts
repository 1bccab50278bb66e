// Exact answer comparison. Answers are parsed into rationals (BigInt numerator / denominator) so that
// "7", "7.0", "+7", "14/2" and "1,000" compare as the numbers they denote, with no float rounding.

export interface Rational {
  num: bigint;
  den: bigint; // > 0, reduced
}

const MAX_NUMBER_CHARS = 64;

function gcdBig(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

export function rational(num: bigint, den: bigint): Rational {
  if (den === 0n) throw new RangeError('rational: zero denominator');
  const sign = den < 0n ? -1n : 1n;
  const g = gcdBig(num, den) || 1n;
  return { num: (sign * num) / g, den: (sign * den) / g };
}

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d*))?$|^([+-]?)\.(\d+)$/;

/** Integer, decimal or a/b; thousands separators allowed in integers. null when not a number. */
export function parseRational(text: string): Rational | null {
  const s = text.replace(/\s+/g, '');
  if (s.length === 0 || s.length > MAX_NUMBER_CHARS) return null;
  const slash = s.indexOf('/');
  if (slash >= 0) {
    const a = parseRational(s.slice(0, slash));
    const b = parseRational(s.slice(slash + 1));
    if (!a || !b || b.num === 0n) return null;
    return rational(a.num * b.den, a.den * b.num);
  }
  const plain = /^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$/.test(s) ? s.replace(/,/g, '') : s;
  const m = DECIMAL.exec(plain);
  if (!m) return null;
  const sign = (m[1] ?? m[4]) === '-' ? -1n : 1n;
  const whole = m[2] ?? '0';
  const frac = m[3] ?? m[5] ?? '';
  const den = 10n ** BigInt(frac.length);
  return rational(sign * BigInt(whole + frac), den);
}

export function sameNumber(answer: string, expected: Rational): boolean {
  const got = parseRational(answer);
  return got !== null && got.num === expected.num && got.den === expected.den;
}

export function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y) [x, y] = [y, x % y];
  return x;
}
