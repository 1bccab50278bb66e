// Loading an HF model folder for the Node scripts: config.json + model.safetensors into an engine
// (CPU reference, or Node WebGPU through Dawn when asked), and the tokenizer through transformers.js.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Engine, ModelConfig } from '../../src/engine/api.ts';
import { createCpuEngine, parseConfig } from '../../src/engine/index.ts';
import type { TextTokenizer } from '../../src/rl/format.ts';
import { loadTokenizer } from '../../src/rl/tokenizer.ts';
import { readSafetensors, type Tensor } from './safetensors.ts';

export interface LoadedFolder {
  config: ModelConfig;
  weights: Map<string, Tensor>;
  tokenizer: TextTokenizer;
}

export async function loadModelFolder(dir: string): Promise<LoadedFolder> {
  const path = resolve(dir);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    if (!existsSync(join(path, f))) throw new Error(`model folder ${path} has no ${f} (build it with npm run build:model)`);
  }
  const config = parseConfig(JSON.parse(readFileSync(join(path, 'config.json'), 'utf8')));
  const weights = readSafetensors(join(path, 'model.safetensors'));
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
