// Every WebGPU op against the CPU reference, forward and backward, on odd shapes, for BOTH kernel families
// (gpu/family.ts: 'cpu' for CPU-backed adapters, 'gpu' for real GPUs) whichever adapter this is. Runs in
// Node (Dawn) and in headless Chromium; both fail, never skip, without an adapter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTestGpu } from './gpu-env.ts';
import { CpuOps } from '../../src/engine/cpu/ops.ts';
import { createGpuOps, type GpuOps } from '../../src/engine/gpu/ops.ts';
import { chooseKernelFamily, type KernelFamily } from '../../src/engine/gpu/family.ts';
import { opCases, type OpCase } from './checks/op-cases.ts';
import { ShapeError } from '../../src/engine/errors.ts';
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

  // What attention keeps for its backward is the backend's own business (ops.attentionStateSize): the flash
  // kernels run on exactly what they ask for, (B,H,T) lse + (B,T) mask, never a (B,H,T,T) probabilities buffer.
  it('attention forward and backward on an att buffer of exactly attentionStateSize elements', async () => {
    const d = { B: 2, T: 70, H: 4, Hkv: 2, D: 8 };
    const probs = d.B * d.H * d.T * d.T;
    const size = gpu.attentionStateSize(d);
    expect(size).toBe(family === 'gpu' ? d.B * d.H * d.T + d.B * d.T : probs);
    expect(cpu.attentionStateSize(d)).toBe(probs);
    const mask = Array.from({ length: d.B * d.T }, (_, k) => (k >= d.T && k - d.T < 3 ? 0 : 1));
    const qn = d.B * d.T * d.H * d.D, kn = d.B * d.T * d.Hkv * d.D;
    const c: OpCase = {
      name: 'attention with its own state size',
      tensors: [
        { name: 'out', length: qn }, { name: 'att', length: size }, { name: 'q', length: qn }, { name: 'k', length: kn },
        { name: 'v', length: kn }, { name: 'mask', length: mask.length, init: mask }, { name: 'dq', length: qn },
        { name: 'dk', length: kn }, { name: 'dv', length: kn }, { name: 'dOut', length: qn },
      ],
      run: (ops, t) => {
        // the CPU reference gets its (B,H,T,T) from a buffer of its own: the case's att is sized for the GPU
        const att = ops === (cpu as unknown) ? ops.allocF32(probs, 'att.cpu') : t.f('att');
        ops.attentionForward(t.f('out'), att, t.f('q'), t.f('k'), t.f('v'), t.f('mask'), d);
        ops.attentionBackward(t.f('dq'), t.f('dk'), t.f('dv'), t.f('dOut'), att, t.f('q'), t.f('k'), t.f('v'), d);
      },
      outputs: ['out', 'dq', 'dk', 'dv'],
      tolerance: 2e-5,
    };
    const result = await checkCase(cpu, gpu, c, 77, 'aligned');
    for (const o of result.outputs) expect(o.maxAbsValue, o.name).toBeGreaterThan(0);
    expect(result.worst, JSON.stringify(result.outputs)).toBeLessThanOrEqual(c.tolerance);
    // one element short of what this backend keeps is a named error, not a silent overrun
    const short = gpu.allocF32(size - 1, 'att.short');
    const x = gpu.allocF32(qn, 'x'), kv = gpu.allocF32(kn, 'kv'), m = gpu.allocF32(d.B * d.T, 'm');
    expect(() => gpu.attentionForward(x, short, x, kv, kv, m, d)).toThrow(ShapeError);
    for (const v of [short, x, kv, m]) gpu.free(v);
  });

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
