// SAPO's comparison at our scale, measured on accuracy (verifier-correct, no format term) and on content
// the models never trained or pretrained on. Arms run side by side on the same seeds (swarm ids):
// swarm I=4/J=4; isolated equal-training I=8/J=0; isolated equal-sampling I=4/J=0; and one arm per lever
// (see scripts/model/experiment.ts). Per arm: cumulative accuracy, held-out and generalisation accuracy
// curves; per comparison: the paired difference over seeds with a 95% t interval. Jobs (arm × seed) run
// on worker threads, one per core by default. Writes JSON + SVG into --out.
//
//   npm run experiment:sapo                 full: 5 seeds × 200 rounds × 4 peers, the five FULL_ARMS (the
//                                           runner's default settings: lr, warmup; see defaultRunnerConfig)
//   npm run experiment:sapo -- --arms all   every arm (ARMS), about twice as long
//   npm run experiment:sapo -- --quick      CI-sized: 3 seeds × 30 rounds × 3 peers, three arms (< 5 min here)
//   options: --seeds N --rounds R --peers P --arms a,b,c --threads T --completions G --lr X
//            --eval-every K --eval-per N --model DIR --out DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { ARMS, COMPARISONS, FULL_ARMS, compare, seedFigures, type Comparison, type JobResult, type JobSpec } from './model/experiment.ts';
import { formatInterval as pct, headlineClause, sapoSvg } from './model/sapo-plot.ts';
import { defaultRunnerConfig } from '../src/rl/runner.ts';

