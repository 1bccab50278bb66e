// The WebGPU backend of the op set: createGpuOps compiles every pipeline up front (async), then returns an
// Ops whose calls check shapes on the CPU and record dispatches synchronously into one command encoder;
// flush() (or a read) submits them. Same contract as the CPU reference in ../cpu/ops.ts, which the tests
// hold it to.

import type { AdamWParams, AttentionDims, MatmulOptions, Ops, SamplerParams, View } from '../ops.ts';
import type { GpuContext } from '../device.ts';
import { createStorage, type GpuF32, type GpuI32, type GpuViewF, type GpuViewI } from '../buffers.ts';
import { ModelTooLargeError, ShapeError } from '../errors.ts';
import { GpuDeviceLostError, GpuValidationError } from '../device.ts';
import { checkAttentionBackwardArgs, checkAttentionDecodeArgs, checkAttentionForwardArgs, checkHalfMatmulArgs, checkRopeArgs, dims, need } from '../checks.ts';
import { createHalfMatmulKernels } from '../kernels/matmul-half.ts';
import { Recorder } from './recorder.ts';
import { createMatmulKernels } from '../kernels/matmul.ts';
import { createResidualKernels } from '../kernels/residual.ts';
import { createBiasKernels } from '../kernels/bias.ts';
import { createEmbeddingKernels } from '../kernels/embedding.ts';
import { createRmsnormKernels } from '../kernels/rmsnorm.ts';
import { createRopeKernels } from '../kernels/rope.ts';
import { createAttentionKernels } from '../kernels/attention.ts';
import { createSwigluKernels } from '../kernels/swiglu.ts';
import { createLogprobsKernels } from '../kernels/logprobs.ts';
import { createAdamwKernels } from '../kernels/adamw.ts';
import { createReduceKernels } from '../kernels/reduce.ts';
import { createSampleKernels } from '../kernels/sample.ts';
import { chooseKernelFamily, isCpuAdapterInfo, type KernelFamily } from './family.ts';

export type { GpuF32, GpuI32 } from '../buffers.ts';


type Kernels = Awaited<ReturnType<typeof compileAll>>;

/** Software rasterisers exposed as WebGPU adapters: they want few, long-running invocations. */
export function isCpuAdapter(gpu: GpuContext): boolean {
  return isCpuAdapterInfo(gpu.adapterInfo);
}

async function compileAll(gpu: GpuContext, rec: Recorder, scratch: (elements: number, role: string) => GPUBuffer, family: KernelFamily, cpuLike: boolean) {
  const [matmul, residual, bias, embedding, rmsnorm, rope, attention, swiglu, logprobs, adamw, sample, reduce, half] = await Promise.all([
    createMatmulKernels(gpu, rec, family),
    createResidualKernels(gpu, rec),
    createBiasKernels(gpu, rec),
    createEmbeddingKernels(gpu, rec),
    createRmsnormKernels(gpu, rec, scratch),
    createRopeKernels(gpu, rec),
    createAttentionKernels(gpu, rec, scratch, family),
    createSwigluKernels(gpu, rec),
    createLogprobsKernels(gpu, rec, scratch),
    createAdamwKernels(gpu, rec, scratch, cpuLike),
    createSampleKernels(gpu, rec),
    family === 'gpu' ? createReduceKernels(gpu, rec, scratch) : null,
    createHalfMatmulKernels(gpu, rec),
  ]);
  return { matmul, residual, bias, embedding, rmsnorm, rope, attention, swiglu, logprobs, adamw, sample, reduce, half };
}

export interface GpuOpsOptions {
  /** kernel family (family.ts): 'cpu' for CPU-backed adapters, 'gpu' for real GPUs; default from the adapter info */
  kernels?: KernelFamily;
  /** loop layout for whole-buffer kernels: contiguous blocks per invocation (CPU) or strided (GPU); default: kernels === 'cpu' */
  cpuLike?: boolean;
}

