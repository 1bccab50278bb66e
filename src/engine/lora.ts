// LoRA (Hu et al. 2021): every projection of every block (q/k/v/o, gate/up/down) gets y = W x + B (A x),
// A (r, in), B (out, r); the base weights stay frozen and only A, B are trained (AdamW over the adapter
// alone). The scale alpha / r of PEFT is fixed at 1 (alpha = r): with Adam a constant scale only rescales
// the learning rate. B starts at zero, so a fresh adapter leaves the model exactly as it was. The adapter
// is one flat buffer laid out from its own table (PEFT's tensor names), like the params.
//
// Memory per trained parameter: full fine-tuning holds params + grads + Adam m, v = 16 bytes per base
// weight; LoRA holds the base (4 bytes) and 16 bytes per adapter weight, which is ~1% of the base at
// r = 16 for a 0.5B model, so training state shrinks ~4x (estimateLoraTrainingBytes).
import type { ModelConfig } from './api.ts';
import { ShapeError } from './errors.ts';
import {
  attentionProbsSize, gradScratchLayout, headActLayout, intLayout, layerActLayout, layerPrefix, logitChunkRows, paramLayout,
  type AttentionStateSize, type Layout, type TensorSpec,
} from './layout.ts';
import { LORA_TARGETS, loraModule, loraShape, type LoraTarget } from './lora-targets.ts';
import type { MemoryEstimate } from './memory.ts';
import type { LoraPair } from './model.ts';
import type { Ops, View } from './ops.ts';
import { createRng, gaussian } from './sampling.ts';

export interface LoraConfig {
  /** adapter rank r */
  rank: number;
  /** the projections adapted, a subset of LORA_TARGETS (default: all of them); the rest stay frozen as they are */
  targets?: readonly LoraTarget[];
}

/** the adapted projections of `lora`, in LORA_TARGETS order (a fixed order: the flat layout depends on it) */
export function loraTargetsOf(lora: LoraConfig): LoraTarget[] {
  return lora.targets === undefined ? [...LORA_TARGETS] : LORA_TARGETS.filter((t) => lora.targets!.includes(t));
}

/** ranks an honest adapter uses; bounds what a peer's or a config's adapter can make us allocate */
export const MAX_LORA_RANK = 256;

export function checkLora(config: ModelConfig, lora: LoraConfig): void {
  if (!Number.isInteger(lora.rank) || lora.rank < 1 || lora.rank > MAX_LORA_RANK) {
    throw new ShapeError(`LoRA rank must be an integer in [1, ${MAX_LORA_RANK}], got ${lora.rank}`);
  }
  if (lora.targets !== undefined) {
    const known = new Set<string>(LORA_TARGETS);
    const bad = lora.targets.find((t) => !known.has(t));
    if (bad !== undefined) throw new ShapeError(`LoRA target ${JSON.stringify(bad)} is not one of ${LORA_TARGETS.join(', ')}`);
    if (lora.targets.length === 0 || new Set(lora.targets).size !== lora.targets.length) throw new ShapeError('LoRA targets must be a non-empty list without repeats');
  }
  const smallest = Math.min(...loraTargetsOf(lora).flatMap((t) => loraShape(config, t)));
  if (lora.rank > smallest) throw new ShapeError(`LoRA rank ${lora.rank} exceeds the smallest projection dimension ${smallest}`);
}

/** PEFT's names: model.layers.{l}.self_attn.q_proj.lora_A.weight (r, in), ...lora_B.weight (out, r) */
export function loraName(l: number, t: LoraTarget, which: 'A' | 'B'): string {
  return `${layerPrefix(l)}${loraModule(t)}.${t}.lora_${which}.weight`;
}

/** The adapter's table; A decays (a matrix), B too, as PEFT trains them. */
export function loraLayout(config: ModelConfig, lora: LoraConfig): Layout {
  checkLora(config, lora);
  const tensors: TensorSpec[] = [];
  let offset = 0;
  const targets = loraTargetsOf(lora);
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const t of targets) {
      const [out, inp] = loraShape(config, t);
      for (const [which, shape] of [['A', [lora.rank, inp]], ['B', [out, lora.rank]]] as const) {
        const length = shape[0] * shape[1];
        tensors.push({ name: loraName(l, t, which), shape: [...shape], offset, length, decay: true });
        offset += length;
      }
    }
  }
  return { tensors, byName: new Map(tensors.map((t) => [t.name, t])), size: offset };
}

/** the adapter itself, once its length and values are checked (a peer's adapter is a stranger's bytes) */
export function checkedAdapter(config: ModelConfig, lora: LoraConfig, adapter: Float32Array): Float32Array {
  const size = loraLayout(config, lora).size;
  if (!(adapter instanceof Float32Array) || adapter.length !== size) throw new ShapeError(`LoRA adapter has ${adapter?.length} values, rank ${lora.rank} needs ${size}`);
  if (!adapter.every(Number.isFinite)) throw new ShapeError('LoRA adapter contains a non-finite value');
  return adapter;
}

