// Loading an HF model folder for the Node scripts: config.json + model.safetensors (the engine's loader) into an engine
// (CPU reference, or Node WebGPU through Dawn when asked), and the tokenizer through transformers.js.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Engine, ModelConfig } from '../../src/engine/api.ts';
import { dirSource } from '../../src/engine/hf-node.ts';
import { loadHfModel } from '../../src/engine/hf.ts';
import { createCpuEngine } from '../../src/engine/index.ts';
import type { TextTokenizer } from '../../src/rl/format.ts';
import { loadTokenizer } from '../../src/rl/tokenizer.ts';

export interface LoadedFolder {
  config: ModelConfig;
  /** the flat params buffer (the engine's paramLayout order); every engine made from it copies it */
  weights: Float32Array;
  tokenizer: TextTokenizer;
}

export async function loadModelFolder(dir: string): Promise<LoadedFolder> {
  const path = resolve(dir);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    if (!existsSync(join(path, f))) throw new Error(`model folder ${path} has no ${f} (build it with npm run build:model)`);
  }
  const { config, flat: weights } = await loadHfModel(dirSource(path));
  const tokenizer = await loadTokenizer(dirname(path), basename(path), async (p) => JSON.parse(readFileSync(p, 'utf8')));
  return { config, weights, tokenizer };
}

export type Backend = 'cpu' | 'webgpu';

/** a fresh engine with its own copy of the weights (each simulated peer trains its own model) */
export async function makeEngine(folder: LoadedFolder, backend: Backend): Promise<Engine> {
  if (backend === 'cpu') return createCpuEngine(folder.config, folder.weights);
  const { requestGpu } = await import('../../src/engine/device.ts');
  const { createGpuEngine } = await import('../../src/engine/gpu/index.ts');
  const gpuGlobal = await nodeGpu();
  const gpu = await requestGpu({ gpu: gpuGlobal });
  if (!gpu) throw new Error('no WebGPU adapter in this Node process (is libvulkan1 installed?)');
  return createGpuEngine(gpu, folder.config, folder.weights);
}

let keptGpu: GPU | null = null;
async function nodeGpu(): Promise<GPU> {
  if (keptGpu) return keptGpu;
  const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
  if (!process.env.VK_ICD_FILENAMES && existsSync(icd)) process.env.VK_ICD_FILENAMES = icd;
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  // held for the life of the process: Dawn tears the instance down when this is collected
  keptGpu = create([]);
  return keptGpu;
}
