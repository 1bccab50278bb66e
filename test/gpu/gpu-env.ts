import { requestGpu, type GpuContext } from '../../src/engine/device.ts';

const HOW_TO_FIX =
  'No WebGPU adapter. In Node: apt-get install -y chromium libvulkan1 (SwiftShader ICD at ' +
  '/usr/lib/chromium/vk_swiftshader_icd.json) and set VK_ICD_FILENAMES to it. In Chromium: launch with ' +
  '--enable-unsafe-webgpu. The GPU tiers fail rather than skip without one.';

let shared: Promise<GpuContext> | null = null;

/** The device every GPU test uses; throws (fails the test) when there is no adapter. */
export function getTestGpu(): Promise<GpuContext> {
  shared ??= requestGpu().then((gpu) => {
    if (!gpu) throw new Error(HOW_TO_FIX);
    return gpu;
  });
  return shared;
}
