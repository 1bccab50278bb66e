// One SAPO experiment job (arm × seed) in this thread, timed: the unit the experiment's duration is made of.
// For profiling (`node --cpu-prof …`) and for before/after timings of the CPU engine; prints a figures line
// and writes JSON with --json. Results (cumulative accuracy, held-out) are printed so a speed change that
// altered them shows.
//   npm run bench:job -- --arm swarm --peers 3 --rounds 5 --json out.json
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ARMS, runJob, seedFigures } from '../model/experiment.ts';
import { loadModelFolder } from '../model/load.ts';
import { defaultRunnerConfig } from '../../src/rl/runner.ts';

const { values: a } = parseArgs({
  options: {
    arm: { type: 'string', default: 'swarm' },
    seed: { type: 'string', default: 'sapo-seed-0' },
    peers: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '5' },
    completions: { type: 'string', default: '8' },
    'eval-every': { type: 'string', default: '25' },
    'eval-per': { type: 'string', default: '8' },
    model: { type: 'string', default: 'public/models/default' },
    json: { type: 'string' },
  },
});
const arm = ARMS.find((x) => x.name === a.arm);
if (!arm) throw new Error(`unknown arm "${a.arm}"; arms: ${ARMS.map((x) => x.name).join(', ')}`);
const folder = await loadModelFolder(a.model);
const spec = {
  arm, seed: a.seed, peers: Number(a.peers), rounds: Number(a.rounds), completions: Number(a.completions),
  lr: defaultRunnerConfig().adamw.lr, evalEvery: Number(a['eval-every']), evalPerEntry: Number(a['eval-per']),
};
const job = await runJob(folder, spec);
const f = seedFigures(job);
const sampleTrain = job.rounds.reduce((s, r) => s + r.seconds, 0);
const out = { spec: { ...spec, arm: arm.name }, seconds: job.seconds, roundSeconds: sampleTrain, evalSeconds: job.seconds - sampleTrain, figures: f };
console.log(`${arm.name} ${a.seed} ${spec.peers} peers × ${spec.rounds} rounds: ${job.seconds.toFixed(2)} s (rounds ${sampleTrain.toFixed(2)} s, evaluation ${(job.seconds - sampleTrain).toFixed(2)} s); cumulative accuracy ${f.cumulativeAccuracy.toFixed(4)}, held-out ${(100 * f.heldOutStart).toFixed(2)}% → ${(100 * f.heldOutFinal).toFixed(2)}%`);
if (a.json) writeFileSync(a.json, JSON.stringify(out, null, 1));
