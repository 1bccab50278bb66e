// Builds the swarm game's model: the shipped default model (same tokenizer, same architecture), fine-tuned
// by a short supervised stage on synthetic game transcripts (scripts/model/game-corpus.ts) mixed with the
// default model's own answer transcripts, so it learns the critique and resolve formats without forgetting
// how to answer. Writes an HF folder to public/models/game/; the default model is read, never written.
//
// The corpus never holds a prompt reserved for evaluation (heldout.ts), nor any question the game
// experiment plays (scripts/experiment-game.ts: swarms game-experiment-0..EXCLUDE_SEEDS-1, rounds
// 0..EXCLUDE_ROUNDS), so `npm run experiment:game -- --model public/models/game` measures play on
// questions the model was not taught.
//
//   npm run build:game-model -- [--steps 300] [--batch 24] [--lr 0.003] [--seed 1] [--answer-share 0.34] [--from public/models/default] [--out public/models/game]
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createCpuEngine } from '../src/engine/index.ts';
import { dirSink } from '../src/engine/hf-node.ts';
import { saveHfModel } from '../src/engine/hf.ts';
import { DEFAULT_TASK_MIX } from '../src/rl/defaults.ts';
import { encodePrompt } from '../src/rl/format.ts';
import { expandLevels } from '../src/rl/heldout.ts';
import { gameTaskRefs } from '../src/rl/game/stages.ts';
import { encodeStagePrompt } from '../src/rl/game/train.ts';
import { generateTask } from '../src/rl/tasks/index.ts';
import { Rng } from '../src/rl/rng.ts';
import { GAME_TRANSCRIPTS, gameTranscript, type GameTranscriptStage } from './model/game-corpus.ts';
import { transcript } from './model/corpus.ts';
import { loadModelFolder } from './model/load.ts';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '300' },
    batch: { type: 'string', default: '24' },
    lr: { type: 'string', default: '0.003' },
    seed: { type: 'string', default: '1' },
    'answer-share': { type: 'string', default: '0.34' },
    from: { type: 'string', default: 'public/models/default' },
    out: { type: 'string', default: 'public/models/game' },
  },
});
const steps = Number(args.steps);
const batchSize = Number(args.batch);
const peakLr = Number(args.lr);
const seed = Number(args.seed);
if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(batchSize) || batchSize < 1 || !(peakLr > 0) || !Number.isInteger(seed)) {
  throw new Error('--steps and --batch must be positive integers, --lr a positive number, --seed an integer');
}
const fromDir = resolve(args.from);
const outDir = resolve(args.out);
if (fromDir === outDir) throw new Error('--out must not be the model it fine-tunes (the default model stays as it is)');
/** the game experiment's questions, kept out of the corpus */
const EXCLUDE_SEEDS = 10;
const EXCLUDE_ROUNDS = 400;
const EXCLUDE_QUESTIONS = 4;
/** per batch: answer transcripts (keep the answer skill), then critiques and resolves half and half */
const answerShare = Number(args['answer-share']);
if (!(answerShare >= 0 && answerShare < 1)) throw new Error('--answer-share must be a number in [0, 1)');
const SHARE = { answer: answerShare, critique: (1 - answerShare) / 2, resolve: (1 - answerShare) / 2 };

const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const folder = await loadModelFolder(fromDir);
const { tokenizer, config } = folder;
const ctx = config.max_position_embeddings;
const mix = expandLevels(DEFAULT_TASK_MIX);

const excludedPrompts = new Set<string>();
for (let s = 0; s < EXCLUDE_SEEDS; s++) {
  for (let r = 0; r <= EXCLUDE_ROUNDS; r++) {
    for (const ref of gameTaskRefs(`game-experiment-${s}`, r, DEFAULT_TASK_MIX, EXCLUDE_QUESTIONS)) excludedPrompts.add(generateTask(ref).prompt);
  }
}
console.log(`excluded ${excludedPrompts.size} experiment questions from the corpus (${elapsed().toFixed(1)} s)`);
const excluded = (p: string) => excludedPrompts.has(p);

