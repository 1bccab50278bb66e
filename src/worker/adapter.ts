// What a tab trains when its swarm asks for LoRA, and how that is named to peers. The base weights stay
// frozen and identical on every peer of the swarm, so what differs between peers — what a checkpoint holds,
// what rollouts commit to, what the weight protocol serves and what averaging means — is the adapter alone:
//   base fingerprint  = SHA-256 over the base's config shape and its f32 weights (paramLayout order)
//   model commitment  = base fingerprint (64 hex) + adapterHash (64 hex): 128 hex, the rollouts field's cap
// A receiver whose base differs refuses the rollouts with that reason instead of training on text from
// another model. Full fine-tuning keeps the weights digest it had (the base moves there).
import type { ModelConfig } from '../engine/api.ts';
import { memoryFolder, type NamedTensor } from '../engine/index.ts';
import { loadLoraAdapter, saveLoraAdapter } from '../engine/lora-io.ts';
import { adapterHash, checkLora, loraLayout, loraTargetsOf, type LoraConfig } from '../engine/lora.ts';
import { LORA_TARGETS, type LoraTarget } from '../engine/lora-targets.ts';
import { averageParameters } from '../rl/meta.ts';
import type { RolloutBatch } from '../rl/transport.ts';
import { CheckpointError } from './persist.ts';

/** The model this tab loaded is not the base its swarm names (or the base its checkpoint was trained on). */
export class BaseMismatchError extends Error {
  override name = 'BaseMismatchError';
}

/** A peer's adapter does not fit ours (rank, targets, shapes, values). */
export class AdapterMismatchError extends Error {
  override name = 'AdapterMismatchError';
}

const HEX64 = /^[0-9a-f]{64}$/;

/** LoRA as a swarm config or the page asks for it; checked against the model by `loraFor` */
export interface LoraRequest {
  rank: number;
  /** projection names (LORA_TARGETS); absent = all of them */
  targets?: string[];
}

/** the engine's LoRA config for a request, or a named error (ShapeError) naming what does not fit */
export function loraFor(config: ModelConfig, request: LoraRequest): LoraConfig {
  const lora: LoraConfig = { rank: request.rank };
  if (request.targets !== undefined) lora.targets = request.targets as LoraTarget[];
  checkLora(config, lora);
  return lora.targets && loraTargetsOf(lora).length === LORA_TARGETS.length ? { rank: lora.rank } : lora;
}

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * SHA-256 of the base model: its shape (so two configs with equal bytes differ) and its weights. Computed
 * in slices: one digest call over a 2 GB buffer is what some browsers refuse.
 */
export async function baseFingerprint(config: ModelConfig, flat: Float32Array): Promise<string> {
  const c = config;
  const head = `tabswarm-base/1 ${c.model_type} v${c.vocab_size} h${c.hidden_size} i${c.intermediate_size} l${c.num_hidden_layers} a${c.num_attention_heads} kv${c.num_key_value_heads} d${c.head_dim ?? ''} n${flat.length}\n`;
  const SLICE = 1 << 24; // values per digest (64 MiB)
  const parts: string[] = [hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(head)))];
  for (let at = 0; at < flat.length; at += SLICE) {
    const view = flat.subarray(at, Math.min(flat.length, at + SLICE));
    parts.push(hex(await crypto.subtle.digest('SHA-256', new Uint8Array(view.buffer as ArrayBuffer, view.byteOffset, view.byteLength))));
  }
  return hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(parts.join(''))));
}

/** what rollouts sampled with base + adapter name: both hashes, 128 hex */
export async function loraCommitment(base: string, lora: LoraConfig, adapter: Float32Array): Promise<string> {
  if (!HEX64.test(base)) throw new BaseMismatchError(`base fingerprint must be 64 hex characters, got ${JSON.stringify(base.slice(0, 80))}`);
  return base + (await adapterHash(lora, adapter));
}

