// Builds the Contributor the worker runs: the engine (WebGPU, or the CPU reference) loaded from a Hugging Face
// folder, plus the RL round runner. Downloads report bytes; the memory guard runs on config.json alone, before
// the weights are fetched, so a model that cannot fit never costs the download.
import type { OptimizerState } from '../engine/api.ts';
import { createEngine, parseConfig, unpackWeights, type ModelEngine } from '../engine/index.ts';
import { loraTargetsOf, mergeLora } from '../engine/lora.ts';
import { adapterFamily, baseFingerprint, BaseMismatchError, LoraRun, loraFor, sameBaseOnly } from './adapter.ts';
import { modelFamily } from '../swarm/weights.ts';
import { checkMemory, checkSecondEngine, estimateContributionBytes, runnerConfigFor } from './plan.ts';
import { CpuOps } from '../engine/cpu/index.ts';
import { serialQueue } from '../engine/serial.ts';
import { requestGpu } from '../engine/device.ts';
import { loadHfModel, memoryFolder, saveHfModel, type FileSource } from '../engine/hf.ts';
import { averageParameters } from '../rl/meta.ts';
import { checkAverage, probeNll, probeSequences } from './average-guard.ts';
import { paramLayout, tensorElements, type NamedTensor } from '../engine/layout.ts';
import { CommitmentKeeper } from '../rl/verify/keeper.ts';
import { VerifyService } from './verify.ts';
import type { Ops } from '../engine/ops.ts';
import { heldOutTasks, RoundRunner, SoloTransport } from '../rl/index.ts';
import { GameRunner } from '../rl/game/runner.ts';
import type { RolloutBatch } from '../rl/transport.ts';
import { rescorePeers, type SwarmScore } from './rescore.ts';
import type { RoundStats as RlRoundStats } from '../rl/stats.ts';
import { chatTokenizer, generationSettings, type ChatTokenizerLike } from '../rl/chat-template.ts';
import type { TextTokenizer } from '../rl/format.ts';
import type { Contributor } from './loop.ts';
import { CheckpointError, digestTensors, type Checkpoint } from './persist.ts';
import type { EvalPoint, ExportedFile, LoadOptions, Progress, RoundStats, SwarmModelExport } from './protocol.ts';

/** Checkpoint tensor names of Adam's moments, flat in the engine's parameter order. */
export const ADAM_M = 'adam.m';
export const ADAM_V = 'adam.v';

/** The optimizer state a checkpoint carries, or null for one without it (saved by an older build). */
export function optimizerStateOf(checkpoint: Pick<Checkpoint, 'meta' | 'tensors'>): OptimizerState | null {
  const m = checkpoint.tensors.get(ADAM_M), v = checkpoint.tensors.get(ADAM_V), steps = checkpoint.meta.steps;
  if (!m && !v) return null;
  if (!m || !v || typeof steps !== 'number') throw new CheckpointError(`checkpoint has ${m ? 'adam.m' : 'adam.v'} but not the rest of the optimizer state`);
  return { m: m.data, v: v.data, steps };
}

/** Files of a model folder fetched as is and handed back on export. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];

export const MODEL_CACHE = 'tabswarm-models';

/**
 * Held-out tasks per (family, difficulty) of the mix in the tab's evaluation: 4 x 13 entries of the default
 * mix is one greedy batch, about as long as a round's sampling, so measuring every few rounds stays cheap.
 */
export const HELD_OUT_PER_ENTRY = 4;

/**
 * Groups in peers' batches of `round` whose claimed rewards differ: the ones that can carry signal (a group
 * whose completions all scored alike has zero advantage). Claims are only used to stop waiting early;
 * training re-scores everything.
 */
export function promisingGroups(batches: readonly RolloutBatch[]): number {
  let n = 0;
  for (const batch of batches) {
    for (const rollout of Array.isArray(batch.rollouts) ? batch.rollouts : []) {
      const rewards = Array.isArray(rollout?.completions) ? rollout.completions.map((c) => c?.reward) : [];
      if (rewards.some((r) => r !== rewards[0])) n++;
    }
  }
  return n;
}

