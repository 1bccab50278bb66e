// The WebAssembly SIMD matmul kernels (matmul.wat) behind matmulInto: operands are copied into the module's
// memory, the kernel runs, the result is copied back. They compute the very sums of the JS kernels in the same
// order and round at the same points, so which one runs never changes a bit of any result; where the module
// cannot be compiled (no WebAssembly, no SIMD, a page that forbids compiling) the JS kernels run instead.
import { MATMUL_WASM_BASE64 } from './matmul-wasm-bytes.ts';

interface Exports {
  memory: WebAssembly.Memory;
  nt(out: number, a: number, p: number, M: number, N: number, K: number): void;
  pack_nt(b: number, p: number, N: number, K: number): void;
  nn(out: number, a: number, si: number, sk: number, b: number, M: number, N: number, K: number, s: number): void;
}

let kernels: Exports | null | undefined;
let loadError = '';
let heap = new Float32Array(0);

function load(): Exports | null {
  if (kernels !== undefined) return kernels;
  try {
    const bytes = Uint8Array.from(atob(MATMUL_WASM_BASE64), (c) => c.charCodeAt(0));
    // 2.3 kB: under the 4 kB a browser's main thread may compile synchronously
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    kernels = instance.exports as unknown as Exports;
  } catch (e) {
    loadError = e instanceof Error ? e.message : String(e);
    kernels = null;
  }
  return kernels;
}

/** Which kernels matmulInto runs here: 'wasm-simd', or 'js' with the reason the module did not load. */
export function matmulKernel(): { kind: 'wasm-simd' | 'js'; reason?: string } {
  return load() ? { kind: 'wasm-simd' } : { kind: 'js', reason: loadError };
}

const align = (bytes: number) => (bytes + 15) & ~15;

// the module's memory keeps its largest size (WebAssembly memory never shrinks): a call needing more than
// this runs on the JS kernels instead, so a large model's matmul cannot pin a second copy of huge operands
const MAX_HEAP_BYTES = 64 * 2 ** 20;

/** The module's memory as f32, grown to hold at least `bytes`; null (the JS kernels run) when it cannot grow. */
function reserve(k: Exports, bytes: number): Float32Array | null {
  const have = k.memory.buffer.byteLength;
  if (have < bytes) {
    if (bytes > MAX_HEAP_BYTES) return null;
    try {
      k.memory.grow(Math.ceil((bytes - have) / 65536));
    } catch {
      return null; // out of memory for the copy: the JS kernels need none
    }
  }
  if (heap.buffer !== k.memory.buffer) heap = new Float32Array(k.memory.buffer);
  return heap;
}

/**
 * out[oo..](M,N) += a[ao..](M,K) b[bo..](N,K)ᵀ, as matmul.ts `nt` computes it. Returns false (and does
 * nothing) when the module is not available or the operands would not fit its memory.
 */
export function ntWasm(
  out: Float32Array, oo: number, a: Float32Array, ao: number, b: Float32Array, bo: number, M: number, N: number, K: number,
): boolean {
  const k = load();
  if (!k) return false;
  const pOut = 0, pA = align(pOut + 4 * M * N), pB = align(pA + 4 * M * K), pP = align(pB + 4 * N * K);
  const h = reserve(k, pP + 32 * K * Math.ceil(N / 4));
  if (!h) return false;
  h.set(out.subarray(oo, oo + M * N), pOut / 4);
  h.set(a.subarray(ao, ao + M * K), pA / 4);
  h.set(b.subarray(bo, bo + N * K), pB / 4);
  k.pack_nt(pB, pP, N, K);
  k.nt(pOut, pA, pP, M, N, K);
  out.set(h.subarray(pOut / 4, pOut / 4 + M * N), oo);
  return true;
}

/**
 * out[oo..](M,N) += sum_k a(i,k) b[bo..](k,:) with a(i,k) = a[ao + i si + k sk] (a spans M K elements), as
 * matmul.ts `nn` computes it. Returns false (and does nothing) when the module is not available or the
 * operands would not fit its memory.
 */
export function nnWasm(
  out: Float32Array, oo: number, a: Float32Array, ao: number, si: number, sk: number,
  b: Float32Array, bo: number, M: number, N: number, K: number,
): boolean {
  const k = load();
  if (!k) return false;
  const pOut = 0, pA = align(pOut + 4 * M * N), pB = align(pA + 4 * M * K), pS = align(pB + 4 * K * N);
  const h = reserve(k, pS + 256);
  if (!h) return false;
  h.set(out.subarray(oo, oo + M * N), pOut / 4);
  h.set(a.subarray(ao, ao + M * K), pA / 4);
  h.set(b.subarray(bo, bo + K * N), pB / 4);
  k.nn(pOut, pA, si, sk, pB, M, N, K, pS);
  out.set(h.subarray(pOut / 4, pOut / 4 + M * N), oo);
  return true;
}
