// Choosing the model a tab trains, before anything large is fetched: the swarm's (its config may name a real
// Hugging Face model, a LoRA rank and the base's fingerprint) or one the user names by repo id. Only
// config.json (a few hundred bytes) is read to say how many parameters and how much memory the model needs
// against this tab's budget; a model from another origin needs the network, and offline the choice says so
// instead of failing mid-download. The worker checks the same estimate again (ModelTooLargeError) and the
// base fingerprint (BaseMismatchError) before it trains.
import { paramLayout } from '../../engine/layout.ts';
import { parseConfig } from '../../engine/config.ts';
import type { SwarmConfig } from '../../swarm/config.ts';
import { estimateContributionBytes, runnerConfigFor } from '../../worker/plan.ts';
import type { LoadOptions } from '../../worker/protocol.ts';
import { loraFor } from '../../worker/adapter.ts';
import { needsNetwork, resolveModelUrl } from './model-source.ts';

/** The chosen model lives on another origin and this browser is offline. */
export class OfflineError extends Error {
  override name = 'OfflineError';
}

export interface ModelEstimate {
  modelId: string;
  modelUrl: string;
  modelType: string;
  parameters: number;
  neededBytes: number;
  budgetBytes: number;
  fits: boolean;
  /** the LoRA rank the swarm trains this model with, or null (full fine-tuning) */
  loraRank: number | null;
}

/** what the swarm config asks the worker for, beyond the model's URL */
export function swarmLoadOptions(swarm: SwarmConfig): Pick<LoadOptions, 'taskMix' | 'lora' | 'completionBudget' | 'baseFingerprint'> {
  return {
    taskMix: swarm.taskMix,
    ...(swarm.lora ? { lora: swarm.lora } : {}),
    ...(swarm.completionBudget !== undefined ? { completionBudget: swarm.completionBudget } : {}),
    ...(swarm.baseFingerprint ? { baseFingerprint: swarm.baseFingerprint } : {}),
  };
}

/** the model URL of an id under this swarm's hub */
export function modelUrlFor(modelId: string, swarm: SwarmConfig, appBase: string): string {
  return resolveModelUrl(modelId, appBase, swarm.hubUrl);
}

export interface EstimateDeps {
  fetchFn?: typeof fetch;
  /** navigator.onLine by default */
  online?: () => boolean;
}

/**
 * Reads the model's config.json and estimates what contributing with it takes (weights, training state with
 * the swarm's LoRA rank if any, sampling). Offline, a model from another origin is an OfflineError.
 */
export async function estimateModel(modelId: string, swarm: SwarmConfig, appBase: string, budgetBytes: number, deps: EstimateDeps = {}): Promise<ModelEstimate> {
  const modelUrl = modelUrlFor(modelId, swarm, appBase);
  const online = deps.online ?? (() => typeof navigator === 'undefined' || navigator.onLine !== false);
  if (needsNetwork(modelUrl, appBase) && !online()) {
    throw new OfflineError(`this browser is offline: ${modelId} is fetched from ${new URL(modelUrl).origin}, which needs a network connection (the app's own models work offline)`);
  }
  const url = new URL('config.json', modelUrl);
  let res: Response;
  try {
    res = await (deps.fetchFn ?? fetch)(url, { cache: 'no-store' });
  } catch (error) {
    throw new OfflineError(`could not reach ${url.origin} for ${modelId} (${(error as Error).message})`);
  }
  if (!res.ok) throw new Error(`${modelId}: ${url} answered HTTP ${res.status}; is it a Hugging Face model folder?`);
  const config = parseConfig(await res.json());
  const options = { modelUrl, swarmId: swarm.swarmId, peerId: '', backend: 'auto' as const, resume: false, ...swarmLoadOptions(swarm) };
  const lora = swarm.lora ? loraFor(config, swarm.lora) : null;
  const neededBytes = estimateContributionBytes(config, runnerConfigFor(options), lora).total;
  return {
    modelId, modelUrl, modelType: config.model_type, parameters: paramLayout(config).size, neededBytes, budgetBytes,
    fits: neededBytes <= budgetBytes, loraRank: lora?.rank ?? null,
  };
}

const mib = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.max(1, Math.round(bytes / 2 ** 20))} MiB`);

/** the estimate in one sentence, as the landing card shows it */
export function describeEstimate(e: ModelEstimate): string {
  const size = e.parameters >= 1e8 ? `${(e.parameters / 1e9).toFixed(2)} B` : `${(e.parameters / 1e6).toFixed(2)} M`;
  const how = e.loraRank ? `, trained through a rank-${e.loraRank} LoRA adapter` : '';
  return `${e.modelId} (${e.modelType}, ${size} parameters${how}) ${e.fits ? 'needs' : 'is too large: needs'} about ${mib(e.neededBytes)} of memory; this tab allows ${mib(e.budgetBytes)}.`;
}
