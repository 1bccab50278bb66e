// Hugging Face model folders in and out: config.json + model.safetensors, or a sharded checkpoint
// (model.safetensors.index.json + shards). Reading goes through a FileSource so the same code loads from the
// filesystem (Node: hf-node.ts) and over fetch (browser: urlSource). Saving writes F32 (what training holds)
// under HF tensor names, so a saved folder loads in transformers unchanged.

import type { ModelConfig } from './api.ts';
import { parseConfig } from './config.ts';
import { ConfigError, SafetensorsError } from './errors.ts';
import { checkWeightShapes, packWeights, paramLayout, type NamedTensor } from './layout.ts';
import { decodeInto, readHeader, serializeSafetensors, type Dtype, type TensorInfo } from './safetensors.ts';

/** Read access to the files of one model folder. */
export interface FileSource {
  /** the file's bytes, or null when the folder has no such file */
  read(name: string): Promise<Uint8Array | null>;
}

/** Write access to a model folder. */
export interface FileSink {
  write(name: string, bytes: Uint8Array): Promise<void>;
}

export interface LoadedModel {
  config: ModelConfig;
  /** config.json as found, kept so a save writes back the fields the engine does not read */
  rawConfig: Record<string, unknown>;
  /** tensors under their HF names, as f32 views into flat */
  weights: Map<string, NamedTensor>;
  /** the flat params buffer in paramLayout order, ready for createEngine */
  flat: Float32Array;
  /** dtype(s) found in the checkpoint */
  dtypes: Dtype[];
}