/** the base a LoRA commitment names, or null for any other commitment (a full model's digest, none) */
export function baseOfCommitment(commitment: string | undefined): string | null {
  return typeof commitment === 'string' && /^[0-9a-f]{128}$/.test(commitment) ? commitment.slice(0, 64) : null;
}

/**
 * The weight protocol's family for adapters: peers exchange adapters only with peers of the same
 * architecture, base, rank and targets (anything else could not be averaged with ours).
 */
export function adapterFamily(modelFamily: string, lora: LoraConfig, base: string): string {
  const targets = lora.targets ? `-${loraTargetsOf(lora).map((t) => t.replace('_proj', '')).join('.')}` : '';
  return `${modelFamily}-lora${lora.rank}${targets}-${base.slice(0, 16)}`.slice(0, 128);
}

/**
 * A filter for peers' batches in a LoRA swarm: a batch that names another base is refused, with the reason.
 * A batch with no LoRA commitment is refused too: every honest peer of a LoRA swarm names its base.
 */
export function sameBaseOnly(base: string): (batch: RolloutBatch) => string | null {
  return (batch) => {
    const theirs = baseOfCommitment(batch.modelCommitment);
    if (theirs === null) return 'its rollouts name no base model + adapter commitment (this swarm trains a LoRA adapter)';
    return theirs === base ? null : `it samples from another base model (${theirs.slice(0, 12)}…, this swarm's is ${base.slice(0, 12)}…)`;
  };
}

/** the adapter under its PEFT tensor names: what a checkpoint of a LoRA tab holds besides Adam's moments */
export function adapterTensors(config: ModelConfig, lora: LoraConfig, adapter: Float32Array): Map<string, NamedTensor> {
  const layout = loraLayout(config, lora);
  return new Map(layout.tensors.map((t) => [t.name, { shape: [...t.shape], data: adapter.subarray(t.offset, t.offset + t.length) }]));
}

/** the flat adapter back from a checkpoint's tensors; a missing or misshapen one is a CheckpointError */
export function adapterFromTensors(config: ModelConfig, lora: LoraConfig, tensors: ReadonlyMap<string, NamedTensor>): Float32Array {
  const layout = loraLayout(config, lora);
  const flat = new Float32Array(layout.size);
  for (const t of layout.tensors) {
    const got = tensors.get(t.name);
    if (!got || got.data.length !== t.length) throw new CheckpointError(`checkpoint has no adapter tensor ${t.name} of ${t.length} values`);
    flat.set(got.data, t.offset);
  }
  return flat;
}

/** The checkpoint's LoRA facts must be this run's: another base, rank or target set cannot be resumed. */
export function checkCheckpointBase(meta: Record<string, unknown>, base: string, lora: LoraConfig): void {
  if (meta.base !== base) throw new BaseMismatchError(`the checkpoint was trained on another base model (${String(meta.base).slice(0, 12)}…)`);
  const want = JSON.stringify({ rank: lora.rank, targets: loraTargetsOf(lora) });
  if (JSON.stringify(meta.lora) !== want) throw new CheckpointError(`the checkpoint's adapter is ${JSON.stringify(meta.lora)}, this swarm trains ${want}`);
}

/** meta a LoRA checkpoint carries, read back by checkCheckpointBase */
export function checkpointMeta(base: string, lora: LoraConfig): Record<string, unknown> {
  return { base, lora: { rank: lora.rank, targets: loraTargetsOf(lora) } };
}

/** adapter_config.json + adapter_model.safetensors, as PEFT writes them */
export async function peftFiles(config: ModelConfig, lora: LoraConfig, adapter: Float32Array, baseModel: string): Promise<Map<string, Uint8Array>> {
  const folder = memoryFolder();
  await saveLoraAdapter(folder, config, lora, adapter, baseModel);
  return folder.files;
}

/**
 * A peer's adapter_model.safetensors read against our adapter_config: a stranger's bytes, so anything that
 * is not exactly our rank, targets and shapes, all finite, is refused by name.
 */
