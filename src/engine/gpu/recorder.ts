// Records the engine's GPU work: one command encoder and one open compute pass that every op appends a
// dispatch to, a ring of uniform slots (one per dispatch, uploaded in one write at flush), deferred buffer
// destruction, and readback. Ops record synchronously; nothing reaches the GPU until flush().

import type { GpuContext } from '../device.ts';
import type { GpuF32, GpuI32 } from '../buffers.ts';
import type { View } from '../ops.ts';
import { Profiler } from './profiler.ts';

/** A compiled compute kernel: binding 0 is its uniform block, bindings 1..n its storage buffers in order. */
export interface Kernel {
  readonly name: string;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  /** storage bindings the source declares `read`: they may overlap one another (WebGPU forbids overlap only with writable ones) */
  readonly readOnly: ReadonlySet<number>;
  /**
   * WebGPU refuses a buffer bound read-only and writable in the same dispatch (whatever the ranges), and the
   * engine keeps many tensors in one buffer per role. So a kernel with `read` bindings also compiles with
   * some of them `read_write`: key = the demoted binding numbers, sorted, joined by ','. The recorder picks
   * the variant that demotes exactly the read bindings that share a buffer with a writable one. Variants are
   * compiled on first use (most are never needed, and compiling is most of a cold start on a CPU adapter).
   */
  readonly variants: Map<string, Kernel>;
  /** true: one variant per subset of read bindings; false: only all-read and all-read_write */
  readonly perBinding: boolean;
  /** the WGSL and entry point a variant is compiled from */
  readonly source: string;
  readonly entryPoint: string;
}

const READ_BINDING = /@binding\((\d+)\)\s*var<storage,\s*read>/g;

function demote(source: string, bindings: readonly number[]): string {
  return source.replace(READ_BINDING, (m, n: string) => (bindings.includes(Number(n)) ? m.replace(/read>$/, 'read_write>') : m));
}

function readBindings(source: string): Set<number> {
  return new Set([...source.matchAll(READ_BINDING)].map((m) => Number(m[1])));
}

/**
 * A kernel compiled on its first dispatch, synchronously, instead of up front: for kernels an engine may
 * never run (sampling's, the f16 base's, a family's fallbacks), since compiling is most of a cold start on
 * a CPU adapter. A WGSL error would then surface as an uncaptured validation error that checkFaults()
 * names, not as a ShaderCompileError at creation: every kernel is compiled by the op tests on every adapter.
 */
export function lazyKernel(gpu: GpuContext, source: string, entryPoint: string, name: string, perBinding = false): Kernel {
  let pipeline: GPUComputePipeline | null = null, layout: GPUBindGroupLayout | null = null;
  const compiled = () => {
    if (!pipeline) {
      const module = gpu.device.createShaderModule({ code: source, label: name });
      pipeline = gpu.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint }, label: name });
      layout = pipeline.getBindGroupLayout(0);
    }
    return { pipeline, layout: layout! };
  };
  return {
    name, readOnly: readBindings(source), variants: new Map(), perBinding, source, entryPoint,
    get pipeline() {
      return compiled().pipeline;
    },
    get layout() {
      return compiled().layout;
    },
  };
}

/** perBinding: a variant per subset of demoted read bindings (for kernels with 2 or 3 of them, like matmul). */
export async function compileKernel(gpu: GpuContext, source: string, entryPoint: string, name: string, perBinding = false): Promise<Kernel> {
  const pipeline = await gpu.pipeline(source, entryPoint, name);
  return { name, pipeline, layout: pipeline.getBindGroupLayout(0), readOnly: readBindings(source), variants: new Map(), perBinding, source, entryPoint };
}

/**
 * The variant of `base` with `bindings` demoted to read_write, compiled synchronously on first use: its
 * source differs from the base's (which compiled) only in access modes, so it cannot fail to compile; a
 * failure would still surface, as an uncaptured validation error that checkFaults() names.
 */
function compileVariant(device: GPUDevice, base: Kernel, bindings: readonly number[]): Kernel {
  const source = demote(base.source, bindings);
  const name = `${base.name}.rw${bindings.join('_')}`;
  const module = device.createShaderModule({ code: source, label: name });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: base.entryPoint }, label: name });
  return { name, pipeline, layout: pipeline.getBindGroupLayout(0), readOnly: readBindings(source), variants: new Map(), perBinding: base.perBinding, source, entryPoint: base.entryPoint };
}

