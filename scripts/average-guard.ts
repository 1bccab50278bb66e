// Calibrates the periodic average's guard (src/worker/average-guard.ts): how far the probe's per-token NLL
// rises when a tab averages with an HONEST peer, against how far it rises with a BROKEN or HOSTILE one.
//
// Honest: two peers of the isolated-average arm (I=8 J=0, nothing shared but weights; the most divergent
// honest pair), per seed, trained R rounds; every K rounds each is scored on the probe before and after the
// mean with the other (then both continue from it, as the arm does). Also the joiner: the untrained start
// averaged with a trained peer, both ways round. Hostile: a trained peer's weights with Gaussian noise of a
// fraction of each tensor's spread, scaled, sign-flipped, zeroed.
//
//   npm run bench:average-guard                       2 seeds × 100 rounds, K = 10
//   npm run bench:average-guard -- --seeds 3 --rounds 200 --json out.json
//   options: --seeds N --rounds R --every K --lr X (2e-4, the runner's default) --model DIR --json FILE
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createCpuEngine } from '../src/engine/index.ts';
import { packWeights, unpackWeights } from '../src/engine/layout.ts';
import { averageParameters } from '../src/rl/meta.ts';
import { SoloTransport } from '../src/rl/bus.ts';
import { DEFAULT_TASK_MIX } from '../src/rl/defaults.ts';
import { heldOutTasks } from '../src/rl/heldout.ts';
import { Rng } from '../src/rl/rng.ts';
import { RoundRunner } from '../src/rl/runner.ts';
import { PROBE_NLL_SLACK, probeNll, probeSequences } from '../src/worker/average-guard.ts';
import { HELD_OUT_PER_ENTRY } from '../src/worker/contributor.ts';
import { ARMS, armConfig } from './model/experiment.ts';
import { loadModelFolder } from './model/load.ts';
import { continueFrom } from './model/simulate.ts';
import type { ModelEngine } from '../src/engine/engine.ts';

const { values: a } = parseArgs({
  options: {
    seeds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '100' },
    every: { type: 'string', default: '10' },
    lr: { type: 'string', default: '2e-4' },
    model: { type: 'string', default: 'public/models/default' },
    json: { type: 'string' },
  },
});
const seeds = Number(a.seeds), rounds = Number(a.rounds), every = Number(a.every), lr = Number(a.lr);
const folder = await loadModelFolder(a.model!);
const probe = probeSequences(folder.tokenizer, DEFAULT_TASK_MIX);
const MICRO = 8;
const nll = async (params: Float32Array) => {
  const engine = createCpuEngine(folder.config, params);
  try {
    return await probeNll(engine, probe, MICRO);
  } finally {
    engine.dispose();
  }
};
const start = await nll(folder.weights);
console.log(`probe: ${probe.length} answers; the start model's NLL ${start.toFixed(4)} nats/token; the guard refuses a mean above max(own, start) + ${PROBE_NLL_SLACK}`);
/** how far the mean's probe NLL is above the guard's line max(own, start): > slack is refused */
const over = (mean: number, own: number) => mean - Math.max(own, start);

const arm = ARMS.find((x) => x.name === 'isolated-average')!;
const honest: { seed: string; round: number; kind: string; own: number; mean: number; over: number }[] = [];
const trained: Float32Array[] = [];
for (let s = 0; s < seeds; s++) {
  const seed = `guard-${s}`;
  const spec = { arm, seed, peers: 2, rounds, completions: 8, lr, evalEvery: 0, evalPerEntry: 0 };
  const runners = ['peer-0', 'peer-1'].map((id) => new RoundRunner(createCpuEngine(folder.config, folder.weights), folder.tokenizer, new SoloTransport(id), armConfig(spec)));
  for (let round = 0; round < rounds; round++) {
    const locals = [];
    for (const r of runners) locals.push(await r.sampleRound(round));
    for (let p = 0; p < 2; p++) await runners[p].trainRound(locals[p]);
    if ((round + 1) % every !== 0) continue;
    const params = await Promise.all(runners.map((r) => (r.engine as ModelEngine).readParams()));
    const mean = averageParameters(params);
    const meanNll = await nll(mean);
    const own = await Promise.all(params.map(nll));
    own.forEach((o, p) => honest.push({ seed, round: round + 1, kind: `peer ${p} with peer ${1 - p}`, own: o, mean: meanNll, over: over(meanNll, o) }));
    // a joiner at this round: the start model with a trained peer, and the trained peer with the start
    const joined = await nll(averageParameters([folder.weights, params[0]]));
    honest.push({ seed, round: round + 1, kind: 'start with trained', own: start, mean: joined, over: over(joined, start) });
    honest.push({ seed, round: round + 1, kind: 'trained with start', own: own[0], mean: joined, over: over(joined, own[0]) });
    console.log(`${seed} round ${round + 1}: own ${own.map((x) => x.toFixed(4)).join(' / ')}, mean ${meanNll.toFixed(4)}, start+trained ${joined.toFixed(4)}`);
    for (const r of runners) await continueFrom(r, folder, mean);
  }
  trained.push(await (runners[0].engine as ModelEngine).readParams());
  for (const r of runners) r.engine.dispose();
}

