// RL on the default model from the command line: solo, or an in-process swarm on the in-memory bus.
//
//   npm run train -- --peers 1 --rounds 20                 solo, prints per-round reward and accuracy
//   npm run train -- --peers 8 --external 4 --rounds 20    8 peers, each I local + 4 external groups
//   options: --json FILE  --model DIR  --questions B  --completions G  --local I  --tasks default|easy
//            --lr X  --eval-every K  --eval-per N  --backend cpu|webgpu  --swarm ID
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_TASK_MIX, EASY_TASK_MIX } from '../src/rl/defaults.ts';
import { defaultRunnerConfig } from '../src/rl/runner.ts';
import { loadModelFolder, type Backend } from './model/load.ts';
import { simulate } from './model/simulate.ts';

const { values: a } = parseArgs({
  options: {
    peers: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '10' },
    external: { type: 'string', default: '0' },
    local: { type: 'string' },
    questions: { type: 'string' },
    completions: { type: 'string', default: '8' },
    tasks: { type: 'string', default: 'default' },
    lr: { type: 'string', default: String(defaultRunnerConfig().adamw.lr) },
    json: { type: 'string' },
    model: { type: 'string', default: 'public/models/default' },
    'eval-every': { type: 'string', default: '5' },
    'eval-per': { type: 'string', default: '16' },
    backend: { type: 'string', default: 'cpu' },
    swarm: { type: 'string', default: 'cli' },
  },
});

function int(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got "${value}"`);
    process.exit(2);
  }
  return n;
}

const peers = int('peers', a.peers, 1);
const rounds = int('rounds', a.rounds, 1);
const external = int('external', a.external, 0);
const local = int('local', a.local ?? '8', 0);
const questions = int('questions', a.questions ?? String(Math.max(1, local)), 1);
const completions = int('completions', a.completions, 2);
const lr = Number(a.lr);
if (!(lr > 0)) {
  console.error(`--lr must be a positive number, got "${a.lr}"`);
  process.exit(2);
}
if (a.tasks !== 'default' && a.tasks !== 'easy') {
  console.error(`--tasks must be "default" or "easy", got "${a.tasks}"`);
  process.exit(2);
}
if (a.backend !== 'cpu' && a.backend !== 'webgpu') {
  console.error(`--backend must be "cpu" or "webgpu", got "${a.backend}"`);
  process.exit(2);
}
if (peers === 1 && external > 0) console.warn('--external has no effect with --peers 1 (nobody to take rollouts from)');
const mix = a.tasks === 'easy' ? EASY_TASK_MIX : DEFAULT_TASK_MIX;

const runner = defaultRunnerConfig({ swarmId: a.swarm, tasks: mix, questions, completions, localGroups: local, externalGroups: external });
runner.adamw = { ...runner.adamw, lr };
const folder = await loadModelFolder(a.model);
console.log(`${peers} peer(s), ${rounds} rounds, B=${questions} G=${completions} I=${local} J=${external}, tasks ${a.tasks}, lr ${lr}, ${a.backend}`);
const started = performance.now();
const result = await simulate(folder, {
  peers, rounds, runner, backend: a.backend as Backend,
  evalEvery: int('eval-every', a['eval-every'], 0), evalMix: mix, evalPerEntry: int('eval-per', a['eval-per'], 1),
  log: (line) => console.log(line),
});
const first = result.evals[0];
const last = result.evals[result.evals.length - 1];
if (first && last) {
  const gen = (e: typeof first) => (e.generalisation === null ? 'n/a' : `${(100 * e.generalisation).toFixed(1)}%`);
  console.log(`held-out (content-disjoint) pass@1: ${(100 * first.passAt1).toFixed(1)}% → ${(100 * last.passAt1).toFixed(1)}%; generalisation ${gen(first)} → ${gen(last)}`);
}
const end = result.rounds[result.rounds.length - 1];
console.log(`cumulative accuracy ${end.cumulativeAccuracy.toFixed(3)}, cumulative reward ${end.cumulativeReward.toFixed(3)} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
if (a.json) {
  writeFileSync(a.json, JSON.stringify({ options: { peers, rounds, questions, completions, local, external, tasks: a.tasks, lr, backend: a.backend }, rounds: result.rounds, evals: result.evals }, null, 2));
  console.log(`wrote ${a.json}`);
}
