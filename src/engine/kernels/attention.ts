// Launchers for attention.wgsl: causal prefill with GQA (forward, backward), decode against the KV cache,
// and the cache write. Backward and decode need scratch space (dS of shape (B,H,T,T), scores (B,H,S)),
// which `scratch` provides and keeps between calls.
import type { GpuContext } from '../device.ts';
import type { GpuViewF, GpuViewI } from '../buffers.ts';
import type { AttentionDims } from '../ops.ts';
import { compileKernel, lazyKernel, f32bits, rd, wr, type Recorder } from '../gpu/recorder.ts';
import type { KernelFamily } from '../gpu/family.ts';
import source from './attention.wgsl?raw';
import flashSource from './attention-flash.wgsl?raw';

const WG = 64;
/** Largest head dim the flash kernels keep in registers (MAX_D in attention-flash.wgsl); larger falls back. */
export const FLASH_MAX_D = 128;

/**
 * family 'gpu': flash-style kernels (attention-flash.wgsl) for head dims up to FLASH_MAX_D; they keep only
 * (lse, key mask) in `att`. family 'cpu', or larger heads: the row-per-invocation kernels keeping att.
 */
export async function createAttentionKernels(gpu: GpuContext, rec: Recorder, scratch: (elements: number, role: string) => GPUBuffer, family: KernelFamily) {
  // in the 'gpu' family the row kernels are the fallback for heads wider than FLASH_MAX_D: compiled on first use
  const rows = await createRowAttentionKernels(gpu, rec, scratch, family === 'gpu');
  if (family === 'cpu') return rows;
  const [forward, backwardQuery, backwardKV] = await Promise.all(
    ['forward', 'backwardQuery', 'backwardKV'].map((e) => compileKernel(gpu, flashSource, e, `attention.flash.${e}`)),
  );
  const decode = lazyKernel(gpu, flashSource, 'decode', 'attention.flash.decode');
  const head = (B: number, T: number, H: number, Hkv: number, D: number) => [B, T, H, Hkv, D, f32bits(1 / Math.sqrt(D))];
  const blocks = (T: number) => Math.ceil(T / WG);
  return {
    ...rows,
    /** flash kernels keep each row's lse (B,H,T) and the key mask (B,T); wider heads fall back to probabilities */
    stateSize(d: AttentionDims): number {
      return d.D > FLASH_MAX_D ? rows.stateSize(d) : d.B * d.H * d.T + d.B * d.T;
    },
    forward(out: GpuViewF, att: GpuViewF, q: GpuViewF, k: GpuViewF, v: GpuViewF, keyMask: GpuViewF, d: AttentionDims): void {
      if (d.D > FLASH_MAX_D) return rows.forward(out, att, q, k, v, keyMask, d);
      const { B, T, H, Hkv, D } = d;
      rec.dispatchGroups(forward, [wr(out), wr(att), rd(q), rd(k), rd(v), rd(keyMask)], (o) => [...head(B, T, H, Hkv, D), ...o], B * H * blocks(T));
    },
    backward(dq: GpuViewF, dk: GpuViewF, dv: GpuViewF, dOut: GpuViewF, att: GpuViewF, q: GpuViewF, k: GpuViewF, v: GpuViewF, d: AttentionDims): void {
      if (d.D > FLASH_MAX_D) return rows.backward(dq, dk, dv, dOut, att, q, k, v, d);
      const { B, T, H, Hkv, D } = d;
      const delta = scratch(B * H * T, 'attention.delta');
      const params = (o: number[]) => [...head(B, T, H, Hkv, D), ...o.slice(0, 7)];
      rec.dispatchGroups(backwardQuery, [wr(dq), delta, rd(dOut), rd(att), rd(q), rd(k), rd(v)], params, B * H * blocks(T));
      rec.dispatchGroups(backwardKV, [wr(dk), wr(dv), rd(dOut), rd(att), rd(q), rd(k), rd(v), delta], params, B * Hkv * blocks(T));
    },
    decode(out: GpuViewF, q: GpuViewF, kCache: GpuViewF, vCache: GpuViewF, keyMask: GpuViewF, B: number, S: number, H: number, Hkv: number, D: number): void {
      const scores = scratch(B * H * S, 'attention.scores');
      rec.dispatchGroups(decode, [wr(out), scores, rd(q), rd(kCache), rd(vCache), rd(keyMask)], (o) => [...head(B, S, H, Hkv, D), ...o, 0], B * H);
    },
  };
}

async function createRowAttentionKernels(gpu: GpuContext, rec: Recorder, scratch: (elements: number, role: string) => GPUBuffer, lazy: boolean) {
  const [forward, backwardQuery, backwardKV] = lazy
    ? ['forward', 'backwardQuery', 'backwardKV'].map((e) => lazyKernel(gpu, source, e, `attention.${e}`))
    : await Promise.all(['forward', 'backwardQuery', 'backwardKV'].map((e) => compileKernel(gpu, source, e, `attention.${e}`)));
  // decode and the KV-cache write run only when sampling
  const [decode, cacheWrite] = ['decode', 'cacheWrite'].map((e) => lazyKernel(gpu, source, e, `attention.${e}`));
  const head = (B: number, T: number, H: number, Hkv: number, D: number) => [B, T, H, Hkv, D, f32bits(1 / Math.sqrt(D))];
  return {
    /** the row kernels keep the (B,H,T,T) probabilities, as the CPU reference does */
    stateSize({ B, H, T }: AttentionDims): number {
      return B * H * T * T;
    },
    forward(out: GpuViewF, att: GpuViewF, q: GpuViewF, k: GpuViewF, v: GpuViewF, keyMask: GpuViewF, { B, T, H, Hkv, D }: AttentionDims): void {
      rec.dispatchFlat(forward, [wr(out), wr(att), rd(q), rd(k), rd(v), rd(keyMask)], (o) => [...head(B, T, H, Hkv, D), ...o], B * H * T, WG);
    },
    backward(dq: GpuViewF, dk: GpuViewF, dv: GpuViewF, dOut: GpuViewF, att: GpuViewF, q: GpuViewF, k: GpuViewF, v: GpuViewF, { B, T, H, Hkv, D }: AttentionDims): void {
      const dS = scratch(B * H * T * T, 'attention.dS');
      const params = head(B, T, H, Hkv, D);
      rec.dispatchFlat(backwardQuery, [wr(dq), dS, rd(dOut), rd(att), rd(k), rd(v)], (o) => [...params, ...o], B * H * T, WG);
      rec.dispatchFlat(backwardKV, [wr(dk), wr(dv), dS, rd(att), rd(q), rd(dOut)], (o) => [...params, ...o], B * T * Hkv * D, WG);
    },
    decode(out: GpuViewF, q: GpuViewF, kCache: GpuViewF, vCache: GpuViewF, keyMask: GpuViewF, B: number, S: number, H: number, Hkv: number, D: number): void {
      const scores = scratch(B * H * S, 'attention.scores');
      rec.dispatchFlat(decode, [wr(out), rd(q), rd(kCache), rd(vCache), rd(keyMask), scores], (o) => [...head(B, S, H, Hkv, D), ...o], B * H, WG);
    },
    cacheWrite(cache: GpuViewF, kv: GpuViewF, pos: GpuViewI, B: number, S: number, Hkv: number, D: number): void {
      rec.dispatchFlat(cacheWrite, [wr(cache), rd(kv), null, null, null, null, rd(pos)], (o) => [...head(B, S, Hkv, Hkv, D), o[0], o[1], o[6]], B * Hkv * D, WG);
    },
  };
}
