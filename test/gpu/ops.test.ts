// Every WebGPU op against the CPU reference, forward and backward, on odd shapes. Runs in Node (Dawn) and
// in headless Chromium; both fail, never skip, without an adapter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTestGpu } from './gpu-env.ts';
import { CpuOps } from '../../src/engine/cpu/ops.ts';
import { createGpuOps, isCpuAdapter, type GpuOps } from '../../src/engine/gpu/ops.ts';
import { opCases } from './checks/op-cases.ts';
import { checkCase, type Placement } from './checks/op-check.ts';

describe('WebGPU ops agree with the CPU reference', () => {
  let gpu: GpuOps;
  const cpu = new CpuOps();
  beforeAll(async () => {
    gpu = await createGpuOps(await getTestGpu());
  });
  afterAll(() => gpu?.destroy());

  // Some kernels are chosen by adapter class: the whole-buffer loops (strided on GPUs, blocks on CPU-backed
  // adapters) and the vec4 matmul tile (4x4 or 16x16 per invocation). Whichever this adapter is, check the
  // other class's choices too.
  it("the other adapter class's kernels agree too (AdamW, sum of squares, vec4 matmul)", async () => {
    const other = await createGpuOps(await getTestGpu(), { cpuLike: !isCpuAdapter(await getTestGpu()) });
    try {
      const picked = opCases().map((c, k) => ({ c, k })).filter(({ c }) => /^(adamw|sumSquares|matmul .* M=(36|40|64))/.test(c.name));
      expect(picked.length).toBeGreaterThanOrEqual(12);
      for (const { c, k } of picked) {
        for (const placement of ['packed', 'aligned'] as const) {
          const r = await checkCase(cpu, other, c, 1000 + k, placement);
          expect(r.worst, `${c.name} ${placement}`).toBeLessThanOrEqual(c.tolerance);
        }
      }
    } finally {
      other.destroy();
    }
  });

  it('finds a WebGPU adapter', async () => {
    const context = await getTestGpu();
    expect(context.adapterInfo.label.length).toBeGreaterThan(0);
  });

  // Every case with tensors packed at odd offsets; the bigger ones again with 64-element-aligned tensors,
  // which take the recorder's direct binding path instead of its alias copies.
  const cases = opCases().map((c, k) => ({ c, k, placement: 'packed' as Placement }));
  for (const { c, k } of [...cases]) {
    if (/^(matmul .* M=(33|64|36|40|2|1) |attention|rmsnorm|logprobs|adamw|swiglu|sumSquares)/.test(c.name)) cases.push({ c, k, placement: 'aligned' });
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