const { values: a } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seeds: { type: 'string' },
    rounds: { type: 'string' },
    peers: { type: 'string' },
    arms: { type: 'string' },
    threads: { type: 'string', default: String(availableParallelism()) },
    completions: { type: 'string', default: '8' },
    // the runner's defaults (what a tab runs), unless the command says otherwise
    lr: { type: 'string', default: String(defaultRunnerConfig().adamw.lr) },
    'eval-every': { type: 'string' },
    'eval-per': { type: 'string' },
    model: { type: 'string', default: 'public/models/default' },
    out: { type: 'string', default: '.tabswarm/experiment-sapo' },
  },
});
const quick = a.quick;
const int = (name: string, v: string | undefined, fallback: number, min: number) => {
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got "${v}"`);
    process.exit(2);
  }
  return n;
};
const seeds = int('seeds', a.seeds, quick ? 3 : 5, 2);
const rounds = int('rounds', a.rounds, quick ? 30 : 200, 1);
const peers = int('peers', a.peers, quick ? 3 : 4, 2);
const threads = int('threads', a.threads, 2, 1);
const completions = int('completions', a.completions, 8, 2);
const evalEvery = int('eval-every', a['eval-every'], quick ? 15 : 25, 1);
const evalPerEntry = int('eval-per', a['eval-per'], quick ? 3 : 8, 1);
const lr = Number(a.lr);
if (!(lr > 0)) {
  console.error(`--lr must be a positive number, got "${a.lr}"`);
  process.exit(2);
}
const armNames = a.arms === 'all' ? ARMS.map((x) => x.name) : a.arms ? a.arms.split(',') : quick ? ['swarm', 'isolated-train', 'isolated-sample'] : [...FULL_ARMS];
const arms = armNames.map((n) => ARMS.find((x) => x.name === n) ?? (console.error(`unknown arm "${n}"; arms: ${ARMS.map((x) => x.name).join(', ')}`), process.exit(2)));

const outDir = resolve(a.out);
mkdirSync(outDir, { recursive: true });
const seedIds = Array.from({ length: seeds }, (_, i) => `sapo-seed-${i}`);
// seed by seed (every arm of a seed before the next seed), so a run cut short still has complete pairs;
// the report is rewritten after every job
const jobs: JobSpec[] = seedIds.flatMap((seed) => arms.map((arm) => ({ arm, seed, peers, rounds, completions, lr, evalEvery, evalPerEntry })));
console.log(`${arms.length} arms × ${seeds} seeds × ${rounds} rounds × ${peers} peers (G=${completions}, lr ${lr}, lr warmup ${defaultRunnerConfig().lrWarmupSteps ?? 0} steps) on ${Math.min(threads, jobs.length)} worker threads`);

const started = performance.now();
const results: JobResult[] = [];
const meanOf = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const perArmOf = () => Object.fromEntries(arms.filter((arm) => results.some((r) => r.arm === arm.name)).map((arm) => {
  const mine = results.filter((r) => r.arm === arm.name);
  const figs = mine.map(seedFigures);
  const keys = Object.keys(figs[0]) as (keyof (typeof figs)[0])[];
  return [arm.name, { label: arm.label, seeds: mine.length, mean: Object.fromEntries(keys.map((k) => [k, meanOf(figs.map((f) => f[k]))])) }];
}));

/** JSON + SVG of the jobs done so far (complete = all of them) */
function report(complete: boolean) {
  const perArm = perArmOf();
  const comparisons = COMPARISONS.filter(([x, y]) => armNames.includes(x) && armNames.includes(y)).map(([x, y]) => compare(results, x, y)).filter((c): c is Comparison => c !== null);
  const summary = { complete, jobsDone: results.length, jobs: jobs.length, seeds: seedIds, rounds, peers, completions, lr, lrWarmupSteps: defaultRunnerConfig().lrWarmupSteps ?? 0, evalEvery, evalPerEntry, threads, seconds: (performance.now() - started) / 1000, perArm, comparisons };
  writeFileSync(join(outDir, 'sapo.json'), JSON.stringify({ summary, jobs: results }, null, 1));
  const svg = sapoSvg(results, armNames, `${new Set(results.map((r) => r.seed)).size} of ${seeds} seeds × ${rounds} rounds × ${peers} peers, G=${completions}${headlineClause(comparisons)}`);
  writeFileSync(join(outDir, 'sapo.svg'), svg);
  return { perArm, comparisons, summary };
}

await new Promise<void>((done, fail) => {
  let next = 0;
  let running = 0;
  const pool = Array.from({ length: Math.min(threads, jobs.length) }, () =>
    new Worker(new URL('./model/experiment-worker.ts', import.meta.url), { workerData: { model: resolve(a.model) } }));
  const feed = (w: Worker) => {
    if (next >= jobs.length) {
      void w.terminate();
      if (running === 0) done();
      return;
    }
    running++;
    w.postMessage(jobs[next++]);
  };
  for (const w of pool) {
    w.on('error', fail);
    w.on('message', (m: { ready?: boolean; ok?: boolean; result?: JobResult; error?: string }) => {
      if (m.ready) return feed(w);
      running--;
      if (!m.ok) return fail(new Error(`experiment job failed: ${m.error}`));
      const r = m.result!;
      results.push(r);
      const f = seedFigures(r);
      console.log(`${r.arm.padEnd(20)} ${r.seed}: cumulative accuracy ${f.cumulativeAccuracy.toFixed(2)}, held-out ${(100 * f.heldOutStart).toFixed(1)}% → ${(100 * f.heldOutFinal).toFixed(1)}%, generalisation ${(100 * f.generalisationFinal).toFixed(1)}%, ${r.seconds.toFixed(0)} s (${results.length}/${jobs.length}, ${((performance.now() - started) / 1000).toFixed(0)} s)`);
      report(false);
      feed(w);
    });
  }
});

const { perArm, comparisons, summary } = report(true);
for (const [name, arm] of Object.entries(perArm)) {
  const m = arm.mean;
  console.log(`${name.padEnd(20)} cumulative accuracy ${m.cumulativeAccuracy.toFixed(2)}  held-out ${(100 * m.heldOutStart).toFixed(1)} → ${(100 * m.heldOutFinal).toFixed(1)}%  generalisation ${(100 * m.generalisationFinal).toFixed(1)}%  signal ${(100 * m.signalShare).toFixed(0)}%`);
}
for (const c of comparisons) {
  const ca = c.metrics.cumulativeAccuracy!;
  const ho = c.metrics.heldOutFinal!;
  console.log(`${c.a} − ${c.b} (${c.seeds} seeds): cumulative accuracy ${pct(ca)} (${(100 * ca.relative).toFixed(1)}%)${ca.excludesZero ? ' *' : ''}; held-out points ${pct(ho, 100)}${ho.excludesZero ? ' *' : ''}; generalisation points ${pct(c.metrics.generalisationFinal, 100)}`);
}
console.log(`(* = 95% CI excludes 0) wrote ${join(outDir, 'sapo.json')} and sapo.svg in ${summary.seconds.toFixed(0)} s`);
