// Frozen base weights stored as f16 (EngineOptions.frozenWeights). Under LoRA nothing of the base trains,
// so its seven projections per layer (q/k/v/o, gate/up/down: ~80% of a small Llama's weights) can live on
// the device as packed halves (half.ts) at half the bytes; matmulHalfWeights / matmulHalfWeightsBackward
// widen them and do every product and sum in f32, and the adapters, their gradients and Adam stay f32. The
// embedding (= the tied LM head), an untied LM head, norm gains and biases stay f32: the embedding is read
// by row gather, not a matmul, and the rest is small.
//
// The base then lives in two buffers laid out from two tables: `rest` (f32, paramLayout's other rows, in
// order) and `halves` (words: each projection's (out, in/2) rows), both 64-aligned like every table.
// paramLayout stays the one contract: readParams / exportWeights put the flat params back together in it.
//
// Default (defaultFrozenWeights): f16 when a LoRA base came in 16-bit weights (config torch_dtype float16 or
// bfloat16): from f16 the halves ARE the weights; from bf16 they keep 3 more mantissa bits than bf16 has,
// losing only values under f16's normal range (|w| < 2^-14, rounded to subnormals). f32 weights stay f32
// unless asked: rounding them would change the model. Full fine-tuning always keeps f32 (it updates them).

import type { ModelConfig } from './api.ts';
import { ShapeError } from './errors.ts';
import { packHalves, unpackHalves } from './half.ts';
import { alignRow, layerPrefix, paramLayout, type Layout, type TensorSpec } from './layout.ts';
import type { HalfWeight, LayerParams, RunParams } from './model.ts';
import type { Ops, View } from './ops.ts';
import { carveParams } from './model.ts';

export type FrozenWeights = 'f16' | 'f32';

/** the projections stored as halves: LayerParams field -> Hugging Face name within a layer */
const HALF_PROJECTIONS = {
  q: 'self_attn.q_proj.weight', k: 'self_attn.k_proj.weight', v: 'self_attn.v_proj.weight', o: 'self_attn.o_proj.weight',
  gate: 'mlp.gate_proj.weight', up: 'mlp.up_proj.weight', down: 'mlp.down_proj.weight',
} as const;
type HalfField = keyof typeof HALF_PROJECTIONS;

/** the largest finite half; a frozen weight beyond it would become Infinity */
export const HALF_MAX = 65504;

/** What the engine stores when the caller does not say (see the header for why). */
export function defaultFrozenWeights(config: ModelConfig, lora: boolean): FrozenWeights {
  return lora && (config.torch_dtype === 'float16' || config.torch_dtype === 'bfloat16') ? 'f16' : 'f32';
}

function halfNames(config: ModelConfig): Set<string> {
  const names = new Set<string>();
  for (let l = 0; l < config.num_hidden_layers; l++) for (const n of Object.values(HALF_PROJECTIONS)) names.add(`${layerPrefix(l)}${n}`);
  return names;
}

/** The two tables of an f16 base: `rest` in f32 elements, `halves` in 32-bit words (shape stays in elements). */
export function frozenLayouts(config: ModelConfig, layout = paramLayout(config)): { rest: Layout; halves: Layout } {
  const names = halfNames(config);
  const rest: TensorSpec[] = [], halves: TensorSpec[] = [];
  let r = 0, h = 0;
  for (const t of layout.tensors) {
    if (names.has(t.name)) {
      const words = t.length / 2;
      halves.push({ ...t, offset: h, length: words });
      h = alignRow(h + words);
    } else {
      rest.push({ ...t, offset: r });
      r = alignRow(r + t.length);
    }
  }
  const table = (tensors: TensorSpec[], size: number): Layout => ({ tensors, byName: new Map(tensors.map((t) => [t.name, t])), size });
  return { rest: table(rest, r), halves: table(halves, h) };
}

/** Device bytes of the base weights as stored. */
export function baseWeightBytes(config: ModelConfig, frozen: FrozenWeights): number {
  if (frozen === 'f32') return paramLayout(config).size * 4;
  const { rest, halves } = frozenLayouts(config);
  return (rest.size + halves.size) * 4;
}

/**
 * Checks that `flat` (paramLayout order) can be stored as f16 and splits it: the rest as f32, the
 * projections rounded to halves (round to nearest even). A projection with an odd input width or a weight
 * beyond ±65504 is refused with a ShapeError naming it (halves pack in pairs; Infinity would poison the model).
 */
