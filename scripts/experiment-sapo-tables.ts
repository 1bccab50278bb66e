// The README's tables from one or more experiment:sapo reports (sapo.json), merged by (arm, seed): runs
// made one after another on the same seeds and settings pair by seed like one run, so the comparisons
// (scripts/model/experiment.ts COMPARISONS, plus any --pair a:b) are made across them. Refuses reports
// whose settings differ. Also, per arm, how far held-out accuracy moved within the run (each evaluation minus
// the start, 95% t interval over seeds): the lone-tab figure for isolated-train. Prints Markdown; --json
// writes the merged per-arm figures, comparisons and held-out changes; --svg re-draws the run's plot
// (scripts/model/sapo-plot.ts) from the merged jobs.
//
//   npm run tsnode -- scripts/experiment-sapo-tables.ts .tabswarm/run-a/sapo.json .tabswarm/run-b/sapo.json
//   options: --pair swarm-hetero:isolated-train (repeatable) --json merged.json --svg merged.svg
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ARMS, COMPARISONS, compare, seedFigures, type Comparison, type JobResult } from './model/experiment.ts';
import { confidenceInterval95 } from '../src/rl/paired.ts';
import { headlineClause, sapoSvg } from './model/sapo-plot.ts';

const { values: a, positionals: files } = parseArgs({ allowPositionals: true, options: { pair: { type: 'string', multiple: true, default: [] }, json: { type: 'string' }, svg: { type: 'string' } } });
if (files.length === 0) {
  console.error('usage: experiment-sapo-tables.ts sapo.json [more.json …] [--pair a:b] [--json out.json] [--svg out.svg]');
  process.exit(2);
}

