// Gives Node a real WebGPU: Dawn from the npm `webgpu` package over Vulkan. Without a GPU the Vulkan
// driver is SwiftShader, which Debian ships inside its chromium package.
import { existsSync } from 'node:fs';
import { create, globals } from 'webgpu';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;

Object.assign(globalThis, globals);
// Keep the GPU object reachable for the life of the process: Dawn tears the instance down on GC.
const gpu = create([]);
(globalThis as { __tabswarmNodeGpu?: GPU }).__tabswarmNodeGpu = gpu;
Object.defineProperty(globalThis.navigator, 'gpu', { configurable: true, value: gpu });