/** Where a response may be kept across visits: Cache Storage, when the context has it. */
async function openModelCache(): Promise<Cache | null> {
  try {
    return typeof caches === 'undefined' ? null : await caches.open(MODEL_CACHE);
  } catch {
    return null; // opaque origins and some private modes refuse Cache Storage
  }
}

/**
 * A fetch that reports bytes as they arrive (for the progress bar) and keeps what it fetched. With `cache`,
 * files come from Cache Storage when present and are put there after a download, so a model from another
 * origin (Hugging Face) downloads once per browser.
 */
export function progressSource(
  base: string, onProgress: (p: Progress) => void, fetchFn: typeof fetch = fetch, cache: Cache | null = null,
): FileSource & { fetched: Map<string, Uint8Array> } {
  const fetched = new Map<string, Uint8Array>();
  return {
    fetched,
    async read(name) {
      const known = fetched.get(name);
      if (known) return known;
      const url = new URL(name, base);
      const cached = await cache?.match(url).catch(() => undefined);
      const res = cached ?? (await fetchFn(url));
      if (res.status === 404) return null;
      // stored while we stream the original, so the progress bar moves with the download
      const storing = !cached && res.ok && cache ? cache.put(url, res.clone()).catch(() => undefined) : null;
      if (!res.ok) throw new Error(`fetching ${name} from ${base}: HTTP ${res.status} ${res.statusText}`);
      const total = Number(res.headers.get('content-length')) || null;
      const report = (loaded: number) =>
        onProgress({ stage: 'download', item: name, loaded, total, percent: total ? Math.min(100, (100 * loaded) / total) : null });
      if (!res.body) {
        const bytes = new Uint8Array(await res.arrayBuffer());
        report(bytes.length);
        fetched.set(name, bytes);
        await storing;
        return bytes;
      }
      const chunks: Uint8Array[] = [];
      let loaded = 0;
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        loaded += value.length;
        report(loaded);
      }
      const bytes = new Uint8Array(loaded);
      let at = 0;
      for (const c of chunks) {
        bytes.set(c, at);
        at += c.length;
      }
      fetched.set(name, bytes);
      await storing;
      return bytes;
    },
  };
}

interface ChosenOps {
  ops: Ops<unknown, unknown>;
  maxBufferBytes?: number;
  release: () => void;
  /** why 'auto' ended up on the CPU, for the page to show */
  note: string | null;
}

/** `largestBuffer`: the biggest single buffer the model will bind; the device is asked for at least that. */
async function chooseOps(options: LoadOptions, onProgress: (p: Progress) => void, largestBuffer: number): Promise<ChosenOps> {
  let note: string | null = null;
  if (options.backend !== 'cpu') {
    let requestError: Error | null = null;
    const gpu = await requestGpu({ minStorageBufferBindingSize: largestBuffer }).catch((error: Error) => {
      requestError = error;
      return null;
    });
    if (gpu) {
      onProgress({ stage: 'compile', item: 'WebGPU kernels', loaded: 0, total: 1, percent: 0 });
      try {
        // loaded lazily so a CPU-only tab never pulls the kernels
        const { createGpuOps } = await import('../engine/gpu/ops.ts');
        const ops = await createGpuOps(gpu);
        onProgress({ stage: 'compile', item: 'WebGPU kernels', loaded: 1, total: 1, percent: 100 });
        return { ops: ops as unknown as Ops<unknown, unknown>, maxBufferBytes: gpu.limits.maxStorageBufferBindingSize, release: () => gpu.destroy(), note: null };
      } catch (error) {
        gpu.destroy();
        if (options.backend === 'webgpu') throw error;
        // a driver that cannot compile our kernels should not keep the tab from contributing
        note = `WebGPU kernels failed (${(error as Error).name}: ${(error as Error).message.slice(0, 300)}); running on the CPU`;
      }
    } else if (options.backend === 'webgpu') {
      throw requestError ?? new Error('WebGPU was asked for but this browser offers no adapter');
    } else {
      note = requestError ? `WebGPU cannot hold this model (${(requestError as Error).message}); running on the CPU` : 'no WebGPU adapter; running on the CPU';
    }
  }
  return { ops: new CpuOps() as unknown as Ops<unknown, unknown>, release: () => undefined, note };
}

/**
 * The folder's tokenizer, built from the bytes already fetched: transformers.js' own loader resolves local
 * folders by path, which does not fit a model served from a URL (and would fetch the files a second time).
 */
