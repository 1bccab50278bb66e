// The swarm game's reason to exist, measured: does the swarm's resolved answer (the critics' majority pick)
// beat a lone answer? P peers play R rounds of answer → critique → resolve on the in-memory game bus, each
// from the shipped default model (loaded the way scripts/train.ts loads it), over several seeds (the seed is
// the swarm id, so every seed plays different questions). Per round: single-answer accuracy (every sampled
// answer), published-answer accuracy (each peer's best of G, i.e. the students), majority-pick correctness,
// resolve final-answer accuracy, and the mean reward of each stage. 95% CIs: a t interval over the per-seed
// means, and a normal interval over all (seed, round) pairs of the paired difference majority − single.
//
//   npm run experiment:game                      # 3 seeds × 100 rounds, 4 peers, B=2, G=4
//   npm run experiment:game -- --quick           # 3 seeds × 100 rounds, 3 peers, B=1, G=2, short budgets (< 3 min)
//   options: --seeds N --rounds R --peers P --questions B --completions G --lr X --out DIR --model DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_TASK_MIX } from '../src/rl/defaults.ts';
import { defaultGameConfig, GameRunner, type StageReport } from '../src/rl/game/runner.ts';
import { STAGES, type Stage } from '../src/rl/game/stages.ts';
import { InMemoryGameBus } from '../src/rl/game/transport.ts';
import { loadModelFolder, makeEngine } from './model/load.ts';
import { renderSvg } from './model/plot.ts';

const { values: a } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seeds: { type: 'string' },
    rounds: { type: 'string' },
    peers: { type: 'string' },
    questions: { type: 'string' },
    completions: { type: 'string' },
    lr: { type: 'string', default: '0.001' },
    model: { type: 'string', default: 'public/models/default' },
    out: { type: 'string', default: '.tabswarm/experiment-game' },
  },
});
const quick = a.quick === true;
function int(name: string, value: string | undefined, fallback: number, min: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got "${value}"`);
    process.exit(2);
  }
  return n;
}
const seeds = int('seeds', a.seeds, 3, 1);
const rounds = int('rounds', a.rounds, 100, 1);
const peers = int('peers', a.peers, quick ? 3 : 4, 2);
const questions = int('questions', a.questions, quick ? 1 : 2, 1);
const completions = int('completions', a.completions, quick ? 2 : 4, 2);
const lr = Number(a.lr);
if (!(lr > 0)) {
  console.error(`--lr must be a positive number, got "${a.lr}"`);
  process.exit(2);
}
const maxNewTokens: Record<Stage, number> = quick ? { answer: 12, critique: 10, resolve: 24 } : { answer: 16, critique: 14, resolve: 32 };

interface RoundRow {
  round: number;
  /** every sampled answer of the answer stage */
  singleAccuracy: number;
  /** each peer's published (best of G) answer: the students */
  publishedAccuracy: number;
  /** questions whose critiques produced a majority pick */
  majorityRate: number;
  /** majority pick names a correct student, over all questions (no majority counts as not correct) */
  majorityCorrect: number;
  /** resolve stage: final answers correct, over all sampled resolves */
  resolveAccuracy: number;
  /** critique stage: sampled critiques naming a correct student */
  critiqueAccuracy: number;
  reward: Record<Stage, number>;
  format: Record<Stage, number>;
  winners: string[];
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
const sd = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, xs.length - 1));
};
// two-sided 97.5% t quantiles for df = 1..10, then the normal value
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
const ci95 = (xs: number[]) => {
  const t = xs.length - 1 <= T975.length ? T975[xs.length - 2] ?? NaN : 1.96;
  const half = (t * sd(xs)) / Math.sqrt(xs.length);
  return { mean: mean(xs), low: mean(xs) - half, high: mean(xs) + half, n: xs.length };
};

const folder = await loadModelFolder(a.model);
const outDir = resolve(a.out);
mkdirSync(outDir, { recursive: true });
console.log(`game: ${seeds} seeds × ${rounds} rounds, ${peers} peers, B=${questions} G=${completions} k=${peers}, lr ${lr}, budgets ${JSON.stringify(maxNewTokens)}, cpu`);
const started = performance.now();
const perSeed: { swarmId: string; rows: RoundRow[] }[] = [];

for (let s = 0; s < seeds; s++) {
  const swarmId = `game-experiment-${s}`;
  const config = defaultGameConfig({ swarmId, tasks: DEFAULT_TASK_MIX, questions, completions, students: Math.min(8, peers), maxNewTokens });
  config.adamw = { ...config.adamw, lr };
  const bus = new InMemoryGameBus();
  const runners: GameRunner[] = [];
  for (let p = 0; p < peers; p++) runners.push(new GameRunner(await makeEngine(folder, 'cpu'), folder.tokenizer, bus.connect(`peer-${p}`), config));
  const rows: RoundRow[] = [];
  for (let round = 0; round <= rounds; round++) {
    const byStage = new Map<Stage, StageReport[]>();
    for (const stage of STAGES) {
      // the last pass only opens round `rounds` so that round `rounds - 1`'s votes are cast
      if (round === rounds && stage !== 'answer') break;
      const reports = (await Promise.all(runners.map((r) => r.advance({ round, stage })))).flat().filter((r) => r.round === round);
      byStage.set(stage, reports);
    }
    if (round > 0) rows[round - 1].winners = runners[0].tally(round - 1).winners;
    if (round === rounds) break;
    const answer = byStage.get('answer') ?? [];
    const resolveReports = byStage.get('resolve') ?? [];
    // every peer saw the same messages on the bus: the first peer's view of each question stands for all
    const views = resolveReports[0]?.questions ?? [];
    const students = views.flatMap((q) => q.students);
    rows.push({
      round,
      singleAccuracy: mean(answer.map((r) => r.accuracy)),
      publishedAccuracy: students.length > 0 ? students.filter((x) => x.correct).length / students.length : 0,
      majorityRate: mean(views.map((q) => (q.majority === null ? 0 : 1))),
      majorityCorrect: mean(views.map((q) => (q.majorityCorrect === true ? 1 : 0))),
      resolveAccuracy: mean(resolveReports.map((r) => r.accuracy)),
      critiqueAccuracy: mean((byStage.get('critique') ?? []).map((r) => r.accuracy)),
      reward: Object.fromEntries(STAGES.map((st) => [st, mean((byStage.get(st) ?? []).map((r) => r.meanReward))])) as Record<Stage, number>,
      format: Object.fromEntries(STAGES.map((st) => [st, mean((byStage.get(st) ?? []).map((r) => r.formatRate))])) as Record<Stage, number>,
      winners: [],
    });
    const row = rows[round];
    if (round % 10 === 0 || round === rounds - 1) {
      console.log(`seed ${s} round ${round}: single ${(100 * row.singleAccuracy).toFixed(0)}% published ${(100 * row.publishedAccuracy).toFixed(0)}% majority ${(100 * row.majorityCorrect).toFixed(0)}% (exists ${(100 * row.majorityRate).toFixed(0)}%) resolve ${(100 * row.resolveAccuracy).toFixed(0)}% rewards ${STAGES.map((st) => row.reward[st].toFixed(2)).join('/')} ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  for (const r of runners) r.engine.dispose();
  perSeed.push({ swarmId, rows });
}