export async function peerAdapter(config: ModelConfig, lora: LoraConfig, adapterConfig: Uint8Array, bytes: Uint8Array): Promise<Float32Array> {
  try {
    const got = await loadLoraAdapter(memoryFolder(new Map([['adapter_config.json', adapterConfig], ['adapter_model.safetensors', bytes]])), config);
    return got.adapter;
  } catch (error) {
    throw new AdapterMismatchError(`the peer's adapter does not fit this swarm's (${(error as Error).name}: ${(error as Error).message})`);
  }
}

/**
 * The mean of adapters, A with A and B with B (federated averaging of LoRA factors, as FedIT / FedSA do):
 * not the mean of the products B A, but the mean of each factor, which keeps the adapter an adapter.
 */
export function meanAdapter(own: Float32Array, peers: readonly Float32Array[]): Float32Array {
  return averageParameters([own, ...peers]);
}

/** the worker's file names for the adapter in an exported folder: a subfolder, so the merged folder beside it stays a plain model */
export const ADAPTER_DIR = 'adapter/';

/** uint32 seed of the fresh adapter's A: the same for every peer of a swarm, so fresh adapters average cleanly */
export function adapterSeed(swarmId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < swarmId.length; i++) h = Math.imul(h ^ swarmId.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** What a LoRA tab holds beside its engine: the frozen base, its fingerprint and the adapter's shape. */
export class LoraRun {
  constructor(
    readonly config: ModelConfig,
    readonly lora: LoraConfig,
    /** the frozen base (paramLayout order), kept to rebuild engines and merge exports */
    readonly base: Float32Array,
    readonly fingerprint: string,
    private readonly swarmId: string,
  ) {}

  /** engine options for base + this adapter (fresh: the swarm's seeded start) */
  engineLora(adapter?: Float32Array): { config: LoraConfig; adapter?: Float32Array; seed: number } {
    return { config: this.lora, seed: adapterSeed(this.swarmId), ...(adapter ? { adapter } : {}) };
  }

  /** checkpoint tensors (adapter only) and the meta that ties them to this base */
  stateOf(adapter: Float32Array): { tensors: Map<string, NamedTensor>; meta: Record<string, unknown> } {
    return { tensors: adapterTensors(this.config, this.lora, adapter.slice()), meta: checkpointMeta(this.fingerprint, this.lora) };
  }

  /** the adapter a checkpoint holds, once its base, rank and targets are this run's */
  restore(meta: Record<string, unknown>, tensors: ReadonlyMap<string, NamedTensor>): Float32Array {
    checkCheckpointBase(meta, this.fingerprint, this.lora);
    return adapterFromTensors(this.config, this.lora, tensors);
  }

  commitment(adapter: Float32Array): Promise<string> {
    return loraCommitment(this.fingerprint, this.lora, adapter);
  }

  /** the PEFT folder under ADAPTER_DIR */
  async files(adapter: Float32Array, baseModel: string): Promise<Map<string, Uint8Array>> {
    const files = await peftFiles(this.config, this.lora, adapter, baseModel);
    return new Map([...files].map(([name, bytes]) => [ADAPTER_DIR + name, bytes]));
  }

  /** the mean of our adapter and peers' adapter_model.safetensors (each checked against ours) */
  async mean(own: Float32Array, peers: readonly Uint8Array[]): Promise<Float32Array> {
    const adapterConfig = (await peftFiles(this.config, this.lora, own, '')).get('adapter_config.json')!;
    const others: Float32Array[] = [];
    for (const [i, bytes] of peers.entries()) {
      try {
        others.push(await peerAdapter(this.config, this.lora, adapterConfig, bytes));
      } catch (error) {
        throw new AdapterMismatchError(`${peers.length === 1 ? 'the peer\'s adapter' : `peer adapter ${i + 1}`}: ${(error as Error).message}`);
      }
    }
    return meanAdapter(own, others);
  }
}