/** the weights of `flat` with each tensor mapped by f(tensor values, tensor std, rng) */
const perTensor = (flat: Float32Array, f: (x: number, std: number, rng: Rng) => number, seed = 1) => {
  const rng = new Rng(seed);
  const tensors = unpackWeights(folder.config, flat);
  for (const t of tensors.values()) {
    const m = t.data.reduce((s, x) => s + x, 0) / t.data.length;
    const std = Math.sqrt(t.data.reduce((s, x) => s + (x - m) ** 2, 0) / t.data.length) || Math.abs(m) || 1;
    for (let i = 0; i < t.data.length; i++) t.data[i] = f(t.data[i], std, rng);
  }
  return packWeights(folder.config, tensors);
};
const gauss = (rng: Rng) => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
const held = heldOutTasks(DEFAULT_TASK_MIX, HELD_OUT_PER_ENTRY);
// held-out accuracy (greedy pass@1, the tab's own evaluation set) of each victim and of each attacked mean:
// what an average the guard lets through can cost
const accuracy = async (params: Float32Array) => {
  const runner = new RoundRunner(createCpuEngine(folder.config, params), folder.tokenizer, new SoloTransport('eval'), armConfig({ arm, seed: 'eval', peers: 1, rounds: 1, completions: 8, lr: 2e-4, evalEvery: 0, evalPerEntry: 0 }));
  try {
    return (await runner.evaluate(held, 0)).passAt1;
  } finally {
    runner.engine.dispose();
  }
};
const attacks: [string, (x: number, std: number, rng: Rng) => number][] = [
  ...[0.02, 0.05, 0.1, 0.2, 0.3, 1].map((f) => [`noise ${f}×std`, (x: number, std: number, rng: Rng) => x + f * std * gauss(rng)] as [string, (x: number, std: number, rng: Rng) => number]),
  ['scaled ×3', (x) => 3 * x],
  ['sign-flipped', (x) => -x],
  ['zeros', () => 0],
];
const victims: { name: string; nll: number; accuracy: number }[] = [];
const hostile: { victim: string; kind: string; mean: number; over: number; refused: boolean; accuracy: number }[] = [];
for (const [name, params] of [[`trained (seed 0, peer 0, ${rounds} rounds)`, trained[0]], ['the start', folder.weights]] as const) {
  const own = await nll(params);
  const ownAccuracy = await accuracy(params);
  victims.push({ name, nll: own, accuracy: ownAccuracy });
  console.log(`victim ${name}: probe NLL ${own.toFixed(4)}, held-out pass@1 ${(100 * ownAccuracy).toFixed(1)}%`);
  for (const [kind, f] of attacks) {
    const mean = averageParameters([params, perTensor(params, f)]);
    const meanNll = await nll(mean);
    const acc = await accuracy(mean);
    const o = over(meanNll, own);
    hostile.push({ victim: name, kind, mean: meanNll, over: o, refused: o > PROBE_NLL_SLACK, accuracy: acc });
    console.log(`  hostile ${kind}: mean ${meanNll.toFixed(4)}, ${o >= 0 ? '+' : ''}${o.toFixed(4)} over max(own, start) → ${o > PROBE_NLL_SLACK ? 'refused' : 'accepted'}; the mean's held-out pass@1 ${(100 * acc).toFixed(1)}% (${(100 * (acc - ownAccuracy)).toFixed(1)} points)`);
  }
}
const worst = Math.max(...honest.map((h) => h.over));
console.log(`honest means: ${honest.length}, over max(own, start) from ${Math.min(...honest.map((h) => h.over)).toFixed(4)} to ${worst.toFixed(4)} nats/token (refused above ${PROBE_NLL_SLACK}): ${honest.filter((h) => h.over > PROBE_NLL_SLACK).length} refused`);
console.log(`hostile means refused: ${hostile.filter((h) => h.refused).length} of ${hostile.length}`);
if (a.json) writeFileSync(a.json, JSON.stringify({ seeds, rounds, every, lr, probe: probe.length, startNll: start, slack: PROBE_NLL_SLACK, victims, honest, hostile }, null, 2));
