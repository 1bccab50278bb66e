// SAPO's headline comparison at our scale: 8 peers sharing rollouts (I = 4 local + J = 4 external groups
// per step) against 8 isolated peers (I = 8, J = 0). Equal training compute (8 groups × G completions
// per step), same peer ids, swarm id and therefore the same task seeds; each peer starts from the
// shipped default model. Writes per-round cumulative reward and held-out accuracy to JSON and an SVG.
//
//   npm run experiment:sapo -- [--rounds 30] [--peers 8] [--out .tabswarm/experiment-sapo] [--lr 0.001] [--swarm ID]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_TASK_MIX } from '../src/rl/defaults.ts';
import { defaultRunnerConfig } from '../src/rl/runner.ts';
import { loadModelFolder } from './model/load.ts';
import { renderSvg } from './model/plot.ts';
import { simulate, type SimulationResult } from './model/simulate.ts';

const { values: a } = parseArgs({
  options: {
    rounds: { type: 'string', default: '30' },
    peers: { type: 'string', default: '8' },
    completions: { type: 'string', default: '8' },
    lr: { type: 'string', default: '0.001' },
    'eval-every': { type: 'string', default: '5' },
    'eval-per': { type: 'string', default: '8' },
    model: { type: 'string', default: 'public/models/default' },
    out: { type: 'string', default: '.tabswarm/experiment-sapo' },
    /** the swarm id seeds every peer's tasks: a different one repeats the experiment on other tasks */
    swarm: { type: 'string', default: 'sapo-experiment' },
  },
});
const rounds = Number(a.rounds);
const peers = Number(a.peers);
const completions = Number(a.completions);
const lr = Number(a.lr);
if (![rounds, peers, completions].every((n) => Number.isInteger(n) && n >= 1) || !(lr > 0)) {
  console.error('--rounds, --peers, --completions must be positive integers and --lr a positive number');
  process.exit(2);
}

const folder = await loadModelFolder(a.model);
const outDir = resolve(a.out);
mkdirSync(outDir, { recursive: true });

async function arm(name: string, local: number, external: number): Promise<SimulationResult> {
  console.log(`== ${name}: ${peers} peers, I=${local} J=${external}, ${rounds} rounds`);
  const runner = defaultRunnerConfig({ swarmId: a.swarm, tasks: DEFAULT_TASK_MIX, questions: local, completions, localGroups: local, externalGroups: external });
  runner.adamw = { ...runner.adamw, lr };
  return simulate(folder, {
    peers, rounds, runner, backend: 'cpu', evalEvery: Number(a['eval-every']), evalMix: DEFAULT_TASK_MIX,
    evalPerEntry: Number(a['eval-per']), log: (l) => console.log(`  ${l}`),
  });
}

const started = performance.now();
const swarm = await arm('swarm', 4, 4);
const isolated = await arm('isolated', 8, 0);
const last = (r: SimulationResult) => r.rounds[r.rounds.length - 1].cumulativeReward;
const gain = last(swarm) / last(isolated) - 1;
const finalEval = (r: SimulationResult) => r.evals[r.evals.length - 1]?.passAt1 ?? NaN;
const summary = {
  swarmId: a.swarm, rounds, peers, completions, lr,
  cumulativeReward: { swarm: last(swarm), isolated: last(isolated), swarmGainPercent: 100 * gain },
  heldOutPassAt1: {
    start: swarm.evals[0]?.passAt1 ?? NaN,
    swarm: finalEval(swarm),
    isolated: finalEval(isolated),
  },
  seconds: (performance.now() - started) / 1000,
};
writeFileSync(join(outDir, 'sapo.json'), JSON.stringify({ summary, swarm: { rounds: swarm.rounds, evals: swarm.evals }, isolated: { rounds: isolated.rounds, evals: isolated.evals } }, null, 2));
const svg = renderSvg([
  {
    title: 'Cumulative reward (mean per completion, summed over rounds)', xLabel: 'round', yLabel: 'cumulative reward',
    series: [
      { label: `swarm I=4 J=4 (${last(swarm).toFixed(2)})`, color: '#d62728', points: swarm.rounds.map((r) => [r.round + 1, r.cumulativeReward]) },
      { label: `isolated I=8 J=0 (${last(isolated).toFixed(2)})`, color: '#1f77b4', points: isolated.rounds.map((r) => [r.round + 1, r.cumulativeReward]) },
    ],
  },
  {
    title: 'Held-out greedy pass@1 (mean over peers)', xLabel: 'rounds trained', yLabel: 'pass@1',
    series: [
      { label: 'swarm I=4 J=4', color: '#d62728', points: swarm.evals.map((e) => [e.afterRounds, e.passAt1]) },
      { label: 'isolated I=8 J=0', color: '#1f77b4', points: isolated.evals.map((e) => [e.afterRounds, e.passAt1]) },
    ],
  },
], `tabswarm SAPO experiment: ${peers} peers, G=${completions}, lr ${lr}; swarm cumulative reward ${gain >= 0 ? '+' : ''}${(100 * gain).toFixed(1)}% over isolated`);
writeFileSync(join(outDir, 'sapo.svg'), svg);
console.log(JSON.stringify(summary, null, 2));
console.log(`wrote ${join(outDir, 'sapo.json')} and sapo.svg`);
