// Builds the shipped default model: a byte-level BPE tokenizer trained on task transcripts, and a tiny
// Llama-style decoder pretrained (CPU reference engine) on transcripts whose answers are deliberately
// imperfect, so RL starts from modest accuracy. Writes an HF folder to public/models/default/.
// Per prompt the corpus answers right with p 0.3, with the family's systematic mistake with p 0.45 and with
// a random wrong answer otherwise (scripts/model/corpus.ts): where the model has learned a task, its
// greedy answer is the mistake and the right answer is close behind, which is what RL has to flip.
// The corpus covers every level of the default mix (expandLevels) and never a prompt reserved for
// evaluation (heldout.ts): the held-out and generalisation figures are on questions it has not seen.
//
//   npm run build:model -- [--steps 4000] [--minutes 25] [--out public/models/default] [--seed 1]
//                          [--p-correct 0.3] [--p-systematic 0.45] [--hidden 64] [--intermediate 192] [--layers 2]
// A fixed step count makes the build repeatable bit for bit (the learning-rate schedule follows steps, not
// the clock); --minutes is a safety net on a slow machine: when the first 10 steps say the run would not fit,
// fewer steps are planned, and the report says how many ran.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createCpuEngine, initWeights, parseConfig, type ModelConfig } from '../src/engine/index.ts';
import { DEFAULT_TASK_MIX } from '../src/rl/defaults.ts';
import { encodePrompt } from '../src/rl/format.ts';
import { expandLevels, generalisationTasks, heldOutTasks } from '../src/rl/heldout.ts';
import { defaultRunnerConfig, RoundRunner } from '../src/rl/runner.ts';
import { SoloTransport } from '../src/rl/bus.ts';
import { Rng } from '../src/rl/rng.ts';
import { loadTokenizer } from '../src/rl/tokenizer.ts';
import { tokenizerFiles, trainBpe } from './model/bpe.ts';
import { transcript } from './model/corpus.ts';
import { dirSink } from '../src/engine/hf-node.ts';
import { saveHfModel } from '../src/engine/hf.ts';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '4000' },
    minutes: { type: 'string', default: '25' },
    out: { type: 'string', default: 'public/models/default' },
    seed: { type: 'string', default: '1' },
    batch: { type: 'string', default: '32' },
    lr: { type: 'string', default: '0.005' },
    hidden: { type: 'string', default: '64' },
    intermediate: { type: 'string', default: '192' },
    layers: { type: 'string', default: '2' },
    'p-correct': { type: 'string', default: '0.3' },
    'p-systematic': { type: 'string', default: '0.45' },
  },
});
const outDir = resolve(args.out);
const budgetSeconds = Number(args.minutes) * 60;
const batchSize = Number(args.batch);
const peakLr = Number(args.lr);
const TRANSCRIPTS = { pCorrect: Number(args['p-correct']), pSystematic: Number(args['p-systematic']) };
if (!(TRANSCRIPTS.pCorrect >= 0 && TRANSCRIPTS.pSystematic >= 0 && TRANSCRIPTS.pCorrect + TRANSCRIPTS.pSystematic <= 1)) {
  throw new Error(`--p-correct and --p-systematic must be shares that sum to at most 1, got ${args['p-correct']} and ${args['p-systematic']}`);
}
const MERGES = 120;
const MAX_POSITIONS = 96;
const PRETRAIN_MIX = expandLevels(DEFAULT_TASK_MIX);

mkdirSync(outDir, { recursive: true });
const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;

// 1. tokenizer: BPE merges from a sample of the transcripts
const tokCorpus = Array.from({ length: 20000 }, (_, i) => {
  const t = transcript(PRETRAIN_MIX, i, TRANSCRIPTS, 'tokenizer');
  return t.prompt + t.completion;
});
const bpe = trainBpe(tokCorpus, MERGES);
const files = tokenizerFiles(bpe, MAX_POSITIONS);
writeFileSync(join(outDir, 'tokenizer.json'), JSON.stringify(files.tokenizer));
writeFileSync(join(outDir, 'tokenizer_config.json'), JSON.stringify(files.config, null, 2));
const rootDir = resolve(outDir, '..');
const name = outDir.slice(rootDir.length + 1);
const tokenizer = await loadTokenizer(rootDir, name, async (p) => JSON.parse(readFileSync(p, 'utf8')));
console.log(`tokenizer: ${bpe.vocab.size} tokens (${MERGES} merges) in ${elapsed().toFixed(1)} s`);

// 2. model
const config: ModelConfig = parseConfig({
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: bpe.vocab.size,
  hidden_size: Number(args.hidden),
  intermediate_size: Number(args.intermediate),
  num_hidden_layers: Number(args.layers),
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: MAX_POSITIONS,
  rope_theta: 10000,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: true,
  attention_bias: false,
  bos_token_id: tokenizer.bosId,
  eos_token_id: tokenizer.eosId,
  torch_dtype: 'float32',
});
const engine = createCpuEngine(config, initWeights(config, Number(args.seed)));
console.log(`model: ${engine.layout.size} parameters`);

