// Runs an OpCase on any backend, and compares WebGPU against the CPU reference. All f32 tensors of a case
// live in ONE flat buffer at odd offsets (as activations do in the model), i32 tensors in another, so the
// kernels' offset handling and same-buffer bindings are exercised too.

import type { Ops, View } from '../../../src/engine/ops.ts';
import type { GpuContext } from '../../../src/engine/device.ts';
import { CpuOps } from '../../../src/engine/cpu/ops.ts';
import { createGpuOps, type GpuOps } from '../../../src/engine/gpu/ops.ts';
import type { KernelFamily } from '../../../src/engine/gpu/family.ts';
import { opCases, type OpCase, type Tensors, type TensorSpec } from './op-cases.ts';

export interface OpCheckResult {
  name: string;
  /** per compared output: max |gpu - cpu|, max |cpu| */
  outputs: { name: string; maxAbsError: number; maxAbsValue: number }[];
  tolerance: number;
  /** the worst error over outputs divided by max(1, |value|): must be <= tolerance */
  worst: number;
}

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function initialData(spec: TensorSpec, rand: () => number): Float32Array | Int32Array {
  const init = spec.init ?? 'rand';
  if (spec.dtype === 'i32') return Int32Array.from(typeof init === 'string' ? new Array(spec.length).fill(0) : init);
  if (init === 'rand') return Float32Array.from({ length: spec.length }, () => rand() * 2 - 1);
  if (init === 'positive') return Float32Array.from({ length: spec.length }, () => rand() * 0.1);
  if (init === 'zero') return new Float32Array(spec.length);
  return Float32Array.from(init);
}

/**
 * 'packed': 3 elements between tensors, so no tensor starts aligned by accident and most bindings overlap
 * their neighbours' 256-byte blocks (the recorder's copy path); 'aligned': every tensor starts on a
 * 64-element boundary (the direct range-binding path).
 */
export type Placement = 'packed' | 'aligned';

export async function runCase<F, I>(
  ops: Ops<F, I>, c: OpCase, data: Map<string, Float32Array | Int32Array>, placement: Placement = 'packed',
): Promise<Map<string, Float32Array>> {
  const offsets = new Map<string, number>();
  const place = (at: number) => (placement === 'aligned' ? Math.ceil(at / 64) * 64 : at + 3);
  let fTotal = 0, iTotal = 0;
  for (const t of c.tensors) {
    if (t.dtype === 'i32') { iTotal = place(iTotal); offsets.set(t.name, iTotal); iTotal += t.length; }
    else { fTotal = place(fTotal); offsets.set(t.name, fTotal); fTotal += t.length; }
  }
  fTotal += 3;
  iTotal += 3;
  const fBuf = ops.allocF32(fTotal, `${c.name}.f32`);
  const iBuf = ops.allocI32(iTotal, `${c.name}.i32`);
  const views = new Map<string, View<F> | View<I>>();
  for (const t of c.tensors) {
    const off = offsets.get(t.name)!;
    if (t.dtype === 'i32') {
      const v = ops.view(iBuf, off, t.length);
      ops.writeI32(v, data.get(t.name) as Int32Array);
      views.set(t.name, v);
    } else {
      const v = ops.view(fBuf, off, t.length);
      ops.writeF32(v, data.get(t.name) as Float32Array);
      views.set(t.name, v);
    }
  }
  const tensors: Tensors<F, I> = { f: (n) => views.get(n) as View<F>, i: (n) => views.get(n) as View<I> };
  c.run(ops, tensors);
  ops.flush();
  const out = new Map<string, Float32Array>();
  for (const name of c.outputs) out.set(name, await ops.readF32(views.get(name) as View<F>));
  ops.free(fBuf);
  ops.free(iBuf);
  return out;
}

export async function checkCase(cpu: CpuOps, gpu: GpuOps, c: OpCase, seed: number, placement: Placement = 'packed'): Promise<OpCheckResult> {
  const rand = seededRandom(seed);
  const data = new Map(c.tensors.map((t) => [t.name, initialData(t, rand)] as const));
  const expected = await runCase(cpu, c, data);
  const got = await runCase(gpu, c, data, placement);
  let worst = 0;
  const compared = gpu.family === 'gpu' && c.gpuFamilyOutputs ? c.gpuFamilyOutputs : c.outputs;
  const outputs = compared.map((name) => {
    const e = expected.get(name)!, g = got.get(name)!;
    let maxAbsError = 0, maxAbsValue = 0;
    for (let k = 0; k < e.length; k++) {
      const err = Math.abs(g[k] - e[k]);
      // NaN anywhere is a failure: make it infinitely wrong
      maxAbsError = Math.max(maxAbsError, Number.isNaN(err) ? Infinity : err);
      maxAbsValue = Math.max(maxAbsValue, Math.abs(e[k]));
    }
    worst = Math.max(worst, maxAbsError / Math.max(1, maxAbsValue));
    return { name, maxAbsError, maxAbsValue };
  });
  return { name: c.name, outputs, tolerance: c.tolerance, worst };
}

/**
 * Every op case (or those whose name starts with one of `only`), WebGPU with the given kernel family (default:
 * the adapter's) against the CPU reference.
 */
export async function checkAllOps(gpuContext: GpuContext, only?: readonly string[], kernels?: KernelFamily): Promise<OpCheckResult[]> {
  const cpu = new CpuOps();
  const gpu = await createGpuOps(gpuContext, { kernels });
  try {
    const results: OpCheckResult[] = [];
    const cases = opCases().filter((c) => !only || only.some((p) => c.name.startsWith(p)));
    for (let k = 0; k < cases.length; k++) results.push(await checkCase(cpu, gpu, cases[k], 1000 + k));
    return results;
  } finally {
    gpu.destroy();
  }
}
