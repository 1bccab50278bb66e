// Lone-tab learning under one setting, evaluated on the VALIDATION split (reserved prompts disjoint from the
// held-out set, heldout.ts validationTasks) so that choosing settings never looks at the reported figures.
// P independent tabs (peer ids differ: different tasks and sampling seeds) each train I=B alone; the
// figure is each tab's greedy accuracy change from its start, with a 95% t interval over the tabs.
//
//   npm run tsnode -- scripts/tune-solo.ts --tabs 4 --rounds 60 --lr 3e-4 --json out.json
//   options: --tabs P --rounds R --questions B --completions G --lr X --temperature T --top-p P
//            --beta2 B --weight-decay W --max-grad-norm N --eval-every K --eval-per N --set validation|heldout
//            --swarm ID --model DIR --json FILE
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_TASK_MIX } from '../src/rl/defaults.ts';
import { confidenceInterval95 } from '../src/rl/paired.ts';
import { defaultRunnerConfig } from '../src/rl/runner.ts';
import { loadModelFolder } from './model/load.ts';
import { simulate } from './model/simulate.ts';

const { values: a } = parseArgs({
  options: {
    tabs: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '60' },
    questions: { type: 'string', default: '8' },
    completions: { type: 'string', default: '8' },
    lr: { type: 'string', default: '0.001' },
    temperature: { type: 'string', default: '1' },
    'top-p': { type: 'string', default: '1' },
    beta2: { type: 'string', default: '0.99' },
    'weight-decay': { type: 'string', default: '0' },
    'max-grad-norm': { type: 'string', default: '1' },
    'eval-every': { type: 'string', default: '20' },
    'eval-per': { type: 'string', default: '12' },
    set: { type: 'string', default: 'validation' },
    swarm: { type: 'string', default: 'tune' },
    model: { type: 'string', default: 'public/models/default' },
    json: { type: 'string' },
    'no-std': { type: 'boolean', default: false },
    warmup: { type: 'string', default: '0' },
  },
});
const num = (name: keyof typeof a) => {
  const n = Number(a[name]);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${a[name]}"`);
  return n;
};
if (a.set !== 'validation' && a.set !== 'heldout') throw new Error(`--set must be validation or heldout, got "${a.set}"`);
const B = num('questions');
const runner = defaultRunnerConfig({ swarmId: a.swarm!, tasks: DEFAULT_TASK_MIX, questions: B, completions: num('completions'), localGroups: B, externalGroups: 0 });
runner.adamw = { ...runner.adamw, lr: num('lr'), beta2: num('beta2'), weightDecay: num('weight-decay'), maxGradNorm: num('max-grad-norm') };
runner.lrWarmupSteps = num('warmup');
runner.grpo = { ...runner.grpo, scaleByStd: !a['no-std'] };
runner.sampling = { ...runner.sampling, temperature: num('temperature'), topP: num('top-p') };
const folder = await loadModelFolder(a.model!);
const started = performance.now();
const result = await simulate(folder, {
  peers: num('tabs'), rounds: num('rounds'), runner, backend: 'cpu', evalEvery: num('eval-every'), evalMix: DEFAULT_TASK_MIX,
  evalPerEntry: num('eval-per'), evalSet: a.set, generalisation: false,
});
const first = result.evals[0];
const last = result.evals[result.evals.length - 1];
const gains = last.perPeer.map((x, i) => x - first.perPeer[i]);
const ci = confidenceInterval95(gains);
const setting = `lr ${runner.adamw.lr} T ${runner.sampling.temperature} top-p ${runner.sampling.topP} beta2 ${runner.adamw.beta2} wd ${runner.adamw.weightDecay} clip ${runner.adamw.maxGradNorm} B=${B} warmup ${runner.lrWarmupSteps}${a['no-std'] ? ' no-std' : ''}`;
const curve = result.evals.map((e) => `${e.afterRounds}:${(100 * e.passAt1).toFixed(1)}`).join(' ');
const trainAcc = (from: number, to: number) => result.rounds.slice(from, to).reduce((s, r) => s + r.accuracy, 0) / Math.max(1, to - from);
console.log(`${setting}: ${a.set} greedy ${curve}; change ${(100 * ci.mean).toFixed(1)} points [${(100 * ci.low).toFixed(1)}, ${(100 * ci.high).toFixed(1)}] over ${gains.length} tabs; ` +
  `train sampled accuracy first 10 rounds ${(100 * trainAcc(0, 10)).toFixed(1)}% last 10 ${(100 * trainAcc(result.rounds.length - 10, result.rounds.length)).toFixed(1)}%; ${((performance.now() - started) / 1000).toFixed(0)} s`);
const pct = (f: { correct: number; total: number } | undefined) => (f && f.total ? `${((100 * f.correct) / f.total).toFixed(0)}%` : '–');
console.log(`per family/level, start → end: ${Object.keys(first.perFamily ?? {}).map((k) => `${k} ${pct(first.perFamily?.[k])} → ${pct(last.perFamily?.[k])}`).join(', ')}`);
if (a.json) writeFileSync(a.json, JSON.stringify({ setting: { runner, set: a.set, tabs: num('tabs'), rounds: num('rounds') }, evals: result.evals, rounds: result.rounds, change: ci }, null, 1));
