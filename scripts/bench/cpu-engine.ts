// The CPU engine's hot paths on the default model's shapes, timed op by op and end to end (sampling a
// round's 4 × 8 completions, a 16-sequence training micro-batch forward + backward + AdamW, a greedy
// evaluation batch). With --baseline DIR (a checkout of an older commit) the same calls run on that
// tree's CPU engine too, interleaved rep by rep in this one process, so the before/after ratio is measured
// under the same load; outputs of both are compared (max |difference|). Prints a table, writes --json.
//   npm run bench:cpu -- [--baseline /tmp/base] [--reps 5] [--json out.json]
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { ModelConfig } from '../../src/engine/api.ts';
import { loadModelFolder } from '../model/load.ts';

const { values: a } = parseArgs({
  options: {
    baseline: { type: 'string' }, reps: { type: 'string', default: '5' }, json: { type: 'string' },
    model: { type: 'string', default: 'public/models/default' },
  },
});
const reps = Number(a.reps);
if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be an integer >= 1, got ${a.reps}`);

type AnyOps = {
  matmul(out: unknown, x: unknown, w: unknown, M: number, N: number, K: number, o?: object): void;
  attentionForward(...args: unknown[]): void; attentionBackward(...args: unknown[]): void; attentionDecode(...args: unknown[]): void;
  swigluForward(...args: unknown[]): void; swigluBackward(...args: unknown[]): void;
};
interface Tree {
  name: string;
  ops: AnyOps;
  createCpuEngine: (config: ModelConfig, weights?: Float32Array) => import('../../src/engine/engine.ts').ModelEngine;
}
async function loadTree(name: string, root: string): Promise<Tree> {
  const cpu = await import(pathToFileURL(join(root, 'src/engine/cpu/index.ts')).href);
  return { name, ops: new cpu.CpuOps() as AnyOps, createCpuEngine: cpu.createCpuEngine };
}
const trees = [await loadTree('this', resolve('.'))];
if (a.baseline) trees.push(await loadTree('baseline', resolve(a.baseline)));

const folder = await loadModelFolder(a.model);
const cfg = folder.config;
const C = cfg.hidden_size, I = cfg.intermediate_size, V = cfg.vocab_size, H = cfg.num_attention_heads, Hkv = cfg.num_key_value_heads;
const D = cfg.head_dim ?? C / H;
// a round: 4 questions × 8 completions decode as B = 32 rows; a training micro-batch is 16 sequences of
// about 64 tokens (prompt ~54 + completion ~10)
const Bd = 32, Bt = 16, T = 64, N = Bt * T, S = 72;
let seed = 1;
const rand = (n: number) => { const x = new Float32Array(n); for (let i = 0; i < n; i++) { seed = (seed * 1103515245 + 12345) >>> 0; x[i] = seed / 2 ** 32 - 0.5; } return x; };
const v = (x: Float32Array) => ({ buffer: x, offset: 0, length: x.length });
const ones = (n: number) => new Float32Array(n).fill(1);

interface Case { name: string; flops: number; run: (t: Tree) => Promise<Float32Array | number[]> | Float32Array | number[] }
const mm = (name: string, M: number, Nn: number, K: number, o: object): Case => {
  const x = rand(M * K + Nn * K), w = rand(Nn * K + M * Nn);
  return { name, flops: 2 * M * Nn * K, run: (t) => { const out = new Float32Array(M * Nn); t.ops.matmul(v(out), v(x), v(w), M, Nn, K, o); return out; } };
};
const cases: Case[] = [
  mm(`decode q/o proj  ${Bd}x${C}x${C}`, Bd, C, C, { transB: true }),
  mm(`decode mlp up    ${Bd}x${I}x${C}`, Bd, I, C, { transB: true }),
  mm(`decode lm head   ${Bd}x${V}x${C}`, Bd, V, C, { transB: true }),
  mm(`train fwd up     ${N}x${I}x${C}`, N, I, C, { transB: true }),
  mm(`train fwd down   ${N}x${C}x${I}`, N, C, I, { transB: true }),
  mm(`train dx down    ${N}x${I}x${C}`, N, I, C, {}),
  mm(`train dx up      ${N}x${C}x${I}`, N, C, I, {}),
  mm(`train dW up      ${I}x${C}x${N}`, I, C, N, { transA: true }),
  mm(`train dW down    ${C}x${I}x${N}`, C, I, N, { transA: true }),
];
{
  const dims = { B: Bt, T, H, Hkv, D };
  const q = rand(N * H * D), k = rand(N * Hkv * D), vv = rand(N * Hkv * D), dOut = rand(N * H * D);
  const flops = 4 * Bt * H * T * T * D / 2;
  cases.push({ name: `attention fwd    B${Bt} T${T}`, flops, run: (t) => {
    const out = new Float32Array(N * H * D), att = new Float32Array(Bt * H * T * T);
    t.ops.attentionForward(v(out), v(att), v(q), v(k), v(vv), v(ones(N)), dims);
    return out;
  } });
  const att = new Float32Array(Bt * H * T * T);
  trees[0].ops.attentionForward(v(new Float32Array(N * H * D)), v(att), v(q), v(k), v(vv), v(ones(N)), dims);
  cases.push({ name: `attention bwd    B${Bt} T${T}`, flops: 2 * flops, run: (t) => {
    const dq = new Float32Array(N * H * D), dk = new Float32Array(N * Hkv * D), dv = new Float32Array(N * Hkv * D);
    t.ops.attentionBackward(v(dq), v(dk), v(dv), v(dOut), v(att), v(q), v(k), v(vv), dims);
    return Float32Array.from([...dq, ...dk, ...dv]);
  } });
  const qd = rand(Bd * H * D), kc = rand(Bd * S * Hkv * D), vc = rand(Bd * S * Hkv * D);
  cases.push({ name: `attention decode B${Bd} S${S}`, flops: 4 * Bd * H * S * D, run: (t) => {
    const out = new Float32Array(Bd * H * D);
    t.ops.attentionDecode(v(out), v(qd), v(kc), v(vc), v(ones(Bd * S)), Bd, S, H, Hkv, D);
    return out;
  } });
  const g = rand(N * I), u = rand(N * I), dO = rand(N * I);
  cases.push({ name: `swiglu fwd+bwd   ${N}x${I}`, flops: 0, run: (t) => {
    const out = new Float32Array(N * I), dg = new Float32Array(N * I), du = new Float32Array(N * I);
    t.ops.swigluForward(v(out), v(g), v(u), N, I);
    t.ops.swigluBackward(v(dg), v(du), v(dO), v(g), v(u), N, I);
    return out;
  } });
}
// end to end on the shipped weights: what one peer does in a round
const prompts = Array.from({ length: 4 }, (_, q) => Array.from({ length: 50 + 3 * q }, (_, i) => 3 + ((i * 7 + q * 13) % (V - 3))));
const rows = prompts.flatMap((p) => Array.from({ length: 8 }, () => p));
const stop = [cfg.eos_token_id as number];
cases.push({ name: 'engine sample 32 rows × 12 tok', flops: 0, run: async (t) => {
  const e = t.createCpuEngine(cfg, folder.weights);
  const r = await e.sample(rows, { maxNewTokens: 12, temperature: 1, seed: 7, stopTokens: [] });
  e.dispose();
  return r.logprobs.flat();
} });
const evalPrompts = Array.from({ length: 32 }, (_, q) => Array.from({ length: 40 + (q % 16) }, (_, i) => 3 + ((i * 5 + q * 11) % (V - 3))));
cases.push({ name: 'engine greedy eval 32 prompts', flops: 0, run: async (t) => {
  const e = t.createCpuEngine(cfg, folder.weights);
  const r = await e.sample(evalPrompts, { maxNewTokens: 12, temperature: 0, seed: 0, stopTokens: stop });
  e.dispose();
  return r.logprobs.flat();
} });
const seqs = Array.from({ length: Bt }, (_, b) => ({ tokens: [...prompts[b % 4], ...Array.from({ length: 6 + (b % 7) }, (_, i) => 3 + ((i * 3 + b) % (V - 3)))], completionStart: prompts[b % 4].length }));
cases.push({ name: `engine train step ${Bt} seqs`, flops: 0, run: async (t) => {
  const e = t.createCpuEngine(cfg, folder.weights);
  const lp = await e.forwardLogprobs(seqs);
  await e.backwardLogprobs(lp.map((r) => r.map((_, i) => ((i % 3) - 1) * 0.01)));
  await e.optimizerStep({ lr: 2e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 });
  const after = await e.readParams();
  e.dispose();
  return [...lp.flat(), ...after.subarray(0, 4096)];
} });

const results: Record<string, unknown>[] = [];
console.log(`CPU engine, default model (C=${C}, I=${I}, V=${V}, ${cfg.num_hidden_layers} layers), best of ${reps} reps${a.baseline ? `, baseline ${a.baseline} interleaved` : ''}`);
for (const c of cases) {
  const best: Record<string, number> = {};
  const outs: Record<string, Float32Array | number[]> = {};
  for (let r = 0; r < reps + 1; r++) {
    for (const t of r % 2 === 0 ? trees : [...trees].reverse()) {
      // small calls repeat until a rep lasts ~40 ms, so timer resolution and one GC do not decide
      let o = await c.run(t), n = 1;
      const t0 = performance.now();
      for (n = 0; n === 0 || performance.now() - t0 < 40; n++) o = await c.run(t);
      const ms = (performance.now() - t0) / n;
      if (r > 0) best[t.name] = Math.min(best[t.name] ?? Infinity, ms); // rep 0 warms up the JIT
      outs[t.name] = o;
    }
  }
  let maxDiff: number | null = null;
  if (outs.baseline) {
    maxDiff = 0;
    const x = outs.this, y = outs.baseline;
    for (let i = 0; i < x.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i]));
  }
  const row = { case: c.name.trim(), ms: best.this, baselineMs: best.baseline ?? null, speedup: best.baseline ? best.baseline / best.this : null, gflops: c.flops ? c.flops / best.this / 1e6 : null, maxDiffVsBaseline: maxDiff };
  results.push(row);
  console.log(`${c.name.padEnd(34)} ${best.this.toFixed(2).padStart(8)} ms` + (c.flops ? ` ${(c.flops / best.this / 1e6).toFixed(2).padStart(5)} GFLOP/s` : '              ') +
    (best.baseline ? `  baseline ${best.baseline.toFixed(2).padStart(8)} ms  ×${(best.baseline / best.this).toFixed(2)}  max|Δ| ${maxDiff!.toExponential(1)}` : ''));
}
if (a.json) writeFileSync(a.json, JSON.stringify({ model: a.model, reps, baseline: a.baseline ?? null, results }, null, 1));
