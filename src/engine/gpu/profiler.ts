// GPU time per kernel, from timestamp queries: when a Recorder profiles, every dispatch runs in its own
// compute pass whose beginning and end are timestamped. For benchmarks (what limits a training step), not
// for production: one pass per dispatch costs some speed itself.

const CAPACITY = 2048; // dispatches per submit; the recorder submits early when a batch would exceed it

export interface KernelTime {
  name: string;
  ms: number;
  count: number;
}

export class Profiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  private names: string[] = [];
  private readonly totals = new Map<string, { ns: number; count: number }>();
  private pending: Promise<void>[] = [];

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * CAPACITY, label: 'tabswarm.profile' });
    this.resolveBuffer = device.createBuffer({
      label: 'tabswarm.profile.resolve',
      size: 2 * CAPACITY * 8,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  get full(): boolean {
    return this.names.length >= CAPACITY;
  }

  /** The pass descriptor for the next dispatch, named after its kernel. */
  passFor(name: string): GPUComputePassDescriptor {
    const i = this.names.length;
    this.names.push(name);
    return { label: name, timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } };
  }

  /** Records the copy-out of this batch's timestamps; call `collect` with the result after submitting. */
  resolve(encoder: GPUCommandEncoder): (() => void) | null {
    const count = this.names.length;
    if (count === 0) return null;
    const names = this.names;
    this.names = [];
    const readback = this.device.createBuffer({ size: count * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, 2 * count, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, readback, 0, count * 16);
    return () => {
      this.pending.push(
        readback.mapAsync(GPUMapMode.READ).then(() => {
          const t = new BigInt64Array(readback.getMappedRange());
          for (let i = 0; i < count; i++) {
            const entry = this.totals.get(names[i]) ?? { ns: 0, count: 0 };
            entry.ns += Math.max(0, Number(t[2 * i + 1] - t[2 * i]));
            entry.count++;
            this.totals.set(names[i], entry);
          }
          readback.destroy();
        }),
      );
    };
  }

  /** Totals per kernel so far, slowest first (waits for outstanding readbacks). */
  async results(): Promise<KernelTime[]> {
    await Promise.all(this.pending);
    this.pending = [];
    return [...this.totals].map(([name, t]) => ({ name, ms: t.ns / 1e6, count: t.count })).sort((a, b) => b.ms - a.ms);
  }

  reset(): void {
    this.totals.clear();
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
  }
}