/** Compiles every kernel (shader errors surface here as ShaderCompileError), then returns the ops. */
export async function createGpuOps(gpu: GpuContext, options: GpuOpsOptions = {}): Promise<GpuOps> {
  const rec = new Recorder(gpu.device);
  const scratch = new Map<string, { buffer: GPUBuffer; elements: number }>();
  const getScratch = (elements: number, role: string): GPUBuffer => {
    const have = scratch.get(role);
    if (have && have.elements >= elements) return have.buffer;
    if (have) rec.destroyLater(have.buffer);
    const buffer = createStorage(gpu.device, elements, `scratch.${role}`);
    scratch.set(role, { buffer, elements });
    return buffer;
  };
  const family = options.kernels ?? chooseKernelFamily(gpu.adapterInfo);
  const kernels = await compileAll(gpu, rec, getScratch, family, options.cpuLike ?? family === 'cpu');
  return new GpuOps(gpu, rec, kernels, family, () => {
    for (const s of scratch.values()) s.buffer.destroy();
    scratch.clear();
  });
}

export class GpuOps implements Ops<GpuF32, GpuI32> {
  readonly backend = 'webgpu' as const;

  constructor(
    readonly gpu: GpuContext,
    /** exposed for benchmarks (dispatch counts) */
    readonly recorder: Recorder,
    private readonly k: Kernels,
    /** which kernel family this instance runs (gpu/family.ts) */
    readonly family: KernelFamily,
    private readonly releaseScratch: () => void,
  ) {}

  // ---- memory -------------------------------------------------------------------------------------------
  allocF32(length: number, label: string): GpuViewF {
    const buffer: GpuF32 = { dtype: 'f32', gpu: this.create(length, label), length, label };
    return { buffer, offset: 0, length };
  }
  allocI32(length: number, label: string): GpuViewI {
    const buffer: GpuI32 = { dtype: 'i32', gpu: this.create(length, label), length, label };
    return { buffer, offset: 0, length };
  }
  // WebGPU reports an allocation the device cannot back only through an error scope (the buffer comes back
  // invalid, silently): each allocation opens one, and checkFaults() turns what it caught into ModelTooLargeError.
  private create(length: number, label: string): GPUBuffer {
    this.gpu.device.pushErrorScope('out-of-memory');
    let buffer: GPUBuffer;
    try {
      buffer = createStorage(this.gpu.device, length, label);
    } finally {
      const scope = this.gpu.device.popErrorScope().then(
        (e) => (e ? `${label} (${length * 4} bytes): ${e.message}` : null),
        () => null, // a lost device rejects nothing useful here; checkFaults reports the loss itself
      );
      this.pendingScopes.push(scope);
    }
    return buffer;
  }
  private pendingScopes: Promise<string | null>[] = [];