interface Report {
  summary: { rounds: number; peers: number; completions: number; lr: number; evalEvery: number; evalPerEntry: number; seconds: number };
  jobs: JobResult[];
}
const SETTINGS = ['rounds', 'peers', 'completions', 'lr', 'evalEvery', 'evalPerEntry'] as const;
const reports = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Report);
for (const [i, r] of reports.entries()) {
  if (!Array.isArray(r.jobs)) throw new Error(`${files[i]} has no jobs (a trimmed copy?): use the report the run wrote`);
  const differ = SETTINGS.filter((k) => r.summary[k] !== reports[0].summary[k]);
  if (differ.length) throw new Error(`${files[i]} differs from ${files[0]} in ${differ.map((k) => `${k} (${r.summary[k]} vs ${reports[0].summary[k]})`).join(', ')}: not pairable`);
}
const jobs = new Map<string, JobResult>();
for (const r of reports) for (const j of r.jobs) {
  const key = `${j.arm}/${j.seed}`;
  if (jobs.has(key)) throw new Error(`${key} appears in two reports`);
  jobs.set(key, j);
}
const all = [...jobs.values()];
const armOrder = ARMS.map((x) => x.name).filter((n) => all.some((j) => j.arm === n));
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const num = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const signed = (x: number, d = 2) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(d)}`;

const perArm = armOrder.map((name) => {
  const mine = all.filter((j) => j.arm === name);
  const f = mine.map(seedFigures);
  const pick = (k: keyof (typeof f)[0]) => mean(f.map((x) => x[k]));
  // per step: mean over rounds (and seeds) of the mean over peers, as simulate reports it
  const external = mean(mine.map((j) => mean(j.rounds.map((r) => r.externalGroups))));
  // older reports lack these two (NaN is printed as n/a)
  const available = mean(mine.map((j) => mean(j.rounds.map((r) => r.externalAvailable ?? NaN))));
  const offSeed = mean(mine.map((j) => mean(j.rounds.map((r) => r.offSeedGroups ?? NaN))));
  // does training accuracy move at all within the run (it bounds what any arm can gain on the cumulative figure)
  const tenth = Math.max(1, Math.floor(mine[0].rounds.length / 4));
  const accFirst = mean(mine.map((j) => mean(j.rounds.slice(0, tenth).map((r) => r.accuracy))));
  const accLast = mean(mine.map((j) => mean(j.rounds.slice(-tenth).map((r) => r.accuracy))));
  const half = Math.floor(mine[0].rounds.length / 2);
  const signalFirst = mean(mine.map((j) => mean(j.rounds.slice(0, half).map((r) => r.signalShare))));
  const signalLast = mean(mine.map((j) => mean(j.rounds.slice(half).map((r) => r.signalShare))));
  return {
    arm: name, label: ARMS.find((x) => x.name === name)!.label, seeds: mine.length,
    cumulativeAccuracy: pick('cumulativeAccuracy'), heldOutStart: pick('heldOutStart'), heldOutFinal: pick('heldOutFinal'),
    heldOutMean: pick('heldOutMean'), generalisationFinal: pick('generalisationFinal'), signalShare: pick('signalShare'),
    accFirst, accLast, signalFirst, signalLast, externalPerStep: external, externalAvailable: available, offSeedPerStep: offSeed, seconds: mean(mine.map((j) => j.seconds)),
  };
});

const pairs: [string, string][] = [...COMPARISONS, ...a.pair!.map((p) => p.split(':') as [string, string])];
const seen = new Set<string>();
const comparisons = pairs.filter(([x, y]) => !seen.has(`${x}:${y}`) && seen.add(`${x}:${y}`) && armOrder.includes(x) && armOrder.includes(y))
  .map(([x, y]) => compare(all, x, y)).filter((c): c is Comparison => c !== null);

const s0 = reports[0].summary;
console.log(`${reports.length} report(s), ${all.length} jobs, ${s0.rounds} rounds × ${s0.peers} peers, G=${s0.completions}, lr ${s0.lr}, evaluated every ${s0.evalEvery} rounds on ${s0.evalPerEntry} prompts per entry; ${reports.map((r) => r.summary.seconds.toFixed(0)).join(' + ')} s\n`);
console.log('| arm | seeds | cumulative accuracy | sampled accuracy, first → last quarter of rounds | held-out start → end | held-out mean after round 0 | generalisation end | local groups with signal (rounds 1–half / half–end) | external groups per step (on offer with signal; refused off-seed) | s per job |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of perArm) {
  console.log(`| ${r.arm}: ${r.label} | ${r.seeds} | ${r.cumulativeAccuracy.toFixed(2)} | ${pct(r.accFirst)} → ${pct(r.accLast)} | ${pct(r.heldOutStart)} → ${pct(r.heldOutFinal)} | ${pct(r.heldOutMean)} | ${pct(r.generalisationFinal)} | ${(100 * r.signalShare).toFixed(0)}% (${(100 * r.signalFirst).toFixed(0)} / ${(100 * r.signalLast).toFixed(0)}%) | ${r.externalPerStep.toFixed(2)} (${num(r.externalAvailable)}; ${num(r.offSeedPerStep)}) | ${r.seconds.toFixed(0)} |`);
}
console.log('\n| comparison (paired by seed) | seeds | cumulative accuracy: diff [95% CI] (relative) | held-out end, points [95% CI] | held-out mean over evals, points [95% CI] | generalisation end, points [95% CI] |');
console.log('|---|---|---|---|---|---|');
/** mean [low, high], bold when the interval excludes 0 */
const ci = (d: { mean: number; low: number; high: number } | undefined, scale: number, digits = 2) => {
  if (!d) return 'n/a';
  const text = `${signed(scale * d.mean, digits)} [${signed(scale * d.low, digits)}, ${signed(scale * d.high, digits)}]`;
  return d.low > 0 || d.high < 0 ? `**${text}**` : text;
};
for (const c of comparisons) {
  const ca = c.metrics.cumulativeAccuracy!;
  console.log(`| ${c.a} − ${c.b} | ${c.seeds} | ${ci(ca, 1)} (${signed(100 * ca.relative, 1)}%) | ${ci(c.metrics.heldOutFinal, 100)} | ${ci(c.metrics.heldOutMean, 100)} | ${ci(c.metrics.generalisationFinal, 100)} |`);
}
console.log('\n(bold: the 95% interval excludes 0)');

// within each arm: held-out accuracy at each evaluation minus the start, per seed (mean over its peers), 95% CI over seeds
const evalRounds = all[0].evals.map((e) => e.afterRounds).filter((r) => r > 0);
const within = armOrder.map((name) => {
  const mine = all.filter((j) => j.arm === name && j.evals.length === all[0].evals.length);
  const change = evalRounds.map((_, k) => confidenceInterval95(mine.map((j) => j.evals[k + 1].passAt1 - j.evals[0].passAt1)));
  return { arm: name, seeds: mine.length, change };
});
console.log(`\n| arm: held-out change since round 0, points [95% CI over seeds] | seeds | ${evalRounds.map((r) => `after ${r}`).join(' | ')} |`);
console.log(`|---|---|${evalRounds.map(() => '---|').join('')}`);
for (const w of within) if (w.seeds >= 2) console.log(`| ${w.arm} | ${w.seeds} | ${w.change.map((d) => ci(d, 100, 1)).join(' | ')} |`);
if (a.json) writeFileSync(a.json, JSON.stringify({ files, settings: Object.fromEntries(SETTINGS.map((k) => [k, s0[k]])), perArm, comparisons, heldOutChange: within.map((w) => ({ ...w, afterRounds: evalRounds })) }, null, 1));
if (a.svg) {
  const seedCount = new Set(all.map((j) => j.seed)).size;
  writeFileSync(a.svg, sapoSvg(all, armOrder, `${seedCount} seeds × ${s0.rounds} rounds × ${s0.peers} peers, G=${s0.completions}, mean over seeds${headlineClause(comparisons)}`));
}
