// The CPU engine's matmuls. matmulInto runs the WebAssembly SIMD kernels of matmul.wat where the module loads
// (matmul-wasm.ts) and these plain-JS ones otherwise; both compute the same sums in the same order, bit for bit.
// Plain-JS matmuls for the CPU reference: a register-blocked dot-product kernel when b is used transposed
// (y = x Wᵀ, every forward projection) and a register-blocked rank-4 update kernel when b is row-major
// (dx = dy W and dW = dyᵀ x in backward). Inner loops walk memory contiguously and allocate nothing: the RL
// core trains small models on this path, so it has to be reasonably fast, not just correct.

import { nnWasm, ntWasm } from './matmul-wasm.ts';

/** CPU reference: out(M,N) = a(M,K) @ b(K,N), row-major. Kept for the GPU matmul check. */
export function matmulCpu(out: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number): void {
  matmulInto(out, 0, a, 0, b, 0, M, N, K, false, false, false);
}

/**
 * out[oo..](M,N) (+)= op(a[ao..]) op(b[bo..]); a (M,K) or stored (K,M) when transA; b (K,N) or stored (N,K)
 * when transB. Offsets are element offsets into the given arrays. `kernels: 'js'` keeps to the plain-JS
 * kernels (the wasm ones are checked against them); by default calls of WASM_MIN_PRODUCTS products or more
 * run on the wasm kernels where they are available. Either way the result is the same, bit for bit.
 */
export function matmulInto(
  out: Float32Array, oo: number,
  a: Float32Array, ao: number,
  b: Float32Array, bo: number,
  M: number, N: number, K: number,
  transA: boolean, transB: boolean, accumulate: boolean,
  kernels: 'auto' | 'js' = 'auto',
): void {
  if (!accumulate) out.fill(0, oo, oo + M * N);
  if (M === 0 || N === 0 || K === 0) return;
  if (kernels === 'auto' && M * N * K >= WASM_MIN_PRODUCTS) {
    if (transB) {
      if (ntWasm(out, oo, transA ? transposeInto(a, ao, K, M) : a, transA ? 0 : ao, b, bo, M, N, K)) return;
    } else if (nnWasm(out, oo, a, ao, transA ? 1 : K, transA ? M : 1, b, bo, M, N, K)) return;
  }
  if (transB) {
    if (!transA) return nt(out, oo, a, ao, b, bo, M, N, K);
    // both transposed (no layer needs it): make a row-major, then the dot-product kernel
    return nt(out, oo, transposeInto(a, ao, K, M), 0, b, bo, M, N, K);
  }
  // b is (K,N) row-major: rank-4 updates of output rows, a read with strides (transposed or not)
  return nn(out, oo, a, ao, transA ? 1 : K, transA ? M : 1, b, bo, M, N, K);
}

// below this many products the copies in and out of the module's memory cost more than the kernel saves
const WASM_MIN_PRODUCTS = 4096;

let scratch = new Float32Array(0);

/** (rows, cols) at src[so..] -> (cols, rows) in a reused scratch buffer */
function transposeInto(src: Float32Array, so: number, rows: number, cols: number): Float32Array {
  if (scratch.length < rows * cols) scratch = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) scratch[c * rows + r] = src[so + r * cols + c];
  return scratch;
}

/**
 * out(i,:) += sum_k a(i,k) b(k,:) with a(i,k) = a[ao + i*si + k*sk]. Four output rows and four k at a time:
 * each loaded element of b feeds four rows, and each output element is loaded and stored once per four k,
 * which is what makes this faster than transposing b for the dot-product kernel (measured: 1.2-2.6x).
 */
function nn(
  out: Float32Array, oo: number, a: Float32Array, ao: number, si: number, sk: number,
  b: Float32Array, bo: number, M: number, N: number, K: number,
): void {
  const M4 = M - (M % 4), K4 = K - (K % 4);
  for (let i = 0; i < M4; i += 4) {
    const o0 = oo + i * N, o1 = o0 + N, o2 = o1 + N, o3 = o2 + N;
    const r0 = ao + i * si, r1 = r0 + si, r2 = r1 + si, r3 = r2 + si;
    for (let k = 0; k < K4; k += 4) {
      const c0 = k * sk, c1 = c0 + sk, c2 = c1 + sk, c3 = c2 + sk;
      const a00 = a[r0 + c0], a01 = a[r0 + c1], a02 = a[r0 + c2], a03 = a[r0 + c3];
      const a10 = a[r1 + c0], a11 = a[r1 + c1], a12 = a[r1 + c2], a13 = a[r1 + c3];
      const a20 = a[r2 + c0], a21 = a[r2 + c1], a22 = a[r2 + c2], a23 = a[r2 + c3];
      const a30 = a[r3 + c0], a31 = a[r3 + c1], a32 = a[r3 + c2], a33 = a[r3 + c3];
      const b0 = bo + k * N, b1 = b0 + N, b2 = b1 + N, b3 = b2 + N;
      for (let j = 0; j < N; j++) {
        const x0 = b[b0 + j], x1 = b[b1 + j], x2 = b[b2 + j], x3 = b[b3 + j];
        out[o0 + j] += a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3;
        out[o1 + j] += a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3;
        out[o2 + j] += a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3;
        out[o3 + j] += a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3;
      }
    }
    for (let k = K4; k < K; k++) {
      const c = k * sk, a0 = a[r0 + c], a1 = a[r1 + c], a2 = a[r2 + c], a3 = a[r3 + c];
      const rb = bo + k * N;
      for (let j = 0; j < N; j++) {
        const x = b[rb + j];
        out[o0 + j] += a0 * x;
        out[o1 + j] += a1 * x;
        out[o2 + j] += a2 * x;
        out[o3 + j] += a3 * x;
      }
    }
  }
  for (let i = M4; i < M; i++) {
    const ro = oo + i * N, ra = ao + i * si;
    for (let k = 0; k < K; k++) {
      const x = a[ra + k * sk];
      const rb = bo + k * N;
      for (let j = 0; j < N; j++) out[ro + j] += x * b[rb + j];
    }
  }
}