/**
 * A storage binding: a view (read, or written when `write`), a whole internal buffer (scratch), or null for
 * a binding slot the entry point does not use.
 */
export type Binding = { view: View<GpuF32 | GpuI32>; write: boolean } | GPUBuffer | null;
export const rd = (view: View<GpuF32 | GpuI32>): Binding => ({ view, write: false });
export const wr = (view: View<GpuF32 | GpuI32>): Binding => ({ view, write: true });

/** The u32 bit pattern of an f32, so floats travel in the same u32 uniform block as dims. */
const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
export function f32bits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0];
}

/** Default workgroup width of 1D kernels; they fold (x, y) workgroup ids into one index via num_workgroups. */
export const FLAT_WORKGROUP = 256;

const SLOT_WORDS = 64; // 256 bytes of u32 uniforms per dispatch, far more than any kernel needs
const CHUNK_SLOTS = 256;

interface UniformChunk {
  buffer: GPUBuffer;
  data: Uint32Array<ArrayBuffer>;
}

export class Recorder {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly chunks: UniformChunk[] = [];
  private slot = 0; // next free slot across chunks, reset at flush
  private readonly slotStride: number; // in u32 words
  private readonly maxGroups: number;
  private readonly storageAlign: number;
  private doomed: GPUBuffer[] = [];
  /** set by startProfiling: every dispatch then gets its own timestamped pass */
  profiler: Profiler | null = null;
  /** work recorded since creation, for benchmarks and tests: dispatches, compute passes, alias copies, submits, readbacks */
  readonly counts = { dispatches: 0, passes: 0, aliasCopies: 0, submits: 0, reads: 0, readBytes: 0 };
  /** alias copies by kernel name: where a layout still lets a writable binding overlap another */
  readonly aliasCopiesByKernel = new Map<string, number>();

  constructor(readonly device: GPUDevice) {
    this.slotStride = Math.max(SLOT_WORDS, device.limits.minUniformBufferOffsetAlignment / 4);
    this.maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
    this.storageAlign = device.limits.minStorageBufferOffsetAlignment;
  }

