// experiment:sapo's plot: per arm (mean over its seeds), cumulative accuracy over rounds, held-out and
// generalisation greedy accuracy over evaluations. Shared by the run itself and experiment-sapo-tables.ts
// (which re-renders merged or committed reports), with the caption's headline comparison.
import { mean } from '../../src/rl/paired.ts';
import type { Comparison, JobResult } from './experiment.ts';
import { renderSvg, type Series } from './plot.ts';

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** "mean [low, high]" to 2 decimals after scaling, "n/a" when there is no interval */
export const formatInterval = (d: { mean: number; low: number; high: number } | undefined, scale = 1) =>
  d ? `${(scale * d.mean).toFixed(2)} [${(scale * d.low).toFixed(2)}, ${(scale * d.high).toFixed(2)}]` : 'n/a';

/** the caption's headline, swarm − isolated-train, or nothing when a report lacks either arm */
export function headlineClause(comparisons: readonly Comparison[]): string {
  const head = comparisons.find((c) => c.a === 'swarm' && c.b === 'isolated-train');
  return head ? `; swarm − isolated I=8, cumulative accuracy ${formatInterval(head.metrics.cumulativeAccuracy)}, held-out points ${formatInterval(head.metrics.heldOutFinal, 100)} (mean [95% CI])` : '';
}

/** arms in the given order (those with results), each a line of the mean over its seeds */
export function sapoSvg(results: JobResult[], armOrder: string[], caption: string): string {
  const present = armOrder.filter((arm) => results.some((r) => r.arm === arm));
  const curve = (pick: (r: JobResult) => [number, number][]) => present.map((arm, i): Series => {
    const mine = results.filter((r) => r.arm === arm).map(pick);
    const points = mine[0].map(([x], k): [number, number] => [x, mean(mine.map((c) => c[k][1]))]);
    return { label: arm, color: COLORS[i % COLORS.length], points };
  });
  return renderSvg([
    { title: 'Cumulative accuracy (sum of per-round correct share)', xLabel: 'round', yLabel: 'cumulative accuracy', series: curve((r) => r.rounds.map((x) => [x.round + 1, x.cumulativeAccuracy])) },
    { title: 'Held-out greedy accuracy (content-disjoint)', xLabel: 'rounds trained', yLabel: 'pass@1', series: curve((r) => r.evals.map((e) => [e.afterRounds, e.passAt1])) },
    { title: 'Generalisation accuracy (one level up)', xLabel: 'rounds trained', yLabel: 'pass@1', series: curve((r) => r.evals.map((e) => [e.afterRounds, e.generalisation ?? 0])) },
  ], caption);
}
