// npm run bench:verify [-- --quick] [--json FILE] [--seconds S] [--batches N] [--no-gpu] [--model DIR]
// Verified work on the shipped default model, rounds shaped like the runner's (B questions x G completions,
// its sampling settings, the seed it derives): honest batches sampled on each backend (CPU reference,
// WebGPU on Node Dawn) and spot-checked on each, for as many tokens as fit in --seconds; then each cheat
// in its strongest form (the cheater holds the real weights and commits their true logprobs), N challenged
// batches each, checked as the network does (VERIFY.rows: the whole batch) and, for comparison, on 8 rows
// (the earlier setting), each rate with a 95% Wilson interval; then cost (verification vs generation time,
// shared-prompt scorer and the padded one) and bytes per token as the challenge protocol sends them.
// Prints one JSON object and writes it to --json when given.

import { VERIFY } from '../src/swarm/constants.ts';
import { existsSync, writeFileSync } from 'node:fs';
import { requestGpu } from '../src/engine/device.ts';
import { createGpuEngine, createGpuOps } from '../src/engine/gpu/index.ts';
import { loadModelFolder, type LoadedFolder } from './model/load.ts';
import type { Engine } from '../src/engine/api.ts';
import { createCpuEngine } from '../src/engine/cpu/index.ts';
import { createLogitsScorer, createCpuLogitsScorer, type LogitsScorer } from '../src/engine/logits.ts';
import { DEFAULT_TASK_MIX } from '../src/rl/defaults.ts';
import { completionText, decodeCompletion, encodeCompletion, encodePrompt } from '../src/rl/format.ts';
import { Rng } from '../src/rl/rng.ts';
import { defaultRunnerConfig, roundTaskRefs } from '../src/rl/runner.ts';
import { generateTask, scoreCompletion, type Task } from '../src/rl/tasks/index.ts';
import {
  DEFAULT_TOLERANCE, answerChallenge, commitSampling, revealCompletion, commitmentWireBytes, makeChallenge, revealWireBytes, samplingSeed, spotCheck,
  MAX_CHALLENGED_ROWS,
  weightsHash, type CommittedBatch, type Verdict,
} from '../src/rl/verify/index.ts';
import { encodeResponse } from '../src/swarm/verify-codec.ts';
import { cherryPick, flipToken, perturbWeights, teacherForcedLogprobs, type BatchSettings, type SampledRows } from '../src/rl/verify/adversary.ts';

