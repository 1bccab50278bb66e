// Device faults end in named errors: WebGPU validation errors (uncaptured, normally only a console line)
// fail the engine call that recorded the bad work, and a lost device fails the call in flight and every
// later one with GpuDeviceLostError. Each test on its own device: a destroyed device would take the shared
// one with it.
import { describe, expect, it } from 'vitest';
import { GpuDeviceLostError, GpuValidationError, requestGpu } from '../../src/engine/device.ts';
import { createGpuEngine } from '../../src/engine/gpu/index.ts';
import { tinyConfig } from '../../src/engine/config.ts';
import { initWeights } from '../../src/engine/init.ts';

const config = tinyConfig({ vocab_size: 40, hidden_size: 24, intermediate_size: 40, num_attention_heads: 6, num_key_value_heads: 2 });
const batch = [{ tokens: [1, 5, 9, 13, 2], completionStart: 2 }];

async function freshGpu() {
  const gpu = await requestGpu({ onUncapturedError: () => {} });
  if (!gpu) throw new Error('no WebGPU adapter');
  return gpu;
}

describe('device faults', () => {
  it('an uncaptured validation error fails the next call with GpuValidationError; the engine goes on', async () => {
    const gpu = await freshGpu();
    const engine = await createGpuEngine(gpu, config, initWeights(config, 1));
    try {
      const before = await engine.forwardLogprobs(batch);
      // invalid on purpose: a buffer without usage flags
      gpu.device.createBuffer({ size: 4, usage: 0 });
      await expect(engine.forwardLogprobs(batch)).rejects.toThrow(GpuValidationError);
      // nothing was lost: the weights are intact and the next call gives the same logprobs
      expect(await engine.forwardLogprobs(batch)).toEqual(before);
    } finally {
      engine.dispose();
      gpu.destroy();
    }
  });

  it('a device lost mid-sample fails that call and later ones with GpuDeviceLostError', async () => {
    const gpu = await freshGpu();
    const engine = await createGpuEngine(gpu, config, initWeights(config, 1));
    const sampling = engine.sample([[1, 2, 3]], { maxNewTokens: 40, temperature: 1, seed: 3, stopTokens: [] });
    gpu.device.destroy();
    await expect(sampling).rejects.toThrow(GpuDeviceLostError);
    await expect(engine.forwardLogprobs(batch)).rejects.toThrow(GpuDeviceLostError);
    const reason = await gpu.lost;
    expect(reason.reason).toBe('destroyed');
    engine.dispose();
  });
});