/** A folder served over HTTP(S): base URL ending in the folder. A 404 reads as an absent file. */
export function urlSource(base: string | URL, fetchFn: typeof fetch = fetch): FileSource {
  const root = String(base).endsWith('/') ? String(base) : `${String(base)}/`;
  return {
    async read(name) {
      const url = new URL(name, new URL(root, globalThis.location?.href ?? 'http://localhost/'));
      const res = await fetchFn(url);
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`fetching ${url}: HTTP ${res.status} ${res.statusText}`);
      // dev servers and SPA hosts answer a missing file with index.html: that is an absent file too
      if (!name.endsWith('.html') && (res.headers.get('content-type') ?? '').includes('text/html')) return null;
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}

/** In-memory folder (tests, and saving in the browser before the bytes go to storage). */
export function memoryFolder(files = new Map<string, Uint8Array>()): FileSource & FileSink & { files: Map<string, Uint8Array> } {
  return {
    files,
    async read(name) {
      return files.get(name) ?? null;
    },
    async write(name, bytes) {
      files.set(name, bytes);
    },
  };
}

async function readJson(src: FileSource, name: string): Promise<unknown | null> {
  const bytes = await src.read(name);
  if (bytes === null) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new ConfigError(`${name} is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Visits every tensor header of the checkpoint in a folder (one file or shards), file by file, so a caller
 * can decode straight to where the tensor goes while only one file's bytes are held.
 */
async function forEachTensor(
  src: FileSource, visit: (name: string, info: TensorInfo, bytes: Uint8Array, dataStart: number) => void,
): Promise<void> {
  const seen = new Set<string>();
  const visitFile = (bytes: Uint8Array, file: string, only?: Set<string>) => {
    const header = readHeader(bytes, file);
    for (const [name, info] of header.tensors) {
      if (only && !only.has(name)) throw new SafetensorsError(`${file} holds "${name}", which the shard index does not map to it`);
      if (seen.has(name)) throw new SafetensorsError(`"${name}" appears in more than one shard`);
      seen.add(name);
      visit(name, info, bytes, header.dataStart);
    }
  };
  const single = await src.read('model.safetensors');
  if (single) return visitFile(single, 'model.safetensors');
  const index = await readJson(src, 'model.safetensors.index.json');
  if (index === null) throw new SafetensorsError('the folder has neither model.safetensors nor model.safetensors.index.json');
  const map = (index as { weight_map?: unknown }).weight_map;
  if (typeof map !== 'object' || map === null || Object.values(map).some((f) => typeof f !== 'string' || f.includes('/') || f.includes('..'))) {
    throw new SafetensorsError('model.safetensors.index.json: weight_map must map tensor names to shard file names in the folder');
  }
  const byFile = new Map<string, Set<string>>();
  for (const [name, file] of Object.entries(map as Record<string, string>)) {
    if (!byFile.has(file)) byFile.set(file, new Set());
    byFile.get(file)!.add(name);
  }
  for (const [file, names] of byFile) {
    const bytes = await src.read(file);
    if (!bytes) throw new SafetensorsError(`shard ${file} named in model.safetensors.index.json is missing`);
    visitFile(bytes, file, names);
    for (const n of names) if (!seen.has(n)) throw new SafetensorsError(`the index maps "${n}" to ${file}, which does not hold it`);
  }
}

/** Every tensor of the checkpoint in a folder as f32, merged across shards. */
export async function loadTensors(src: FileSource): Promise<{ tensors: Map<string, NamedTensor>; dtypes: Dtype[] }> {
  const tensors = new Map<string, NamedTensor>();
  const dtypes = new Set<Dtype>();
  await forEachTensor(src, (name, info, bytes, dataStart) => {
    const data = new Float32Array(info.shape.reduce((a, b) => a * b, 1));
    decodeInto(bytes, info, dataStart, data);
    tensors.set(name, { shape: info.shape, data });
    dtypes.add(info.dtype);
  });
  return { tensors, dtypes: [...dtypes] };
}

/**
 * Loads config.json and the weights of a Llama/Qwen2 folder; named errors for anything that does not fit.
 * Tensors decode straight into the flat params buffer (weights are views into it), so the peak memory is
 * one file's bytes plus the f32 params.
 */
export async function loadHfModel(src: FileSource): Promise<LoadedModel> {
  const raw = await readJson(src, 'config.json');
  if (raw === null) throw new ConfigError('the folder has no config.json');
  const config = parseConfig(raw);
  const layout = paramLayout(config);
  const flat = new Float32Array(layout.size);
  const shapes = new Map<string, number[]>();
  const dtypes = new Set<Dtype>();
  await forEachTensor(src, (name, info, bytes, dataStart) => {
    shapes.set(name, info.shape);
    dtypes.add(info.dtype);
    const t = layout.byName.get(name);
    if (t && t.shape.join(',') === info.shape.join(',')) decodeInto(bytes, info, dataStart, flat.subarray(t.offset, t.offset + t.length));
  });
  checkWeightShapes(config, shapes, layout);
  const weights = new Map(layout.tensors.map((t) => [t.name, { shape: [...t.shape], data: flat.subarray(t.offset, t.offset + t.length) }]));
  return { config, rawConfig: raw as Record<string, unknown>, weights, flat, dtypes: [...dtypes] };
}

/**
 * Writes config.json and model.safetensors (F32 unless dtype says otherwise). rawConfig, when given, keeps the
 * fields the engine ignores (tokenizer ids, architectures, ...); torch_dtype is set to what is written.
 */
export async function saveHfModel(
  sink: FileSink, config: ModelConfig, weights: ReadonlyMap<string, NamedTensor>,
  { rawConfig, dtype = 'F32' }: { rawConfig?: Record<string, unknown>; dtype?: 'F32' | 'F16' | 'BF16' } = {},
): Promise<void> {
  const torchDtype = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype];
  const json = { ...(rawConfig ?? config), torch_dtype: torchDtype };
  // validates names and shapes against the config before anything is written
  packWeights(config, weights);
  const layout = paramLayout(config);
  const own = new Map([...weights].filter(([name]) => layout.byName.has(name)));
  await sink.write('config.json', new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`));
  await sink.write('model.safetensors', serializeSafetensors(own, { dtype }));
}
