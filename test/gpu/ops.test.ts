// Every WebGPU op against the CPU reference, forward and backward, on odd shapes, for BOTH kernel families
// (gpu/family.ts: 'cpu' for CPU-backed adapters, 'gpu' for real GPUs) whichever adapter this is. Runs in
// Node (Dawn) and in headless Chromium; both fail, never skip, without an adapter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTestGpu } from './gpu-env.ts';
import { CpuOps } from '../../src/engine/cpu/ops.ts';
import { createGpuOps, type GpuOps } from '../../src/engine/gpu/ops.ts';
import { chooseKernelFamily, type KernelFamily } from '../../src/engine/gpu/family.ts';
import { opCases } from './checks/op-cases.ts';
import { checkCase, type Placement } from './checks/op-check.ts';

it('finds a WebGPU adapter and picks the cpu family for a CPU-backed one', async () => {
  const context = await getTestGpu();
  expect(context.adapterInfo.label.length).toBeGreaterThan(0);
  // every adapter these tests run on here is SwiftShader; a real GPU must get the gpu family
  if (/swiftshader/i.test(context.adapterInfo.label)) expect(chooseKernelFamily(context.adapterInfo)).toBe('cpu');
  expect(chooseKernelFamily({ vendor: 'nvidia', architecture: 'hopper', device: '', description: '', label: 'nvidia', isFallbackAdapter: false })).toBe('gpu');
  expect(chooseKernelFamily({ vendor: 'apple', architecture: 'metal-3', device: '', description: '', label: 'apple', isFallbackAdapter: true })).toBe('cpu');
});

describe.each(['cpu', 'gpu'] as KernelFamily[])('WebGPU ops (%s kernel family) agree with the CPU reference', (family) => {
  let gpu: GpuOps;
  const cpu = new CpuOps();
  beforeAll(async () => {
    gpu = await createGpuOps(await getTestGpu(), { kernels: family });
  });
  afterAll(() => gpu?.destroy());

  it('runs the family it was asked for', () => {
    expect(gpu.family).toBe(family);
  });

  // Every case with tensors packed at odd offsets; the bigger ones again with 64-element-aligned tensors,
  // which take the recorder's direct binding path instead of its alias copies.
  const cases = opCases().map((c, k) => ({ c, k, placement: 'packed' as Placement }));
  for (const { c, k } of [...cases]) {
    if (/^(matmul .* M=(33|64|36|40|2|1) |attention|rmsnorm|logprobs|adamw|swiglu|sumSquares|biasBackward|embeddingBackward)/.test(c.name)) {
      cases.push({ c, k, placement: 'aligned' });
    }
  }

  cases.forEach(({ c, k, placement }) => {
    it(`${c.name}${placement === 'aligned' ? ' [aligned]' : ''}`, async () => {
      const result = await checkCase(cpu, gpu, c, 1000 + k, placement);
      for (const o of result.outputs) {
        // an all-zero reference would make the comparison vacuous (except where zeros are the point)
        if (!c.name.startsWith('zero') && !(c.name.startsWith('matmul') && c.name.endsWith('K=0'))) expect(o.maxAbsValue, o.name).toBeGreaterThan(0);
      }
      expect(result.worst, JSON.stringify(result.outputs)).toBeLessThanOrEqual(c.tolerance);
    });
  });
});