/** A ~ N(0, 1/in) (PEFT's kaiming-uniform has the same variance scale), B = 0 unless bStd is given (tests) */
export function initLora(config: ModelConfig, lora: LoraConfig, seed: number, bStd = 0): Float32Array {
  const layout = loraLayout(config, lora);
  const flat = new Float32Array(layout.size);
  const rand = createRng(seed);
  for (const t of layout.tensors) {
    const isA = t.name.includes('.lora_A.');
    const std = isA ? 1 / Math.sqrt(t.shape[1]) : bStd;
    if (std > 0) for (let i = 0; i < t.length; i++) flat[t.offset + i] = gaussian(rand) * std;
  }
  return flat;
}

/** per-layer adapter views of a flat adapter buffer (params or grads) */
export function carveLora<F, I>(ops: Ops<F, I>, config: ModelConfig, flat: View<F>, layout: Layout): Partial<Record<LoraTarget, LoraPair<F>>>[] {
  const get = (name: string) => {
    const t = layout.byName.get(name)!;
    return ops.view(flat, t.offset, t.length);
  };
  // a projection without an adapter in the layout has none here: model.ts then runs it as the plain base
  const targets = LORA_TARGETS.filter((t) => layout.byName.has(loraName(0, t, 'A')));
  return Array.from({ length: config.num_hidden_layers }, (_, l) =>
    Object.fromEntries(targets.map((t) => [t, { a: get(loraName(l, t, 'A')), b: get(loraName(l, t, 'B')) }])) as Partial<Record<LoraTarget, LoraPair<F>>>,
  );
}

/** W + B A for every adapted projection: the flat params of the merged model (what export writes) */
export function mergeLora(config: ModelConfig, lora: LoraConfig, base: Float32Array, adapter: Float32Array): Float32Array {
  const pl = paramLayout(config), al = loraLayout(config, lora);
  if (base.length !== pl.size || adapter.length !== al.size) throw new ShapeError(`mergeLora: ${base.length}/${adapter.length} values, expected ${pl.size}/${al.size}`);
  const merged = base.slice();
  const r = lora.rank, targets = loraTargetsOf(lora);
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const t of targets) {
      const [out, inp] = loraShape(config, t);
      const w = pl.byName.get(`${layerPrefix(l)}${loraModule(t)}.${t}.weight`)!.offset;
      const a = al.byName.get(loraName(l, t, 'A'))!.offset, b = al.byName.get(loraName(l, t, 'B'))!.offset;
      for (let o = 0; o < out; o++) {
        for (let k = 0; k < r; k++) {
          const bv = adapter[b + o * r + k];
          if (bv === 0) continue;
          const row = w + o * inp, arow = a + k * inp;
          for (let i = 0; i < inp; i++) merged[row + i] += bv * adapter[arow + i];
        }
      }
    }
  }
  return merged;
}

/** adapter weight count */
export function loraParamCount(config: ModelConfig, lora: LoraConfig): number {
  return loraLayout(config, lora).size;
}

/**
 * Training memory with a frozen base: adapter grads, Adam m/v and decay mask, the activations (with each
 * projection's x Aᵀ) and scratch. Same roles as estimateTrainingBytes, so the same guard (checkFits) applies.
 */
export function estimateLoraTrainingBytes(
  config: ModelConfig, lora: LoraConfig, B: number, T: number, Ns = B * T, Rc = logitChunkRows(config, Ns), attState: AttentionStateSize = attentionProbsSize,
): MemoryEstimate {
  const a = loraParamCount(config, lora) * 4;
  const shape = { B, T, Ns, Rc };
  const layer = layerActLayout(config, shape, lora.rank, attState).size * 4, head = headActLayout(config, shape).size * 4;
  const scratch = gradScratchLayout(config, shape, lora.rank).size * 4, ints = intLayout(shape).size * 4;
  const buffers = {
    adapter: a, grads: a, adamM: a, adamV: a, decayRanges: 8, // one range: the whole adapter decays
    activations: config.num_hidden_layers * layer + head, gradScratch: scratch, ints,
  };
  const singles: Record<string, number> = { adapter: a, 'activations (one layer)': layer, 'activations (head)': head, gradScratch: scratch, ints };
  let largest = 0, largestName = '';
  for (const [k, v] of Object.entries(singles)) if (v > largest) [largest, largestName] = [v, k];
  return { buffers, total: Object.values(buffers).reduce((x, y) => x + y, 0), largest, largestName };
}

/** SHA-256 of the adapter's bytes (with its rank and layout): what rollouts name instead of the whole model */
export async function adapterHash(lora: LoraConfig, adapter: Float32Array): Promise<string> {
  // the targets are named only when they are not all of them, so a full adapter keeps the hash it had
  const targets = lora.targets === undefined || loraTargetsOf(lora).length === LORA_TARGETS.length ? '' : ` t=${loraTargetsOf(lora).join(',')}`;
  const head = new TextEncoder().encode(`tabswarm-lora/1 r=${lora.rank}${targets} n=${adapter.length}\n`);
  const bytes = new Uint8Array(head.length + adapter.byteLength);
  bytes.set(head);
  bytes.set(new Uint8Array(adapter.buffer, adapter.byteOffset, adapter.byteLength), head.length);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
