// experiment:sapo's plot: per arm (mean over its seeds), cumulative accuracy over rounds, held-out and
// generalisation greedy accuracy over evaluations. Shared by the run itself and experiment-sapo-tables.ts
// (which re-renders merged or committed reports).
import type { JobResult } from './experiment.ts';
import { renderSvg, type Series } from './plot.ts';

export const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const meanOf = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** arms in the given order (those with results), each a line of the mean over its seeds */
export function sapoSvg(results: JobResult[], armOrder: string[], caption: string): string {
  const present = armOrder.filter((arm) => results.some((r) => r.arm === arm));
  const curve = (pick: (r: JobResult) => [number, number][]) => present.map((arm, i): Series => {
    const mine = results.filter((r) => r.arm === arm).map(pick);
    const points = mine[0].map(([x], k): [number, number] => [x, meanOf(mine.map((c) => c[k][1]))]);
    return { label: arm, color: COLORS[i % COLORS.length], points };
  });
  return renderSvg([
    { title: 'Cumulative accuracy (sum of per-round correct share)', xLabel: 'round', yLabel: 'cumulative accuracy', series: curve((r) => r.rounds.map((x) => [x.round + 1, x.cumulativeAccuracy])) },
    { title: 'Held-out greedy accuracy (content-disjoint)', xLabel: 'rounds trained', yLabel: 'pass@1', series: curve((r) => r.evals.map((e) => [e.afterRounds, e.passAt1])) },
    { title: 'Generalisation accuracy (one level up)', xLabel: 'rounds trained', yLabel: 'pass@1', series: curve((r) => r.evals.map((e) => [e.afterRounds, e.generalisation ?? 0])) },
  ], caption);
}