interface Row {
  tokens: number[];
  completionStart: number;
}

/** prompt and completion encoded apart, exactly as the runner encodes a prompt and samples after it */
function encodeGame(stage: GameTranscriptStage, index: number): Row | null {
  const t = gameTranscript(mix, index, stage, GAME_TRANSCRIPTS, excluded, `build-${seed}`);
  const prompt = encodeStagePrompt(tokenizer, stage, t.prompt);
  const completion = [...tokenizer.encode(t.completion), tokenizer.eosId];
  if (prompt.length + completion.length > ctx) return null;
  return { tokens: [...prompt, ...completion], completionStart: prompt.length };
}

function encodeAnswer(index: number): Row | null {
  const t = transcript(mix, index, { pCorrect: 0.4, pSystematic: 0.35 }, `game-build-${seed}`);
  if (excluded(t.prompt.slice(0, -1))) return null;
  const prompt = encodePrompt(tokenizer, { prompt: t.prompt.slice(0, -1) });
  const tokens = [...prompt, ...tokenizer.encode(t.completion), tokenizer.eosId];
  return tokens.length > ctx ? null : { tokens, completionStart: prompt.length };
}

let cursor = 0;
function nextRow(kind: keyof typeof SHARE): Row {
  for (;;) {
    const i = cursor++;
    const row = kind === 'answer' ? encodeAnswer(i) : encodeGame(kind, i);
    if (row) return row;
  }
}

function batch(step: number): Row[] {
  const rng = new Rng(seed * 1_000_003 + step);
  return Array.from({ length: batchSize }, () => {
    const u = rng.next();
    return nextRow(u < SHARE.answer ? 'answer' : u < SHARE.answer + SHARE.critique ? 'critique' : 'resolve');
  });
}

const engine = createCpuEngine(config, folder.weights);
const warmup = Math.min(20, Math.floor(steps / 5));
let emaLoss = NaN;
for (let step = 0; step < steps; step++) {
  const rows = batch(step);
  const tokens = rows.reduce((s, r) => s + r.tokens.length - r.completionStart, 0);
  engine.zeroGrads();
  const logprobs = await engine.forwardLogprobs(rows);
  const loss = -logprobs.flat().reduce((s, x) => s + x, 0) / tokens;
  await engine.backwardLogprobs(logprobs.map((row) => row.map(() => -1 / tokens)));
  const progress = Math.max(0, step - warmup) / Math.max(1, steps - warmup);
  const lr = step < warmup ? (peakLr * (step + 1)) / warmup : peakLr * (0.1 + 0.45 * (1 + Math.cos(Math.PI * progress)));
  await engine.optimizerStep({ lr, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 });
  emaLoss = Number.isNaN(emaLoss) ? loss : 0.9 * emaLoss + 0.1 * loss;
  if (step % 20 === 0 || step === steps - 1) console.log(`step ${step}/${steps} loss ${emaLoss.toFixed(3)} lr ${lr.toExponential(2)} ${elapsed().toFixed(0)} s`);
}

mkdirSync(outDir, { recursive: true });
await saveHfModel(dirSink(outDir), config, await engine.exportWeights());
for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) copyFileSync(join(fromDir, f), join(outDir, f));
const report = {
  from: args.from, steps, batchSize, peakLr, seed, share: SHARE, transcripts: GAME_TRANSCRIPTS,
  excludedExperimentQuestions: excludedPrompts.size, finalLoss: emaLoss, seconds: elapsed(),
  command: `npm run build:game-model -- --steps ${steps} --batch ${batchSize} --lr ${peakLr} --seed ${seed} --answer-share ${answerShare}`,
};
writeFileSync(join(outDir, 'finetune-report.json'), JSON.stringify(report, null, 2));
engine.dispose();
console.log(JSON.stringify(report, null, 2));