// 3. pretraining on imperfect transcripts; the step count is fitted to the time budget after a few steps
const encodeTranscript = (i: number) => {
  const t = transcript(PRETRAIN_MIX, i, TRANSCRIPTS);
  const tokens = [...encodePrompt(tokenizer, { prompt: t.prompt.slice(0, -1) }), ...tokenizer.encode(t.completion), tokenizer.eosId];
  return { tokens: tokens.slice(0, MAX_POSITIONS), completionStart: 1 };
};
const trainStart = elapsed();
const requestedSteps = Number(args.steps);
let totalSteps = requestedSteps;
const warmup = 30;
let step = 0;
let emaLoss = NaN;
// batches are padded to their longest row: draw BUCKETS batches at once and group them by length
const BUCKETS = 4;
let pending: ReturnType<typeof encodeTranscript>[][] = [];
// a hard stop at the budget as well, should the machine slow down after the plan was made
const trainBudget = budgetSeconds * 0.9 - trainStart;
for (; step < totalSteps && elapsed() - trainStart < trainBudget; step++) {
  if (pending.length === 0) {
    const pool = Array.from({ length: batchSize * BUCKETS }, (_, k) => encodeTranscript(step * batchSize + k)).sort((a, b) => a.tokens.length - b.tokens.length);
    pending = Array.from({ length: BUCKETS }, (_, b) => pool.slice(b * batchSize, (b + 1) * batchSize));
    pending = new Rng(step).shuffle(pending);
  }
  const batch = pending.pop()!;
  const tokens = batch.reduce((s, b) => s + b.tokens.length - b.completionStart, 0);
  engine.zeroGrads();
  const logprobs = await engine.forwardLogprobs(batch);
  const loss = -logprobs.flat().reduce((s, x) => s + x, 0) / tokens;
  await engine.backwardLogprobs(logprobs.map((row) => row.map(() => -1 / tokens)));
  // the schedule follows steps only, so a build that fits its budget is the same bits on any machine
  const progress = Math.min(1, Math.max(0, step - warmup) / Math.max(1, totalSteps - warmup));
  const lr = step < warmup ? (peakLr * (step + 1)) / warmup : peakLr * (0.1 + 0.45 * (1 + Math.cos(Math.PI * progress)));
  await engine.optimizerStep({ lr, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 });
  emaLoss = Number.isNaN(emaLoss) ? loss : 0.95 * emaLoss + 0.05 * loss;
  if (step === 9) {
    const perStep = (elapsed() - trainStart) / 10;
    // a slow machine: fewer steps, planned now so the cosine still ends where it should (the report says so)
    if (perStep * totalSteps > trainBudget) totalSteps = Math.max(warmup + 10, Math.floor((0.95 * trainBudget) / perStep));
    console.log(`${perStep.toFixed(2)} s/step, ${totalSteps} steps of ${batchSize} transcripts planned${totalSteps < requestedSteps ? ` (cut from ${requestedSteps} to fit --minutes)` : ''}`);
  }
  if (step % 50 === 0) console.log(`step ${step}/${totalSteps} loss ${emaLoss.toFixed(3)} lr ${lr.toExponential(2)} ${elapsed().toFixed(0)} s`);
}

// 4. where it starts for RL: sampled (temperature 1) and greedy accuracy on held-out tasks
console.log(`trained ${step} steps, loss ${emaLoss.toFixed(3)}, ${elapsed().toFixed(0)} s`);
totalSteps = step;
const runner = new RoundRunner(engine, tokenizer, new SoloTransport('build'), defaultRunnerConfig({ tasks: DEFAULT_TASK_MIX }));
const held = heldOutTasks(DEFAULT_TASK_MIX, 16);
const greedy = await runner.evaluate(held);
const general = await runner.evaluate(generalisationTasks(DEFAULT_TASK_MIX, 16));
const sampled = await runner.sampleRound(0);
const all = sampled.groups.flatMap((g) => g.completions);
const report = {
  parameters: engine.layout.size,
  steps: totalSteps,
  requestedSteps,
  batchSize,
  transcripts: totalSteps * batchSize,
  transcriptAccuracy: TRANSCRIPTS.pCorrect,
  transcriptSystematicMistakes: TRANSCRIPTS.pSystematic,
  finalLoss: emaLoss,
  heldOutTasks: held.length,
  heldOutGreedyPassAt1: greedy.passAt1,
  generalisationGreedyPassAt1: general.passAt1,
  heldOutFormatRate: greedy.formatRate,
  perFamily: greedy.perFamily,
  sampledAccuracyRound0: all.filter((c) => c.correct).length / all.length,
  seconds: elapsed(),
};
console.log(JSON.stringify(report, null, 2));

// 5. the HF folder
const weights = await engine.exportWeights();
await saveHfModel(dirSink(outDir), config, weights);
writeFileSync(join(outDir, 'generation_config.json'), JSON.stringify({ bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id, do_sample: true, temperature: 1, top_p: 1, max_new_tokens: 24 }, null, 2));
writeFileSync(join(outDir, 'pretrain-report.json'), JSON.stringify(report, null, 2));
engine.dispose();
console.log(`wrote ${outDir} in ${elapsed().toFixed(0)} s`);