export function splitFrozen(config: ModelConfig, flat: Float32Array, layout = paramLayout(config)): { rest: Float32Array; words: Int32Array } {
  const { rest, halves } = frozenLayouts(config, layout);
  const restFlat = new Float32Array(rest.size), words = new Int32Array(halves.size);
  for (const t of rest.tensors) restFlat.set(flat.subarray(layout.byName.get(t.name)!.offset, layout.byName.get(t.name)!.offset + t.length), t.offset);
  for (const t of halves.tensors) {
    if (t.shape[1] % 2 !== 0) throw new ShapeError(`frozenWeights f16: ${t.name} has an odd input width ${t.shape[1]} (halves pack in pairs)`);
    const src = flat.subarray(layout.byName.get(t.name)!.offset, layout.byName.get(t.name)!.offset + 2 * t.length);
    for (let i = 0; i < src.length; i++) {
      if (Math.abs(src[i]) > HALF_MAX) throw new ShapeError(`frozenWeights f16: ${t.name}[${i}] = ${src[i]} is beyond f16's range (±${HALF_MAX})`);
    }
    words.set(packHalves(src), t.offset);
  }
  return { rest: restFlat, words };
}

/** The flat params (paramLayout order) of a split base: what readParams and exportWeights give. */
export function joinFrozen(config: ModelConfig, rest: Float32Array, words: Int32Array, layout = paramLayout(config)): Float32Array {
  const tables = frozenLayouts(config, layout);
  const flat = new Float32Array(layout.size);
  for (const t of tables.rest.tensors) flat.set(rest.subarray(t.offset, t.offset + t.length), layout.byName.get(t.name)!.offset);
  for (const t of tables.halves.tensors) flat.set(unpackHalves(words, t.offset, t.length), layout.byName.get(t.name)!.offset);
  return flat;
}

/** `flat` with its projections rounded to f16: the f32 model an f16 base computes (tests, references). */
export function roundProjectionsToHalf(config: ModelConfig, flat: Float32Array): Float32Array {
  const { rest, words } = splitFrozen(config, flat);
  return joinFrozen(config, rest, words);
}

/** The base weights on the device, however they are stored. */
export interface StoredBase<F, I> {
  frozen: FrozenWeights;
  P: RunParams<F, I>;
  /** the f32 flat params (paramLayout order) when stored as f32: full training updates it in place */
  flat: View<F> | null;
  /** device bytes held */
  bytes: number;
  /** the flat params in paramLayout order, copied out */
  read(): Promise<Float32Array>;
  free(): void;
}

/**
 * Allocates and fills the base. alloc: the engine's allocator (frees what it made if a later one fails).
 * With f16 the rest table is carved into ModelParams by name, and each projection points at its halves.
 */
export function storeBase<F, I>(
  ops: Ops<F, I>, config: ModelConfig, flat: Float32Array, layout: Layout, frozen: FrozenWeights,
  alloc: (make: (() => View<F> | View<I>)[]) => (View<F> | View<I>)[],
): StoredBase<F, I> {
  if (frozen === 'f32') {
    const [paramsFlat] = alloc([() => ops.allocF32(layout.size, 'params')]) as View<F>[];
    ops.writeF32(paramsFlat, flat);
    return {
      frozen, P: carveParams(ops, config, paramsFlat, layout), flat: paramsFlat, bytes: layout.size * 4,
      read: () => ops.readF32(paramsFlat), free: () => ops.free(paramsFlat),
    };
  }
  const tables = frozenLayouts(config, layout);
  const split = splitFrozen(config, flat, layout);
  const [restFlat, halvesFlat] = alloc([() => ops.allocF32(tables.rest.size, 'params.f32'), () => ops.allocI32(tables.halves.size, 'params.f16')]) as [View<F>, View<I>];
  ops.writeF32(restFlat, split.rest);
  ops.writeI32(halvesFlat, split.words);
  // the rest table has no projections: carveRest gives them zero-length placeholders, replaced here by halves
  const P: RunParams<F, I> = carveRest(ops, config, restFlat, tables.rest);
  P.layers.forEach((p, l) => {
    for (const [field, name] of Object.entries(HALF_PROJECTIONS) as [HalfField, string][]) {
      const t = tables.halves.byName.get(`${layerPrefix(l)}${name}`)!;
      (p as LayerParams<F, HalfWeight<I> | View<F>>)[field] = { half: ops.view(halvesFlat, t.offset, t.length) };
    }
  });
  return {
    frozen, P, flat: null, bytes: (tables.rest.size + tables.halves.size) * 4,
    read: async () => joinFrozen(config, await ops.readF32(restFlat), await ops.readI32(halvesFlat), layout),
    free: () => {
      ops.free(restFlat);
      ops.free(halvesFlat);
    },
  };
}

/** carveParams over the rest table, with a zero-length placeholder for the projections it does not hold */
function carveRest<F, I>(ops: Ops<F, I>, config: ModelConfig, restFlat: View<F>, rest: Layout): RunParams<F, I> {
  const placeholder: TensorSpec = { name: '', shape: [0], offset: 0, length: 0, decay: false };
  const byName = new Map(rest.byName);
  for (const n of halfNames(config)) byName.set(n, { ...placeholder, name: n });
  return carveParams(ops, config, restFlat, { tensors: rest.tensors, byName, size: rest.size });
}
