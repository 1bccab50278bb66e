// Statistics for the experiment: the paired difference between two arms run on the same seeds, with a
// two-sided 95% confidence interval from Student's t (few seeds: a normal interval would be too narrow).
// Pure functions; tested on hand-made inputs.

export class StatsError extends Error {
  override name = 'StatsError';
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) throw new StatsError('mean of no values');
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** sample standard deviation (n - 1) */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) throw new StatsError('a sample standard deviation needs at least 2 values');
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/** two-sided 97.5% quantiles of Student's t for df 1..30; beyond, the normal value is within 1% */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new StatsError(`degrees of freedom must be a positive integer, got ${df}`);
  return df <= 30 ? T975[df - 1] : df <= 60 ? 2.0 : df <= 120 ? 1.98 : 1.96;
}

export interface Interval {
  n: number;
  mean: number;
  /** half-width of the 95% interval */
  halfWidth: number;
  low: number;
  high: number;
}

/** mean and 95% t interval of a sample */
export function confidenceInterval95(xs: readonly number[]): Interval {
  const m = mean(xs);
  const halfWidth = tQuantile975(xs.length - 1) * sampleStd(xs) / Math.sqrt(xs.length);
  return { n: xs.length, mean: m, halfWidth, low: m - halfWidth, high: m + halfWidth };
}

export interface PairedDifference extends Interval {
  /** mean(a) / mean(b) - 1, the relative gain of a over b (NaN when mean(b) is 0) */
  relative: number;
  /** the interval lies entirely above or below 0 */
  excludesZero: boolean;
}

/** a[i] - b[i] over seeds i (same seed, two arms) */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length) throw new StatsError(`paired samples differ in length: ${a.length} and ${b.length}`);
  const ci = confidenceInterval95(a.map((x, i) => x - b[i]));
  const mb = mean(b);
  return { ...ci, relative: mb === 0 ? NaN : mean(a) / mb - 1, excludesZero: ci.low > 0 || ci.high < 0 };
}