export async function tokenizerFrom(source: FileSource, vocabSize: number): Promise<TextTokenizer> {
  const json = async (name: string) => {
    const bytes = await source.read(name);
    if (!bytes) throw new Error(`the model folder has no ${name}`);
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  };
  const [tokenizerJson, tokenizerConfig] = [await json('tokenizer.json'), await json('tokenizer_config.json')];
  const { PreTrainedTokenizer } = await import('@huggingface/transformers');
  const hf = new PreTrainedTokenizer(tokenizerJson, tokenizerConfig) as unknown as ChatTokenizerLike;
  const generation = await source.read('generation_config.json').catch(() => null);
  const generationConfig = generation ? (JSON.parse(new TextDecoder().decode(generation)) as unknown) : null;
  // a chat model (its tokenizer_config has a chat_template) is prompted through its own template
  return chatTokenizer(hf, { tokenizer: tokenizerJson, tokenizerConfig, generationConfig }, vocabSize);
}

export function toRoundStats(s: RlRoundStats, rollouts: number, swarm: SwarmScore): RoundStats {
  const seconds = s.sampleSeconds + s.trainSeconds;
  return {
    round: s.round,
    stage: 'trained',
    ownReward: s.meanReward,
    ownAccuracy: s.accuracy,
    swarmReward: swarm.reward,
    swarmAccuracy: swarm.accuracy,
    localRollouts: rollouts,
    externalRollouts: s.externalGroups,
    externalByPeer: s.externalByPeer ?? {},
    optimizerSteps: s.trainedSequences > 0 ? 1 : 0,
    peersHeard: swarm.peers,
    tokens: s.sampledTokens,
    seconds,
    tokensPerSecond: s.tokensPerSecond,
    rolloutsPerSecond: seconds > 0 ? rollouts / seconds : 0,
    samples: s.samples.map((x) => ({ prompt: x.prompt, text: x.completion, reward: x.reward, correct: x.correct })),
  };
}

export interface ContributorDeps {
  /** where model files come from (tests serve generated weights); the tokenizer is read through it too */
  fetchFn?: typeof fetch;
  /** keep downloads in Cache Storage: by default only models from another origin (the app's own are small) */
  cache?: 'cross-origin' | 'always' | 'never';
}

