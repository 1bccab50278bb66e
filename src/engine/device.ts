// The one module that owns the GPU device. It asks for only what the engine needs, returns null when
// WebGPU is missing (callers fall back to the CPU reference), surfaces device loss and uncaptured
// errors, and compiles each WGSL source once with readable compile errors.

export interface GpuInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A one-line label for logs and the UI, e.g. "google swiftshader (Subzero)". */
  label: string;
  /** the browser says this adapter is a software fallback (GPUAdapterInfo.isFallbackAdapter) */
  isFallbackAdapter: boolean;
}

export interface GpuContext {
  device: GPUDevice;
  adapterInfo: GpuInfo;
  features: ReadonlySet<string>;
  limits: GPUSupportedLimits;
  /** Resolves (never rejects) when the device is lost, with the reason. */
  lost: Promise<{ reason: string; message: string }>;
  /** set once the device is lost (the same value `lost` resolves to), for synchronous checks */
  readonly lostInfo: { reason: string; message: string } | null;
  /** Uncaptured errors (validation, internal) since the last call, removed from the context as taken. */
  takeUncapturedErrors(): GPUError[];
  /** Compiles (once per WGSL source and entry point) and returns a compute pipeline. */
  pipeline(source: string, entryPoint?: string, label?: string): Promise<GPUComputePipeline>;
  destroy(): void;
}

export class ShaderCompileError extends Error {
  override name = 'ShaderCompileError';
  constructor(
    message: string,
    readonly messages: readonly GPUCompilationMessage[],
    readonly source: string,
  ) {
    super(message);
  }
}

export class GpuUnavailableError extends Error {
  override name = 'GpuUnavailableError';
}

/** The GPU device was lost (driver reset, tab in the background too long, destroy()): its buffers are gone. */
export class GpuDeviceLostError extends Error {
  override name = 'GpuDeviceLostError';
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** Recorded GPU work failed WebGPU validation (a bug, or a limit the checks missed): its results are garbage. */
export class GpuValidationError extends Error {
  override name = 'GpuValidationError';
}

export interface RequestGpuOptions {
  /** The GPU object; defaults to navigator.gpu. Node passes the one made by the `webgpu` package. */
  gpu?: GPU | undefined;
  powerPreference?: GPUPowerPreference;
  /** Largest single buffer the caller plans to bind; the device is asked for at least this. */
  minStorageBufferBindingSize?: number;
  onUncapturedError?: (error: GPUError) => void;
}

function describeAdapter(info: GPUAdapterInfo | undefined, adapterFallback: boolean | undefined): GpuInfo {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const label =
    [vendor, architecture, description || device].filter((s) => s && s.length > 0).join(' ') || 'unknown adapter';
  const isFallbackAdapter = Boolean((info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? adapterFallback);
  return { vendor, architecture, device, description, label, isFallbackAdapter };
}

/** Numbers the lines of a WGSL source around the reported positions, for error messages. */
export function formatCompileMessages(source: string, messages: readonly GPUCompilationMessage[]): string {
  const lines = source.split('\n');
  return messages
    .map((m) => {
      const lineNo = m.lineNum;
      const context: string[] = [];
      for (let i = Math.max(1, lineNo - 2); i <= Math.min(lines.length, lineNo + 2); i++) {
        context.push(`${i === lineNo ? '>' : ' '} ${String(i).padStart(4)} | ${lines[i - 1]}`);
      }
      return `${m.type} at ${lineNo}:${m.linePos}: ${m.message}\n${context.join('\n')}`;
    })
    .join('\n');
}

/** Returns null when the environment has no WebGPU or no adapter; throws only on a broken device request. */
export async function requestGpu(options: RequestGpuOptions = {}): Promise<GpuContext | null> {
  const gpu = options.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) return null;
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  } catch {
    return null;
  }
  if (!adapter) return null;

  const wanted = options.minStorageBufferBindingSize ?? 0;
  const requiredLimits: Record<string, number> = {
    maxStorageBuffersPerShaderStage: Math.min(10, adapter.limits.maxStorageBuffersPerShaderStage),
    maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX,
  };
  // Ask for big bindings only when the caller needs them; some adapters get slower with huge limits.
  const bindingSize = Math.min(adapter.limits.maxStorageBufferBindingSize, Math.max(wanted, 128 * 1024 * 1024));
  requiredLimits.maxStorageBufferBindingSize = bindingSize;
  requiredLimits.maxBufferSize = Math.min(adapter.limits.maxBufferSize, Math.max(bindingSize, 256 * 1024 * 1024));
  if (wanted > adapter.limits.maxStorageBufferBindingSize) {
    throw new GpuUnavailableError(
      `adapter binds at most ${adapter.limits.maxStorageBufferBindingSize} bytes per buffer, ${wanted} needed`,
    );
  }
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');

  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'tabswarm' });
  const adapterInfo = describeAdapter(
    (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info, (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter,
  );
  // Kept for the ops to turn into a named error on their next call (a console line alone fails nobody).
  // Bounded: after a first error every later one is usually its echo ("invalid due to a previous error").
  const uncaptured: GPUError[] = [];
  device.addEventListener('uncapturederror', (event) => {
    const error = (event as GPUUncapturedErrorEvent).error;
    if (uncaptured.length < 16) uncaptured.push(error);
    if (options.onUncapturedError) options.onUncapturedError(error);
    else console.error(`[tabswarm gpu] uncaptured ${error.constructor.name}: ${error.message}`);
  });
  let lostInfo: { reason: string; message: string } | null = null;
  const lost = device.lost.then((info) => {
    lostInfo = { reason: String(info.reason), message: info.message };
    return lostInfo;
  });

  const cache = new Map<string, Promise<GPUComputePipeline>>();
  async function compile(source: string, entryPoint: string, label: string): Promise<GPUComputePipeline> {
    const module = device.createShaderModule({ code: source, label });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length > 0) {
      throw new ShaderCompileError(
        `WGSL compile failed for ${label}:\n${formatCompileMessages(source, errors)}`,
        errors,
        source,
      );
    }
    device.pushErrorScope('validation');
    const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint }, label });
    const error = await device.popErrorScope();
    if (error) throw new ShaderCompileError(`pipeline ${label}: ${error.message}`, [], source);
    return pipeline;
  }

  return {
    device,
    adapterInfo,
    features: new Set(device.features as unknown as Iterable<string>),
    limits: device.limits,
    lost,
    get lostInfo() {
      return lostInfo;
    },
    takeUncapturedErrors() {
      return uncaptured.splice(0, uncaptured.length);
    },
    pipeline(source, entryPoint = 'main', label = entryPoint) {
      const key = `${entryPoint}\u0000${source}`;
      let p = cache.get(key);
      if (!p) {
        p = compile(source, entryPoint, label);
        cache.set(key, p);
        p.catch(() => cache.delete(key));
      }
      return p;
    },
    destroy() {
      cache.clear();
      device.destroy();
    },
  };
}