  /**
   * Throws the named error for any fault since the last check: GpuDeviceLostError when the device is gone,
   * ModelTooLargeError for an allocation the device could not back, GpuValidationError for recorded work
   * WebGPU refused (reported as uncaptured errors). The engine calls it at the end of every call.
   */
  async checkFaults(): Promise<void> {
    const oom = (await Promise.all(this.pendingScopes.splice(0))).filter((m): m is string => m !== null);
    this.throwIfLost();
    if (oom.length > 0) {
      this.gpu.takeUncapturedErrors(); // the failed allocations' echoes
      throw new ModelTooLargeError(`the GPU ran out of memory allocating ${oom.join('; ')}`, NaN, NaN);
    }
    const errors = this.gpu.takeUncapturedErrors();
    if (errors.length > 0) {
      throw new GpuValidationError(`WebGPU refused recorded work (${errors.length} error(s)); first: ${errors[0].message}`);
    }
  }
  private throwIfLost(): void {
    const lost = this.gpu.lostInfo;
    if (lost) throw new GpuDeviceLostError(`the GPU device was lost (${lost.reason}): ${lost.message || 'no message'}`, lost.reason);
  }
  writeF32(dst: GpuViewF, data: Float32Array): void {
    need('writeF32', 'dst', dst, data.length);
    // queue.writeBuffer runs before any later submit: submit what was recorded so far first to keep order.
    this.rec().flush();
    this.gpu.device.queue.writeBuffer(dst.buffer.gpu, dst.offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }
  writeI32(dst: GpuViewI, data: Int32Array): void {
    need('writeI32', 'dst', dst, data.length);
    this.rec().flush();
    this.gpu.device.queue.writeBuffer(dst.buffer.gpu, dst.offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }
  async readF32(src: GpuViewF): Promise<Float32Array> {
    this.throwIfLost();
    if (src.length === 0) return new Float32Array(0);
    try {
      return new Float32Array(await this.rec().read(src.buffer.gpu, src.offset * 4, src.length * 4));
    } catch (e) {
      // a read fails when the device goes while it waits: say that, not "mapAsync aborted"
      await Promise.race([this.gpu.lost, new Promise((resolve) => setTimeout(resolve, 100))]);
      this.throwIfLost();
      throw e;
    }
  }
  async readI32(src: GpuViewI): Promise<Int32Array> {
    this.throwIfLost();
    if (src.length === 0) return new Int32Array(0);
    return new Int32Array(await this.rec().read(src.buffer.gpu, src.offset * 4, src.length * 4));
  }
  view<T extends GpuF32 | GpuI32>(parent: View<T>, offset: number, length: number): View<T> {
    dims('view', { offset, length });
    if (offset + length > parent.length) {
      throw new ShapeError(`view: [${offset}, +${length}) exceeds its parent of ${parent.length} elements`);
    }
    return { buffer: parent.buffer, offset: parent.offset + offset, length };
  }
  zero(dst: GpuViewF): void {
    need('zero', 'dst', dst, dst.length);
    this.rec().clear(dst.buffer.gpu, dst.offset * 4, dst.length * 4);
  }
  copy(dst: GpuViewF, src: GpuViewF): void {
    need('copy', 'dst', dst, src.length);
    if (dst.buffer === src.buffer) this.k.residual.copy(dst, src, src.length);
    else this.rec().copy(src.buffer.gpu, src.offset * 4, dst.buffer.gpu, dst.offset * 4, src.length * 4);
  }
  flush(): void {
    this.rec().flush();
  }
  free(v: GpuViewF | GpuViewI): void {
    this.recorder.destroyLater(v.buffer.gpu);
  }
  /** Releases every GPU resource the ops own (not the buffers handed out, nor the device). */
  destroy(): void {
    this.recorder.destroy();
    this.k.rope.destroy();
    this.releaseScratch();
    this.destroyed = true;
  }
  private destroyed = false;
  private rec(): Recorder {
    if (this.destroyed) throw new ShapeError('GpuOps used after destroy()');
    return this.recorder;
  }

  // ---- layers -------------------------------------------------------------------------------------------
  matmul(out: GpuViewF, a: GpuViewF, b: GpuViewF, M: number, N: number, K: number, options: MatmulOptions = {}): void {
    dims('matmul', { M, N, K });
    need('matmul', 'out', out, M * N);
    need('matmul', 'a', a, M * K);
    need('matmul', 'b', b, K * N);
    this.rec();
    this.k.matmul.matmul(out, a, b, M, N, K, options);
  }
  matmulHalfWeights(out: GpuViewF, x: GpuViewF, w: GpuViewI, M: number, N: number, K: number, options: { accumulate?: boolean } = {}): void {
    checkHalfMatmulArgs(out, x, w, M, N, K);
    if (M === 0 || N === 0) return;
    if (K === 0) {
      if (!options.accumulate) this.zero(this.view(out, 0, M * N));
      return;
    }
    this.rec();
    this.k.half.matmul(out, x, w, M, N, K, options.accumulate === true);
  }
  matmulHalfWeightsBackward(dx: GpuViewF, dy: GpuViewF, w: GpuViewI, M: number, N: number, K: number, options: { accumulate?: boolean } = {}): void {
    checkHalfMatmulArgs(dx, dy, w, M, N, K, true);
    if (M === 0 || K === 0) return;
    if (N === 0) {
      if (!options.accumulate) this.zero(this.view(dx, 0, M * K));
      return;
    }
    this.rec();
    this.k.half.inputGrad(dx, dy, w, M, N, K, options.accumulate === true);
  }
  addBias(out: GpuViewF, bias: GpuViewF, M: number, N: number): void {
    dims('addBias', { M, N });
    need('addBias', 'out', out, M * N);
    need('addBias', 'bias', bias, N);
    this.k.bias.addBias(out, bias, M, N);
  }
  biasBackward(dBias: GpuViewF, dOut: GpuViewF, M: number, N: number): void {
    dims('biasBackward', { M, N });
    need('biasBackward', 'dBias', dBias, N);
    need('biasBackward', 'dOut', dOut, M * N);
    if (this.k.reduce) this.k.reduce.columnSums(dBias, dOut, M, N);
    else this.k.bias.biasBackward(dBias, dOut, M, N);
  }
  embeddingForward(out: GpuViewF, tokens: GpuViewI, table: GpuViewF, N: number, C: number): void {
    dims('embeddingForward', { N, C });
    need('embeddingForward', 'out', out, N * C);
    need('embeddingForward', 'tokens', tokens, N);
    this.k.embedding.forward(out, tokens, table, N, C);
  }
  embeddingBackward(dTable: GpuViewF, dOut: GpuViewF, tokens: GpuViewI, N: number, C: number, V: number): void {
    dims('embeddingBackward', { N, C, V });
    need('embeddingBackward', 'dTable', dTable, V * C);
    need('embeddingBackward', 'dOut', dOut, N * C);
    need('embeddingBackward', 'tokens', tokens, N);
    if (this.k.reduce) this.k.reduce.embeddingBackward(dTable, dOut, tokens, N, C, V);
    else this.k.embedding.backward(dTable, dOut, tokens, N, C, V);
  }
  rmsnormForward(out: GpuViewF, rstd: GpuViewF, x: GpuViewF, weight: GpuViewF, N: number, C: number, eps: number): void {
    dims('rmsnormForward', { N, C });
    need('rmsnormForward', 'out', out, N * C);
    need('rmsnormForward', 'rstd', rstd, N);
    need('rmsnormForward', 'x', x, N * C);
    need('rmsnormForward', 'weight', weight, C);
    this.k.rmsnorm.forward(out, rstd, x, weight, N, C, eps);
  }
  rmsnormBackward(dx: GpuViewF, dWeight: GpuViewF, dOut: GpuViewF, x: GpuViewF, weight: GpuViewF, rstd: GpuViewF, N: number, C: number): void {
    dims('rmsnormBackward', { N, C });
    for (const [name, v] of [['dx', dx], ['dOut', dOut], ['x', x]] as const) need('rmsnormBackward', name, v, N * C);
    need('rmsnormBackward', 'dWeight', dWeight, C);
    need('rmsnormBackward', 'weight', weight, C);
    need('rmsnormBackward', 'rstd', rstd, N);
    const reduce = this.k.reduce;
    this.k.rmsnorm.backward(dx, dWeight, dOut, x, weight, rstd, N, C, reduce ? (dw, dO, xx, r) => reduce.columnSums(dw, dO, N, C, { y: xx, r }) : undefined);
  }
  ropeForward(x: GpuViewF, positions: GpuViewI, B: number, T: number, Hn: number, D: number, theta: number): void {
    checkRopeArgs('ropeForward', x, positions, B, T, Hn, D);
    this.k.rope.forward(x, positions, B, T, Hn, D, theta);
  }
  ropeBackward(dx: GpuViewF, positions: GpuViewI, B: number, T: number, Hn: number, D: number, theta: number): void {
    checkRopeArgs('ropeBackward', dx, positions, B, T, Hn, D);
    this.k.rope.backward(dx, positions, B, T, Hn, D, theta);
  }
  attentionStateSize(d: AttentionDims): number {
    dims('attentionStateSize', { ...d });
    return this.k.attention.stateSize(d);
  }
  attentionForward(out: GpuViewF, att: GpuViewF, q: GpuViewF, k: GpuViewF, v: GpuViewF, keyMask: GpuViewF, d: AttentionDims): void {
    checkAttentionForwardArgs(out, att, q, k, v, keyMask, d, this.attentionStateSize(d));
    this.k.attention.forward(out, att, q, k, v, keyMask, d);
  }
  attentionBackward(dq: GpuViewF, dk: GpuViewF, dv: GpuViewF, dOut: GpuViewF, att: GpuViewF, q: GpuViewF, k: GpuViewF, v: GpuViewF, d: AttentionDims): void {
    checkAttentionBackwardArgs(dq, dk, dv, dOut, att, q, k, v, d, this.attentionStateSize(d));
    this.k.attention.backward(dq, dk, dv, dOut, att, q, k, v, d);
  }
  attentionDecode(out: GpuViewF, q: GpuViewF, kCache: GpuViewF, vCache: GpuViewF, keyMask: GpuViewF, B: number, S: number, H: number, Hkv: number, D: number): void {
    checkAttentionDecodeArgs(out, q, kCache, vCache, keyMask, B, S, H, Hkv, D);
    this.k.attention.decode(out, q, kCache, vCache, keyMask, B, S, H, Hkv, D);
  }
  cacheWrite(cache: GpuViewF, kv: GpuViewF, pos: GpuViewI, B: number, S: number, Hkv: number, D: number): void {
    dims('cacheWrite', { B, S, Hkv, D });
    need('cacheWrite', 'cache', cache, B * S * Hkv * D);
    need('cacheWrite', 'kv', kv, B * Hkv * D);
    need('cacheWrite', 'pos', pos, B);
    this.k.attention.cacheWrite(cache, kv, pos, B, S, Hkv, D);
  }
  swigluForward(out: GpuViewF, gate: GpuViewF, up: GpuViewF, N: number, I: number): void {
    dims('swigluForward', { N, I });
    for (const [name, x] of [['out', out], ['gate', gate], ['up', up]] as const) need('swigluForward', name, x, N * I);
    this.k.swiglu.forward(out, gate, up, N, I);
  }
  swigluBackward(dGate: GpuViewF, dUp: GpuViewF, dOut: GpuViewF, gate: GpuViewF, up: GpuViewF, N: number, I: number): void {
    dims('swigluBackward', { N, I });
    for (const [name, x] of [['dGate', dGate], ['dUp', dUp], ['dOut', dOut], ['gate', gate], ['up', up]] as const) {
      need('swigluBackward', name, x, N * I);
    }
    this.k.swiglu.backward(dGate, dUp, dOut, gate, up, N, I);
  }
  add(out: GpuViewF, a: GpuViewF, b: GpuViewF, n: number): void {
    dims('add', { n });
    for (const [name, x] of [['out', out], ['a', a], ['b', b]] as const) need('add', name, x, n);
    this.k.residual.add(out, a, b, n);
  }
  accumulate(out: GpuViewF, a: GpuViewF, n: number): void {
    dims('accumulate', { n });
    need('accumulate', 'out', out, n);
    need('accumulate', 'a', a, n);
    this.k.residual.accumulate(out, a, n);
  }

  // ---- objective ----------------------------------------------------------------------------------------
  logprobsForward(logprobs: GpuViewF, lse: GpuViewF, logits: GpuViewF, targets: GpuViewI, N: number, V: number): void {
    dims('logprobsForward', { N, V });
    need('logprobsForward', 'logprobs', logprobs, N);
    need('logprobsForward', 'lse', lse, N);
    need('logprobsForward', 'logits', logits, N * V);
    need('logprobsForward', 'targets', targets, N);
    this.k.logprobs.forward(logprobs, lse, logits, targets, N, V);
  }
  logprobsBackward(dLogits: GpuViewF, dLogprobs: GpuViewF, logits: GpuViewF, lse: GpuViewF, targets: GpuViewI, N: number, V: number): void {
    dims('logprobsBackward', { N, V });
    need('logprobsBackward', 'dLogits', dLogits, N * V);
    need('logprobsBackward', 'dLogprobs', dLogprobs, N);
    need('logprobsBackward', 'logits', logits, N * V);
    need('logprobsBackward', 'lse', lse, N);
    need('logprobsBackward', 'targets', targets, N);
    this.k.logprobs.backward(dLogits, dLogprobs, logits, lse, targets, N, V);
  }

  sampleTokens(choice: GpuViewF, next: GpuViewI, logits: GpuViewF, draws: GpuViewI, B: number, V: number, o: SamplerParams): void {
    dims('sampleTokens', { B, V });
    need('sampleTokens', 'choice', choice, 2 * B);
    need('sampleTokens', 'next', next, B);
    need('sampleTokens', 'logits', logits, B * V);
    need('sampleTokens', 'draws', draws, B);
    this.k.sample.sample(choice, next, logits, draws, B, V, o);
  }

  // ---- optimizer ----------------------------------------------------------------------------------------
  sumSquares(out: GpuViewF, x: GpuViewF, n: number): void {
    dims('sumSquares', { n });
    need('sumSquares', 'out', out, 1);
    need('sumSquares', 'x', x, n);
    if (this.k.reduce) this.k.reduce.sumSquares(out, x, n);
    else this.k.adamw.sumSquares(out, x, n);
  }
  adamw(params: GpuViewF, grads: GpuViewF, m: GpuViewF, v: GpuViewF, decay: GpuViewI, n: number, ranges: number, p: AdamWParams): void {
    dims('adamw', { n, ranges, step: p.step });
    for (const [name, x] of [['params', params], ['grads', grads], ['m', m], ['v', v]] as const) need('adamw', name, x, n);
    need('adamw', 'decay', decay, 2 * ranges);
    if (p.step < 1) throw new ShapeError(`adamw: step must be >= 1 (bias correction), got ${p.step}`);
    this.k.adamw.adamw(params, grads, m, v, decay, n, ranges, p);
  }
}