  private getEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'tabswarm.ops' });
    return this.encoder;
  }

  private getPass(): GPUComputePassEncoder {
    if (!this.pass) {
      this.pass = this.getEncoder().beginComputePass({ label: 'tabswarm.ops' });
      this.counts.passes++;
    }
    return this.pass;
  }

  /** Ends the open compute pass so copies and clears can be recorded between dispatches. */
  private encoderOutsidePass(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    return this.getEncoder();
  }

  private uniformSlot(params: ArrayLike<number>): { buffer: GPUBuffer; offset: number } {
    if (params.length > SLOT_WORDS) throw new Error(`uniform block of ${params.length} words exceeds ${SLOT_WORDS}`);
    const chunkIndex = Math.floor(this.slot / CHUNK_SLOTS);
    if (chunkIndex === this.chunks.length) {
      const words = this.slotStride * CHUNK_SLOTS;
      this.chunks.push({
        buffer: this.device.createBuffer({
          label: `tabswarm.uniforms.${chunkIndex}`,
          size: words * 4,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        }),
        data: new Uint32Array(words),
      });
    }
    const chunk = this.chunks[chunkIndex];
    const word = (this.slot % CHUNK_SLOTS) * this.slotStride;
    for (let i = 0; i < params.length; i++) chunk.data[word + i] = params[i];
    this.slot++;
    return { buffer: chunk.buffer, offset: word * 4 };
  }

  /**
   * Records one dispatch of `kernel` over (gx, gy, gz) workgroups. Storage bindings are bound as tight
   * ranges (offset rounded down to the 256-byte storage alignment) and `params` receives each binding's
   * element offset relative to its range. WebGPU forbids a writable binding overlapping any other binding of
   * the same buffer; a binding that would overlap one bound before it goes through a temporary copy
   * (copied in before the dispatch, and back after it when written). A layout that starts tensors on
   * 64-element boundaries never needs that.
   */
  dispatch(kernel: Kernel, bindings: readonly Binding[], params: (offsets: number[]) => ArrayLike<number>, gx: number, gy = 1, gz = 1): void {
    if (gx === 0 || gy === 0 || gz === 0) return;
    kernel = this.variantFor(kernel, bindings);
    if (gx > this.maxGroups || gy > this.maxGroups || gz > this.maxGroups) {
      throw new Error(`${kernel.name}: dispatch (${gx},${gy},${gz}) exceeds ${this.maxGroups} workgroups per dimension`);
    }
    const entries: GPUBindGroupEntry[] = [];
    const offsets: number[] = [];
    const bound: { buffer: GPUBuffer; start: number; end: number; readOnly: boolean }[] = [];
    const copyBack: { tmp: GPUBuffer; buffer: GPUBuffer; at: number; bytes: number }[] = [];
    for (let i = 0; i < bindings.length; i++) {
      const b = bindings[i];
      offsets.push(0);
      // null leaves a binding out: an entry point that does not use it has no such slot in its 'auto' layout
      if (b === null) continue;
      if (!('view' in b)) {
        entries.push({ binding: i + 1, resource: { buffer: b } });
        continue;
      }
      const buffer = b.view.buffer.gpu;
      const start = b.view.offset * 4;
      // ends rounded up to 16 bytes so a vec4 binding reaches the view's last element (buffers are 16-byte sized)
      const end = Math.min(buffer.size, Math.ceil((start + Math.max(1, b.view.length) * 4) / 16) * 16);
      const bindStart = Math.floor(start / this.storageAlign) * this.storageAlign;
      const readOnly = kernel.readOnly.has(i + 1);
      if (bound.some((r) => r.buffer === buffer && r.start < end && bindStart < r.end && !(readOnly && r.readOnly))) {
        const tmp = this.device.createBuffer({
          label: `${kernel.name}.alias`,
          size: Math.ceil((end - start) / 16) * 16,
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        });
        this.copy(buffer, start, tmp, 0, end - start);
        this.counts.aliasCopies++;
        this.aliasCopiesByKernel.set(kernel.name, (this.aliasCopiesByKernel.get(kernel.name) ?? 0) + 1);
        if (b.write) copyBack.push({ tmp, buffer, at: start, bytes: end - start });
        this.destroyLater(tmp);
        // the whole (16-byte sized) copy: a vec4 binding needs at least 16 bytes
        entries.push({ binding: i + 1, resource: { buffer: tmp, offset: 0, size: tmp.size } });
        continue;
      }
      bound.push({ buffer, start: bindStart, end, readOnly });
      entries.push({ binding: i + 1, resource: { buffer, offset: bindStart, size: end - bindStart } });
      offsets[i] = b.view.offset - bindStart / 4;
    }
    const uniform = this.uniformSlot(params(offsets));
    entries.push({ binding: 0, resource: { buffer: uniform.buffer, offset: uniform.offset, size: SLOT_WORDS * 4 } });
    const bindGroup = this.device.createBindGroup({ layout: kernel.layout, entries, label: kernel.name });
    let pass: GPUComputePassEncoder;
    if (this.profiler) {
      if (this.profiler.full) this.flush();
      pass = this.encoderOutsidePass().beginComputePass(this.profiler.passFor(kernel.name));
      this.counts.passes++;
    } else {
      pass = this.getPass();
    }
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(gx, gy, gz);
    if (this.profiler) pass.end();
    this.counts.dispatches++;
    for (const c of copyBack) this.copy(c.tmp, 0, c.buffer, c.at, c.bytes);
  }

  /** The variant of `kernel` whose read-only bindings share no buffer with a writable one (see Kernel.variants). */
  private variantFor(kernel: Kernel, bindings: readonly Binding[]): Kernel {
    if (kernel.readOnly.size === 0) return kernel;
    const bufferOf = (b: Binding): GPUBuffer | null => (b === null ? null : 'view' in b ? b.view.buffer.gpu : b);
    const written = new Set<GPUBuffer>();
    bindings.forEach((b, i) => {
      // any buffer in a read_write slot (written or not) is a writable usage
      const buf = bufferOf(b);
      if (buf && !kernel.readOnly.has(i + 1)) written.add(buf);
    });
    const demoted: number[] = [];
    bindings.forEach((b, i) => {
      const buf = bufferOf(b);
      if (buf && kernel.readOnly.has(i + 1) && written.has(buf)) demoted.push(i + 1);
    });
    if (demoted.length === 0) return kernel;
    const rw = kernel.perBinding ? demoted : [...kernel.readOnly].sort((x, y) => x - y);
    const key = rw.join(',');
    let variant = kernel.variants.get(key);
    if (!variant) {
      variant = compileVariant(this.device, kernel, rw);
      kernel.variants.set(key, variant);
    }
    return variant;
  }

  /**
   * Dispatches `threads` invocations of a 1D kernel whose workgroups are `workgroupSize` wide, folding the
   * workgroups into (x, y) past the per-dimension limit (kernels rebuild the index from num_workgroups).
   */
  dispatchFlat(kernel: Kernel, bindings: readonly Binding[], params: (offsets: number[]) => ArrayLike<number>, threads: number, workgroupSize = FLAT_WORKGROUP): void {
    this.dispatchGroups(kernel, bindings, params, Math.ceil(threads / workgroupSize));
  }

  /** Dispatches `groups` workgroups (one per row for row kernels), folded into (x, y) like dispatchFlat. */
  dispatchGroups(kernel: Kernel, bindings: readonly Binding[], params: (offsets: number[]) => ArrayLike<number>, groups: number): void {
    if (groups === 0) return;
    const gx = Math.min(groups, this.maxGroups);
    this.dispatch(kernel, bindings, params, gx, Math.ceil(groups / gx));
  }

  clear(buffer: GPUBuffer, byteOffset: number, byteLength: number): void {
    if (byteLength > 0) this.encoderOutsidePass().clearBuffer(buffer, byteOffset, byteLength);
  }

  copy(src: GPUBuffer, srcByteOffset: number, dst: GPUBuffer, dstByteOffset: number, byteLength: number): void {
    if (byteLength > 0) this.encoderOutsidePass().copyBufferToBuffer(src, srcByteOffset, dst, dstByteOffset, byteLength);
  }

  /** Destroys `buffer` once the work recorded so far has been submitted. */
  destroyLater(buffer: GPUBuffer): void {
    this.doomed.push(buffer);
  }

  /** Uploads this batch's uniforms and submits everything recorded. */
  flush(): void {
    if (this.encoder) {
      if (this.pass) {
        this.pass.end();
        this.pass = null;
      }
      // queue.writeBuffer is ordered after earlier submits and before this one, so reusing slots is safe.
      const usedChunks = Math.ceil(this.slot / CHUNK_SLOTS);
      for (let c = 0; c < usedChunks; c++) {
        const slots = c === usedChunks - 1 ? this.slot - c * CHUNK_SLOTS : CHUNK_SLOTS;
        this.device.queue.writeBuffer(this.chunks[c].buffer, 0, this.chunks[c].data, 0, slots * this.slotStride);
      }
      const collect = this.profiler?.resolve(this.encoder);
      this.device.queue.submit([this.encoder.finish()]);
      this.counts.submits++;
      collect?.();
      this.encoder = null;
      this.slot = 0;
    }
    for (const b of this.doomed) b.destroy();
    this.doomed = [];
  }

  /** Submits pending work, then copies `byteLength` bytes at `byteOffset` back to the CPU. */
  async read(buffer: GPUBuffer, byteOffset: number, byteLength: number): Promise<ArrayBuffer> {
    const size = Math.max(4, byteLength);
    this.counts.reads++;
    this.counts.readBytes += byteLength;
    const staging = this.device.createBuffer({ label: 'tabswarm.readback', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.copy(buffer, byteOffset, staging, 0, byteLength);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
      return staging.getMappedRange(0, byteLength).slice(0);
    } finally {
      staging.destroy();
    }
  }

  /** Times every later dispatch by kernel name (needs the timestamp-query feature); false when unavailable. */
  startProfiling(): boolean {
    if (!this.device.features.has('timestamp-query')) return false;
    this.flush();
    this.profiler ??= new Profiler(this.device);
    return true;
  }

  destroy(): void {
    this.profiler?.destroy();
    this.profiler = null;
    this.pass?.end();
    this.pass = null;
    this.encoder = null;
    for (const b of this.doomed) b.destroy();
    this.doomed = [];
    for (const c of this.chunks) c.buffer.destroy();
    this.chunks.length = 0;
  }
}