export async function createContributor(options: LoadOptions, onProgress: (progress: Progress) => void, deps: ContributorDeps = {}): Promise<Contributor> {
  const base = options.modelUrl.endsWith('/') ? options.modelUrl : `${options.modelUrl}/`;
  const policy = deps.cache ?? 'cross-origin';
  const crossOrigin = typeof location !== 'undefined' && new URL(base, location.href).origin !== location.origin;
  const cache = policy === 'always' || (policy === 'cross-origin' && crossOrigin) ? await openModelCache() : null;
  const source = progressSource(base, onProgress, deps.fetchFn, cache);
  const configBytes = await source.read('config.json');
  if (!configBytes) throw new Error(`no config.json at ${base}: is this a Hugging Face model folder?`);
  const config = parseConfig(JSON.parse(new TextDecoder().decode(configBytes)));
  // the folder's generation_config (a few hundred bytes) may shorten the completion budget: read it before
  // the memory estimate, which depends on the budget
  const generation = await source.read('generation_config.json').catch(() => null);
  const folderBudget = generation ? generationSettings(JSON.parse(new TextDecoder().decode(generation)), 0, config.vocab_size).maxNewTokens : null;
  const runnerConfig = runnerConfigFor(options, folderBudget);
  const lora = options.lora ? loraFor(config, options.lora) : null;
  const { ops, maxBufferBytes, release, note } = await chooseOps(options, onProgress, estimateContributionBytes(config, runnerConfig, lora).largest);
  try {
    checkMemory(config, runnerConfig, options.memoryBudgetBytes, maxBufferBytes, lora);
    const model = await loadHfModel(source);
    const fingerprint = await baseFingerprint(config, model.flat);
    if (options.baseFingerprint && options.baseFingerprint !== fingerprint) {
      throw new BaseMismatchError(`this swarm trains the base model ${options.baseFingerprint.slice(0, 12)}…; ${base} holds ${fingerprint.slice(0, 12)}…`);
    }
    const loraRun = lora ? new LoraRun(config, lora, model.flat, fingerprint, options.swarmId) : null;
    onProgress({ stage: 'load', item: 'weights', loaded: 0, total: 1, percent: 0 });
    const tokenizer = await tokenizerFrom(source, config.vocab_size);
    const backend = (ops as { backend?: string }).backend === 'webgpu' ? 'webgpu' : 'cpu';
    const limits = maxBufferBytes ? { maxBufferBytes } : {};
    /** the swarm's start: the model as loaded (with LoRA, the base and the swarm's fresh adapter) */
    const startEngine = () => createEngine(ops, config, model.flat, { limits, ...(loraRun ? { lora: loraRun.engineLora() } : {}) });
    let engine: ModelEngine = startEngine();
    const adapterOf = async () => (await engine.readAdapter())!;
    onProgress({ stage: 'load', item: 'weights', loaded: 1, total: 1, percent: 100 });
    // a LoRA run checkpoints under its own id: a full model's checkpoint is not an adapter's
    const modelId = `${config.model_type}-${config.hidden_size}x${config.num_hidden_layers}${lora ? `-lora${lora.rank}` : ''}-${base.replace(/[^\w]+/g, '_').slice(-60)}`;
    let runner: RoundRunner | null = null;
    // outlives the runner (a new transport or engine makes a new one): challenges name earlier rounds
    const keeper = new CommitmentKeeper();
    // the model as loaded (the swarm's starting point when fresh): a peer's batch may name it, and it is ours to check with
    await keeper.pin(model.flat);
    const filesOf = async (weights: ReadonlyMap<string, NamedTensor>): Promise<Record<string, Uint8Array>> => {
      const folder = memoryFolder();
      await saveHfModel(folder, config, weights, { rawConfig: model.rawConfig });
      for (const name of TOKENIZER_FILES) {
        const bytes = source.fetched.get(name);
        if (bytes) folder.files.set(name, bytes);
      }
      return Object.fromEntries(folder.files);
    };
    /** the merged model's folder and, with LoRA, the adapter's PEFT folder beside it (adapter/) */
    const folderFiles = async (weights: ReadonlyMap<string, NamedTensor>, adapter?: Float32Array): Promise<ExportedFile[]> => {
      const files = Object.entries(await filesOf(weights));
      if (loraRun && adapter) files.push(...(await loraRun.files(adapter, options.modelUrl)));
      return files.map(([name, bytes]) => ({ name, data: new Uint8Array(bytes).buffer }));
    };
    /** switches to `next`, carrying Adam's moments over; on failure the engine held now stays */
    const replaceEngine = async (next: ModelEngine) => {
      try {
        await next.importOptimizerState(await engine.exportOptimizerState());
      } catch (error) {
        next.dispose();
        throw error;
      }
      engine.dispose();
      engine = next;
    };
    /** the mean of the weights held now and `peers`' model.safetensors, as a loaded model (weights by name) */
    const averaged = async (peers: Uint8Array[]) => {
      // each peer's file is read against our config: another architecture fails with the loader's named error
      const own = await loadHfModel(memoryFolder(new Map(Object.entries(await filesOf(await engine.exportWeights())))));
      const others = [];
      for (const bytes of peers) {
        try {
          others.push((await loadHfModel(memoryFolder(new Map([['config.json', configBytes], ['model.safetensors', bytes]])))).flat);
        } catch (error) {
          throw new Error(`the peer's model does not fit this swarm's model: ${(error as Error).message}`);
        }
      }
      // own.weights are views into own.flat: overwriting it writes the mean under the same names
      own.flat.set(averageParameters([own.flat, ...others]));
      return own;
    };
    // the start's and the mean's engines live beside the running one: refused by name when the budget has no room
    const secondEngine = () => checkSecondEngine(config, runnerConfig, options.memoryBudgetBytes, lora);
    /** an engine on the mean of the weights held now and `peers`' (LoRA: the adapters' mean on the base) */
    const meanEngine = async (peers: Uint8Array[]) => {
      secondEngine();
      return loraRun
        ? createEngine(ops, config, model.flat, { limits, lora: loraRun.engineLora(await loraRun.mean(await adapterOf(), peers)) })
        : createEngine(ops, config, (await averaged(peers)).weights, { limits });
    };
    const heldOut = heldOutTasks(runnerConfig.tasks, HELD_OUT_PER_ENTRY);
    // training-side answers a periodic average is checked on (average-guard.ts); never the held-out set
    const probe = probeSequences(tokenizer, runnerConfig.tasks);
    const ownNll = () => probeNll(engine, probe, runnerConfig.microBatch);
    let startProbe: number | null = null;
    /** the start's probe NLL, scored once, on an engine of its own that is freed at once */
    const startNll = async () => {
      if (startProbe === null) {
        secondEngine();
        const start = startEngine();
        try {
          startProbe = await probeNll(start, probe, runnerConfig.microBatch);
        } finally {
          start.dispose();
        }
      }
      return startProbe;
    };
    /** the mean's engine and probe NLL when it passes the average guard against `own` and `start`; freed and thrown otherwise */
    const checkedMean = async (peers: Uint8Array[], own: number, start: number) => {
      const next = await meanEngine(peers);
      try {
        const mean = await probeNll(next, probe, runnerConfig.microBatch);
        checkAverage({ own, mean, start });
        return { engine: next, nll: mean };
      } catch (error) {
        next.dispose();
        throw error;
      }
    };
    // One engine operation at a time: a download of the swarm model asked for mid-round waits for the round,
    // so it scores and averages one model (not weights a step is writing), never swaps the engine under a
    // round, and never builds a second start engine beside the first. (Verification answers stay outside:
    // they read kept commitments, not the engine in training.)
    const exclusive = serialQueue();
    const verifier = new VerifyService({
      config, configBytes, tokenizer, keeper: () => keeper,
      safetensorsOf: async (flat) => (await filesOf(unpackWeights(config, flat)))['model.safetensors'],
    });

    return {
      backend,
      modelId,
      // the model's own parameters: the flat buffer also holds the zero gaps that align each row to 64 elements
      parameterCount: tensorElements(paramLayout(config)),
      note,
      plan: {
        baseFingerprint: fingerprint,
        lora: lora ? { rank: lora.rank, targets: loraTargetsOf(lora) } : null,
        weightsFamily: lora ? adapterFamily(modelFamily(config), lora, fingerprint) : null,
        completionBudget: runnerConfig.sampling.maxNewTokens,
      },
      ...(loraRun ? {
        modelCommitment: async () => loraRun.commitment(await adapterOf()),
        admit: sameBaseOnly(fingerprint),
      } : {}),
      runRound: (round, transport, signal, onStage, gather) => exclusive(async () => {
        if (!runner || runner.transport !== transport || runner.engine !== engine) {
          runner = new RoundRunner(engine, tokenizer, transport, runnerConfig);
          runner.keeper = keeper;
          runner.on((event) => {
            if (event.type === 'phase') onStage?.(event.round, event.phase);
          });
        }
        // the runner checks the signal between decode steps, phases and micro-batches
        const local = await runner.sampleRound(round, signal);
        if (gather) {
          onStage?.(round, 'gathering peers\u2019 rollouts');
          await gather(() => promisingGroups(transport.receivedRollouts(round)) >= runnerConfig.externalGroups);
        }
        const stats = await runner.trainRound(local, signal);
        return toRoundStats(stats, runnerConfig.questions * runnerConfig.completions, rescorePeers(transport.receivedRollouts(round), { swarmId: options.swarmId, round, selfPeerId: transport.peerId }));
      }),
      createGameRunner(transport, gameConfig) {
        return new GameRunner(engine, tokenizer, transport, gameConfig);
      },
      evaluate: (round, signal) => exclusive(async (): Promise<EvalPoint> => {
        if (signal.aborted) throw new DOMException('evaluation aborted', 'AbortError');
        // its own runner: evaluation publishes nothing, and may run before the first round made one
        const evaluator = new RoundRunner(engine, tokenizer, new SoloTransport(options.peerId), runnerConfig);
        const started = performance.now();
        const stats = await evaluator.evaluate(heldOut, round);
        return { round, accuracy: stats.passAt1, tasks: stats.tasks, formatRate: stats.formatRate, seconds: (performance.now() - started) / 1000 };
      }),
      saveState: () => exclusive(async () => {
        // with LoRA only the adapter is saved: the base is the swarm's, re-read from its folder on resume
        const own = loraRun ? loraRun.stateOf(await adapterOf()) : { tensors: new Map<string, NamedTensor>(await engine.exportWeights()), meta: {} };
        const tensors = own.tensors;
        const { m, v, steps } = await engine.exportOptimizerState();
        tensors.set(ADAM_M, { shape: [m.length], data: m });
        tensors.set(ADAM_V, { shape: [v.length], data: v });
        return { modelId, meta: { backend, steps, ...own.meta }, tensors };
      }),
      loadState: (checkpoint: Checkpoint) => exclusive(async () => {
        const weights = new Map<string, NamedTensor>();
        for (const [name, t] of checkpoint.tensors) if (!name.startsWith('adam.')) weights.set(name, t);
        const next = loraRun
          ? createEngine(ops, config, model.flat, { limits, lora: loraRun.engineLora(loraRun.restore(checkpoint.meta, weights)) })
          : createEngine(ops, config, weights, { limits });
        const adam = optimizerStateOf(checkpoint);
        // a checkpoint written before the moments were saved has none: the tab resumes with its weights and
        // fresh moments (bias correction restarts with them, so the first steps stay well scaled)
        if (adam) {
          try {
            await next.importOptimizerState(adam);
          } catch (error) {
            next.dispose(); // the running engine stays as it was
            throw error;
          }
        }
        engine.dispose();
        engine = next;
      }),
      weightsDigest: () => exclusive(async () => {
        // what the loop digests after a checkpoint: the adapter with LoRA, the weights otherwise
        return digestTensors(loraRun ? loraRun.stateOf(await adapterOf()).tensors : await engine.exportWeights());
      }),
      exportModel: () => exclusive(async (): Promise<ExportedFile[]> => folderFiles(await engine.exportWeights(), loraRun ? await adapterOf() : undefined)),
      averageWith: (peers: Uint8Array[]) => exclusive(async () => {
        // a stranger's weights enter at ½: the mean must answer the probe no worse than ours and the start do.
        // The start is scored first: its engine is freed before the mean's is made (never three models at once)
        const start = await startNll(), own = await ownNll();
        // LoRA peers exchange adapter_model.safetensors (the weight protocol serves the adapter)
        await replaceEngine((await checkedMean(peers, own, start)).engine);
      }),
      exportAverage: (peers: Uint8Array[]) => exclusive(async (): Promise<SwarmModelExport> => {
        // First each peer alone: its mean with this tab must pass the guard. Then, best first, each is added to
        // the peers kept so far only while the whole mean still passes: peers that each pass alone but pull
        // the same way (sybils) cannot add up past the line, which a mean of 1/(k+1) each would let them.
        const start = await startNll(), own = await ownNll();
        const passed: { at: number; bytes: Uint8Array; nll: number }[] = [], refused: string[] = [];
        for (const [i, bytes] of peers.entries()) {
          try {
            const mean = await checkedMean([bytes], own, start);
            mean.engine.dispose();
            passed.push({ at: i, bytes, nll: mean.nll });
          } catch (error) {
            refused.push(`peer ${i + 1}: ${(error as Error).name}: ${(error as Error).message}`);
          }
        }
        passed.sort((x, y) => x.nll - y.nll || x.at - y.at);
        const kept: Uint8Array[] = [];
        for (const peer of passed) {
          if (kept.length > 0) {
            try {
              (await checkedMean([...kept, peer.bytes], own, start)).engine.dispose();
            } catch (error) {
              refused.push(`peer ${peer.at + 1}: ${(error as Error).name}: with the ${kept.length} peer${kept.length === 1 ? '' : 's'} kept before it, ${(error as Error).message}`);
              continue;
            }
          }
          kept.push(peer.bytes);
        }
        if (loraRun) {
          const mean = await loraRun.mean(await adapterOf(), kept);
          return { files: await folderFiles(unpackWeights(config, mergeLora(config, loraRun.lora, model.flat, mean)), mean), models: kept.length + 1, refused };
        }
        return { files: await folderFiles((await averaged(kept)).weights), models: kept.length + 1, refused };
      }),
      verify: (request) => verifier.handle(request),
      dispose() {
        verifier.dispose();
        engine.dispose();
        release();
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}