// y = x Wᵀ: out(i,j) += dot(a(i,:), b(j,:)), both rows contiguous. A 4x4 block of outputs at a time, so each
// loaded element of a feeds four products and each of b four (the 2x4 block before it fed b only two: per
// product 0.5 loads instead of 0.75; measured 1.1-1.5x on the default model's shapes, scripts/bench/cpu-engine.ts).
// Every sum runs in doubles over k in ascending order and rounds once, whatever the block: an output's value
// does not depend on its row's neighbours (a finished decode row, a padded row) nor on the blocking.
function nt(out: Float32Array, oo: number, a: Float32Array, ao: number, b: Float32Array, bo: number, M: number, N: number, K: number): void {
  const N4 = N - (N % 4);
  let i = 0;
  for (; i + 3 < M; i += 4) {
    const ra = ao + i * K, rb = ra + K, rc = rb + K, rd = rc + K;
    const o0 = oo + i * N, o1 = o0 + N, o2 = o1 + N, o3 = o2 + N;
    let j = 0;
    for (; j < N4; j += 4) {
      const r0 = bo + j * K, r1 = r0 + K, r2 = r1 + K, r3 = r2 + K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
      let u0 = 0, u1 = 0, u2 = 0, u3 = 0, v0 = 0, v1 = 0, v2 = 0, v3 = 0;
      for (let k = 0; k < K; k++) {
        const b0 = b[r0 + k], b1 = b[r1 + k], b2 = b[r2 + k], b3 = b[r3 + k];
        const x = a[ra + k];
        s0 += x * b0; s1 += x * b1; s2 += x * b2; s3 += x * b3;
        const y = a[rb + k];
        t0 += y * b0; t1 += y * b1; t2 += y * b2; t3 += y * b3;
        const z = a[rc + k];
        u0 += z * b0; u1 += z * b1; u2 += z * b2; u3 += z * b3;
        const w = a[rd + k];
        v0 += w * b0; v1 += w * b1; v2 += w * b2; v3 += w * b3;
      }
      out[o0 + j] += s0; out[o0 + j + 1] += s1; out[o0 + j + 2] += s2; out[o0 + j + 3] += s3;
      out[o1 + j] += t0; out[o1 + j + 1] += t1; out[o1 + j + 2] += t2; out[o1 + j + 3] += t3;
      out[o2 + j] += u0; out[o2 + j + 1] += u1; out[o2 + j + 2] += u2; out[o2 + j + 3] += u3;
      out[o3 + j] += v0; out[o3 + j + 1] += v1; out[o3 + j + 2] += v2; out[o3 + j + 3] += v3;
    }
    for (; j < N; j++) {
      const r0 = bo + j * K;
      let s = 0, t = 0, u = 0, v = 0;
      for (let k = 0; k < K; k++) {
        const x = b[r0 + k];
        s += a[ra + k] * x; t += a[rb + k] * x; u += a[rc + k] * x; v += a[rd + k] * x;
      }
      out[o0 + j] += s; out[o1 + j] += t; out[o2 + j] += u; out[o3 + j] += v;
    }
  }
  // the last M % 4 rows (M = 1 is a single decode row): 1x4 blocks
  for (; i < M; i++) {
    const ra = ao + i * K, ro = oo + i * N;
    let j = 0;
    for (; j < N4; j += 4) {
      const r0 = bo + j * K, r1 = r0 + K, r2 = r1 + K, r3 = r2 + K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < K; k++) {
        const x = a[ra + k];
        s0 += x * b[r0 + k]; s1 += x * b[r1 + k]; s2 += x * b[r2 + k]; s3 += x * b[r3 + k];
      }
      out[ro + j] += s0; out[ro + j + 1] += s1; out[ro + j + 2] += s2; out[ro + j + 3] += s3;
    }
    for (; j < N; j++) {
      const rb = bo + j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[ra + k] * b[rb + k];
      out[ro + j] += s;
    }
  }
}