const seedMeans = (f: (r: RoundRow) => number) => perSeed.map((p) => mean(p.rows.map(f)));
const allRows = perSeed.flatMap((p) => p.rows);
const diffs = allRows.map((r) => r.majorityCorrect - r.singleAccuracy);
const diffHalf = (1.96 * sd(diffs)) / Math.sqrt(diffs.length);
const firstLast = (f: (r: RoundRow) => number) => {
  const tenth = Math.max(1, Math.floor(rounds / 10));
  return { first: mean(perSeed.flatMap((p) => p.rows.slice(0, tenth).map(f))), last: mean(perSeed.flatMap((p) => p.rows.slice(-tenth).map(f))) };
};
const summary = {
  command: `npm run experiment:game --${quick ? ' --quick' : ''} --model ${a.model} --seeds ${seeds} --rounds ${rounds} --peers ${peers} --questions ${questions} --completions ${completions} --lr ${lr}`,
  seeds, rounds, peers, questions, completions, lr, maxNewTokens,
  compute: `per seed: ${peers} peers × ${rounds} rounds × 3 stages × ${questions} questions × ${completions} completions sampled and one GRPO step per stage with signal`,
  ci95OverSeedMeans: {
    singleAccuracy: ci95(seedMeans((r) => r.singleAccuracy)),
    publishedAccuracy: ci95(seedMeans((r) => r.publishedAccuracy)),
    majorityCorrect: ci95(seedMeans((r) => r.majorityCorrect)),
    majorityRate: ci95(seedMeans((r) => r.majorityRate)),
    resolveAccuracy: ci95(seedMeans((r) => r.resolveAccuracy)),
    critiqueAccuracy: ci95(seedMeans((r) => r.critiqueAccuracy)),
    critiqueFormatRate: ci95(seedMeans((r) => r.format.critique)),
    resolveFormatRate: ci95(seedMeans((r) => r.format.resolve)),
  },
  majorityMinusSingle: { mean: mean(diffs), low: mean(diffs) - diffHalf, high: mean(diffs) + diffHalf, n: diffs.length, note: 'normal 95% CI over (seed, round) pairs; rounds within a seed are not independent' },
  stageRewardFirstVsLastTenth: Object.fromEntries(STAGES.map((st) => [st, firstLast((r) => r.reward[st])])),
  stageFormatFirstVsLastTenth: Object.fromEntries(STAGES.map((st) => [st, firstLast((r) => r.format[st])])),
  seconds: (performance.now() - started) / 1000,
};
writeFileSync(join(outDir, quick ? 'game-quick.json' : 'game.json'), JSON.stringify({ summary, perSeed }, null, 2));
const colors: Record<Stage, string> = { answer: '#1f77b4', critique: '#d62728', resolve: '#2ca02c' };
const meanOver = (f: (r: RoundRow) => number) => Array.from({ length: rounds }, (_, i) => [i + 1, mean(perSeed.map((p) => f(p.rows[i])))] as [number, number]);
const svg = renderSvg([
  {
    title: 'Correct: single answer vs majority pick (mean over seeds)', xLabel: 'round', yLabel: 'fraction correct',
    series: [
      { label: 'single sampled answer', color: '#1f77b4', points: meanOver((r) => r.singleAccuracy) },
      { label: 'majority pick', color: '#d62728', points: meanOver((r) => r.majorityCorrect) },
    ],
  },
  {
    title: 'Mean reward per stage (mean over seeds)', xLabel: 'round', yLabel: 'reward',
    series: STAGES.map((st) => ({ label: st, color: colors[st], points: meanOver((r) => r.reward[st]) })),
  },
], `tabswarm game: ${peers} peers, ${seeds} seeds × ${rounds} rounds, B=${questions} G=${completions}`);
writeFileSync(join(outDir, quick ? 'game-quick.svg' : 'game.svg'), svg);
console.log(JSON.stringify(summary, null, 2));
console.log(`wrote ${join(outDir, quick ? 'game-quick.json' : 'game.json')} and the svg`);