interface Args { quick: boolean; json?: string; seconds: number; batches: number; gpu: boolean; model: string }

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, seconds: 240, batches: 40, gpu: true, model: 'public/models/default' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${k} needs a value`);
      return v;
    };
    if (k === '--quick') Object.assign(a, { quick: true, seconds: 10, batches: 4 });
    else if (k === '--json') a.json = value();
    else if (k === '--seconds') a.seconds = Number(value());
    else if (k === '--batches') a.batches = Number(value());
    else if (k === '--no-gpu') a.gpu = false;
    else if (k === '--model') a.model = value();
    else throw new Error(`unknown argument ${k}`);
  }
  if (!(a.seconds > 0) || !Number.isInteger(a.batches) || a.batches < 1) throw new Error('--seconds must be > 0 and --batches an integer >= 1');
  return a;
}

const args = parseArgs(process.argv.slice(2));
const folder: LoadedFolder = await loadModelFolder(args.model);
const { config, tokenizer } = folder;
const runner = defaultRunnerConfig({ tasks: DEFAULT_TASK_MIX });
const B = runner.questions, G = runner.completions;
const swarmId = 'bench-verify';
const hash = await weightsHash(folder.weights);

/** the prompts, tasks and settings of (round, peer), as the runner makes them */
function roundOf(round: number, peerId: string) {
  const tasks: Task[] = roundTaskRefs(swarmId, round, peerId, runner.tasks, B).map(generateTask);
  const prompts = tasks.flatMap((t) => Array.from({ length: G }, () => encodePrompt(tokenizer, t)));
  const longest = Math.max(...prompts.map((p) => p.length));
  const settings: BatchSettings = {
    temperature: runner.sampling.temperature, topP: runner.sampling.topP, topK: runner.sampling.topK,
    maxNewTokens: Math.min(runner.sampling.maxNewTokens, config.max_position_embeddings - longest), stopTokens: [tokenizer.eosId],
  };
  return { tasks, prompts, settings, taskOf: (row: number) => tasks[Math.floor(row / G)] };
}

function commitRows(round: number, peerId: string, settings: BatchSettings, rows: SampledRows): Promise<CommittedBatch> {
  return commitSampling({
    swarmId, round, peerId, weightsHash: hash, tokens: rows.tokens, logprobs: rows.logprobs,
    settings: { temperature: settings.temperature, topP: settings.topP, topK: settings.topK, maxNewTokens: settings.maxNewTokens, stopTokens: settings.stopTokens },
  });
}

/** 95% Wilson score interval for k successes in n trials */
function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.959964, p = k / n, z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

const challengeRng = new Rng(0xc4a11e);
/** challenge `rows` rows (all by default), answer honestly from the committed batch, check on `scorer` */
async function check(batch: CommittedBatch, prompts: number[][], scorer: LogitsScorer, rows = batch.commitment.completions): Promise<Verdict & { ms: number }> {
  const t0 = performance.now();
  const challenge = makeChallenge(batch.commitment, rows, () => challengeRng.next(), `n${challengeRng.nextU32()}`);
  const v = await spotCheck({
    commitment: batch.commitment, challenge, response: answerChallenge(batch, challenge), promptOf: (r) => prompts[r], scorer, scorerWeightsHash: hash,
  });
  return { ...v, ms: performance.now() - t0 };
}

// engines and scorers per backend
const engines: Record<string, Engine> = { cpu: createCpuEngine(config, folder.weights) };
const scorers: Record<string, LogitsScorer> = { cpu: createCpuLogitsScorer(config, folder.weights) };
// the earlier scorer (every row whole, padded to the longest): the cost comparison only
const paddedScorer = createCpuLogitsScorer(config, folder.weights, { strategy: 'padded' });
/** rows a tab's spot check asks for (VERIFY.rows, capped by the protocol and the batch) */
const networkRows = (completions: number) => Math.min(VERIFY.rows, MAX_CHALLENGED_ROWS, completions);
let gpuNote: string | null = null;
let keptGpu: GPU | null = null;
if (args.gpu) {
  try {
    const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
    if (!process.env.VK_ICD_FILENAMES && existsSync(icd)) process.env.VK_ICD_FILENAMES = icd;
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    // held for the life of the process: Dawn tears the instance down when this is collected
    keptGpu = create([]);
    const gpu = await requestGpu({ gpu: keptGpu });
    if (!gpu) throw new Error('no adapter (is libvulkan1 installed?)');
    engines.webgpu = await createGpuEngine(gpu, config, folder.weights);
    scorers.webgpu = createLogitsScorer(await createGpuOps(gpu), config, folder.weights);
  } catch (e) {
    gpuNote = `WebGPU unavailable: ${e instanceof Error ? e.message : String(e)}`;
    delete engines.webgpu;
  }
}

// 1. honest peers across backends
// maxRawLogprobDelta: |sender's float logprob - verifier's recomputation|, before quantisation (the verdict's
// maxLogprobDelta includes the up-to-2^-11 quantisation step)
const honest: Record<string, {
  batches: number; tokens: number; failures: number; maxLogprobDelta: number; maxRawLogprobDelta: number; maxCdfOvershoot: number; firstFailure?: string;
}> = {};
const genMs: number[] = [], verifyMs: number[] = [], tokensPerBatch: number[] = [];
let commitBytes = 0, revealBytesAll = 0, revealBytesWithProofs = 0, revealTokens = 0;
// what the protocols really send: the commitment as JSON in the rollouts message, the reply frame of a
// whole-batch challenge (u32 length + JSON, src/swarm/verify.ts)
let commitJsonBytes = 0, replyFrameBytes = 0, replyJsonArrayBytes = 0;
const deadline = performance.now() + args.seconds * 1000;
const verifyPaddedMs: number[] = [];
let round = 0;
while (performance.now() < deadline) {
  round++;
  for (const [sb, engine] of Object.entries(engines)) {
    const peerId = `honest-${sb}`;
    const { prompts, settings } = roundOf(round, peerId);
    const t0 = performance.now();
    const r = await engine.sample(prompts, { ...settings, seed: samplingSeed(swarmId, round, peerId) });
    const gen = performance.now() - t0;
    const batch = await commitRows(round, peerId, settings, r);
    const n = r.tokens.reduce((s, t) => s + t.length, 0);
    if (sb === 'cpu') {
      genMs.push(gen);
      tokensPerBatch.push(n);
      commitBytes += commitmentWireBytes(batch.commitment);
      // a whole-batch challenge (no proofs) and, for comparison, the same rows revealed one by one with proofs
      const all = makeChallenge(batch.commitment, batch.commitment.completions, () => 0, 'bytes');
      const reply = answerChallenge(batch, all);
      for (const r of reply.reveals) revealBytesAll += revealWireBytes(r);
      commitJsonBytes += new TextEncoder().encode(JSON.stringify(batch.commitment)).length;
      replyFrameBytes += 4 + new TextEncoder().encode(JSON.stringify({ ok: true, response: encodeResponse(reply) })).length;
      replyJsonArrayBytes += 4 + new TextEncoder().encode(JSON.stringify({ ok: true, response: reply })).length;
      for (let row = 0; row < batch.leaves.length; row++) revealBytesWithProofs += revealWireBytes(revealCompletion(batch, row));
      revealTokens += n;
    }
    for (const [vb, scorer] of Object.entries(scorers)) {
      const key = `${sb}->${vb}`;
      const v = await check(batch, prompts, scorer, networkRows(batch.commitment.completions));
      if (sb === 'cpu' && vb === 'cpu') {
        verifyMs.push(v.ms);
        const p = await check(batch, prompts, paddedScorer, networkRows(batch.commitment.completions));
        if (p.ok !== v.ok || p.checkedTokens !== v.checkedTokens) throw new Error(`padded and shared-prompt checks disagree on round ${round}`);
        verifyPaddedMs.push(p.ms);
      }
      const h = (honest[key] ??= { batches: 0, tokens: 0, failures: 0, maxLogprobDelta: 0, maxRawLogprobDelta: 0, maxCdfOvershoot: 0 });
      const raw = await teacherForcedLogprobs(scorer, prompts, r.tokens);
      raw.forEach((row, i) => row.forEach((lp, t) => (h.maxRawLogprobDelta = Math.max(h.maxRawLogprobDelta, Math.abs(lp - r.logprobs[i][t])))));
      h.batches++;
      h.tokens += v.checkedTokens;
      if (!v.ok) {
        h.failures++;
        h.firstFailure ??= v.reasons[0];
      }
      h.maxLogprobDelta = Math.max(h.maxLogprobDelta, v.maxLogprobDelta);
      h.maxCdfOvershoot = Math.max(h.maxCdfOvershoot, v.maxCdfOvershoot);
    }
  }
}
const honestTokens = Object.values(honest).reduce((s, h) => s + h.tokens, 0);
const honestFailures = Object.values(honest).reduce((s, h) => s + h.failures, 0);

// 2. cheats, on the CPU reference (the cheater samples and recomputes with the real weights)
const cpuEngine = engines.cpu, cpuScorer = scorers.cpu;
const rewardOf = (task: Task, tokens: number[]) => scoreCompletion(task, decodeCompletion(tokenizer, tokens)).reward;
const perturbRng = new Rng(99);
const otherScale = 0.05;
const otherEngine = createCpuEngine(config, perturbWeights(folder.weights, otherScale, () => perturbRng.next()));
const tamperRng = new Rng(12345);
type Cheat = (round: number, peerId: string) => Promise<{ rows: SampledRows; cheated: boolean }>;
const cheats: Record<string, Cheat> = {
  'hand-written correct answers': async (rd, peer) => {
    const { prompts, taskOf } = roundOf(rd, peer);
    const tokens = prompts.map((_, row) => encodeCompletion(tokenizer, completionText(taskOf(row).answer)));
    return { rows: { tokens, logprobs: await teacherForcedLogprobs(cpuScorer, prompts, tokens) }, cheated: true };
  },
  [`another checkpoint (weights + N(0, (${otherScale} rms)^2))`]: async (rd, peer) => {
    const { prompts, settings } = roundOf(rd, peer);
    const r = await otherEngine.sample(prompts, { ...settings, seed: samplingSeed(swarmId, rd, peer) });
    // a nearby checkpoint can draw, from the same uniforms, every token the named weights draw: that batch
    // is the honest one, token for token, and no check can (or should) fail it
    const honestRows = await cpuEngine.sample(prompts, { ...settings, seed: samplingSeed(swarmId, rd, peer) });
    const same = r.tokens.every((t, i) => t.join() === honestRows.tokens[i].join());
    return { rows: { tokens: r.tokens, logprobs: await teacherForcedLogprobs(cpuScorer, prompts, r.tokens) }, cheated: !same };
  },
  'one flipped token': async (rd, peer) => {
    const { prompts, settings } = roundOf(rd, peer);
    const r = await cpuEngine.sample(prompts, { ...settings, seed: samplingSeed(swarmId, rd, peer) });
    const row = tamperRng.int(0, r.tokens.length - 1);
    const len = r.tokens[row].length;
    // a non-stop position (the stop token ends the row; flipping it is a different, longer cheat)
    const pos = tamperRng.int(0, Math.max(0, (settings.stopTokens.includes(r.tokens[row][len - 1]) ? len - 2 : len - 1)));
    const tokens = flipToken(r.tokens, row, pos, config.vocab_size, settings.stopTokens);
    return { rows: { tokens, logprobs: await teacherForcedLogprobs(cpuScorer, prompts, tokens) }, cheated: true };
  },
  'cherry-picked (best reward of 4 seeds)': async (rd, peer) => {
    const { prompts, settings, taskOf } = roundOf(rd, peer);
    const seeds = [samplingSeed(swarmId, rd, peer), ...[1, 2, 3].map((k) => samplingSeed(swarmId, rd, `${peer}/alt${k}`))];
    const p = await cherryPick(cpuEngine, prompts, settings, seeds, (row, t) => rewardOf(taskOf(row), t));
    return { rows: p, cheated: p.picked > 0 };
  },
  'replayed rollouts of another round': async (rd, peer) => {
    const { prompts, settings } = roundOf(rd, peer);
    // the same tasks, sampled under the previous round's seed: a replay that would pass a task re-derivation
    const r = await cpuEngine.sample(prompts, { ...settings, seed: samplingSeed(swarmId, rd - 1, peer) });
    return { rows: { tokens: r.tokens, logprobs: r.logprobs }, cheated: true };
  },
};
interface Detection {
  batches: number; cheatedBatches: number; rowsChallenged: number; detected: number; rate: number; ci95: [number, number];
  detected8Rows: number; rate8Rows: number; ci95at8Rows: [number, number]; exampleReason?: string;
}
const detection: Record<string, Detection> = {};
for (const [name, cheat] of Object.entries(cheats)) {
  const d: Detection = { batches: 0, cheatedBatches: 0, rowsChallenged: 0, detected: 0, rate: 0, ci95: [0, 1], detected8Rows: 0, rate8Rows: 0, ci95at8Rows: [0, 1] };
  for (let k = 0; k < args.batches; k++) {
    const rd = 1000 + k, peer = `cheat-${k}`;
    const { prompts, settings } = roundOf(rd, peer);
    const { rows, cheated } = await cheat(rd, peer);
    const batch = await commitRows(rd, peer, settings, rows);
    d.batches++;
    if (!cheated) continue; // token for token what the named weights draw (best-of-4 on the canonical seed, a too-near checkpoint): that batch IS honest
    d.cheatedBatches++;
    d.rowsChallenged = networkRows(batch.commitment.completions);
    const net = await check(batch, prompts, cpuScorer, d.rowsChallenged);
    if (!net.ok) {
      d.detected++;
      d.exampleReason ??= net.reasons[0];
    }
    if (!(await check(batch, prompts, cpuScorer, 8)).ok) d.detected8Rows++;
  }
  d.rate = d.cheatedBatches ? d.detected / d.cheatedBatches : 0;
  d.ci95 = wilson(d.detected, d.cheatedBatches);
  d.rate8Rows = d.cheatedBatches ? d.detected8Rows / d.cheatedBatches : 0;
  d.ci95at8Rows = wilson(d.detected8Rows, d.cheatedBatches);
  detection[name] = d;
}

// 3. cost and bytes
const sum = (x: number[]) => x.reduce((s, v) => s + v, 0);
const challengeRate = VERIFY.rate;
const tokensTotal = sum(tokensPerBatch);
const report = {
  command: `npm run bench:verify -- ${process.argv.slice(2).join(' ')}`.trim(),
  model: { folder: args.model, weightsHash: hash, vocab: config.vocab_size, params: folder.weights.length },
  batch: { questions: B, completions: G, sampling: roundOf(1, 'x').settings },
  tolerance: DEFAULT_TOLERANCE,
  gpu: gpuNote ?? 'Node Dawn WebGPU',
  honest: {
    pairs: honest, checkedTokens: honestTokens, failures: honestFailures,
    failedBatchRate: honestFailures / Math.max(1, Object.values(honest).reduce((s, h) => s + h.batches, 0)),
    // with 0 failures: the 95% upper bound on the per-token false-failure rate (rule of three, 3/n)
    tokenFailureRateUpper95: honestFailures === 0 ? 3 / Math.max(1, honestTokens) : null,
    gpuKept: keptGpu !== null,
  },
  detection,
  cost: {
    generationMsPerBatch: sum(genMs) / genMs.length,
    rowsChallengedOnNetwork: networkRows(B * G),
    fullChallengeVerifyMsPerBatch: sum(verifyMs) / verifyMs.length,
    verifyOverGenerationFullChallenge: sum(verifyMs) / sum(genMs),
    challengeRate,
    verifyOverGenerationAtChallengeRate: (challengeRate * sum(verifyMs)) / sum(genMs),
    paddedScorerVerifyMsPerBatch: sum(verifyPaddedMs) / verifyPaddedMs.length,
    paddedVerifyOverGeneration: sum(verifyPaddedMs) / sum(genMs),
    note: 'CPU reference for sampling and checking; a challenged batch is checked whole (VERIFY.rows) on the shared-prompt scorer (each prompt once, completions packed); padded: the earlier scorer on the same rows, for comparison; the challenge rate is the fraction of received batches challenged',
  },
  bytes: {
    commitmentPerBatch: commitBytes / genMs.length,
    commitmentPerToken: commitBytes / tokensTotal,
    wholeBatchRevealPerToken: revealBytesAll / revealTokens,
    singleRowRevealPerToken: revealBytesWithProofs / revealTokens,
    wirePerTokenAtChallengeRate: (commitBytes + challengeRate * revealBytesAll) / tokensTotal,
    sentCommitmentJsonPerToken: commitJsonBytes / tokensTotal,
    sentReplyFramePerChallengedToken: replyFrameBytes / tokensTotal,
    sentPerTokenAtChallengeRate: (commitJsonBytes + challengeRate * replyFrameBytes) / tokensTotal,
    replyAsJsonArraysPerChallengedToken: replyJsonArrayBytes / tokensTotal,
    note: 'compact*: binary sizes (commit.ts); sent*: what the protocols send (JSON commitment in the rollouts message; the reply frame of a whole-batch challenge, reveals as base64 integers, verify-codec.ts); replyAsJsonArrays: the same reply with JSON number arrays (the protocol before verify/2); the commitment goes with every batch, reveals only when challenged (a whole-batch challenge needs no Merkle proofs; single rows carry theirs)',
  },
};
const text = JSON.stringify(report, null, 2);
console.log(text);
if (args.json) writeFileSync(args.json, `${text}\n`);
for (const s of Object.values(scorers)) s.dispose();
paddedScorer.dispose();
for (const e of Object.values(engines)) e.dispose();
otherEngine.dispose();
process.exit(0);
