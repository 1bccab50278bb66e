// Plain-JS matmuls for the CPU reference. Four loop orders, one per transpose case, each chosen so the inner
// loop walks memory contiguously and allocates nothing: the RL core trains small models on this path, so it
// has to be reasonably fast, not just correct.

/** CPU reference: out(M,N) = a(M,K) @ b(K,N), row-major. Kept for the GPU matmul check. */
export function matmulCpu(out: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number): void {
  matmulInto(out, 0, a, 0, b, 0, M, N, K, false, false, false);
}

/**
 * out[oo..](M,N) (+)= op(a[ao..]) op(b[bo..]); a (M,K) or stored (K,M) when transA; b (K,N) or stored (N,K)
 * when transB. Offsets are element offsets into the given arrays.
 */
export function matmulInto(
  out: Float32Array, oo: number,
  a: Float32Array, ao: number,
  b: Float32Array, bo: number,
  M: number, N: number, K: number,
  transA: boolean, transB: boolean, accumulate: boolean,
): void {
  if (!accumulate) out.fill(0, oo, oo + M * N);
  if (M === 0 || N === 0 || K === 0) return;
  // The dot-product kernel (both operands row-contiguous along K) is by far the fastest loop in JS, so
  // the other cases transpose into scratch first: O(MK + NK) extra work against O(MNK).
  let A = a, Ao = ao, B = b, Bo = bo;
  if (transA) {
    A = transposeInto(0, a, ao, K, M);
    Ao = 0;
  }
  if (!transB) {
    B = transposeInto(1, b, bo, K, N);
    Bo = 0;
  }
  nt(out, oo, A, Ao, B, Bo, M, N, K);
}

const scratch: Float32Array[] = [new Float32Array(0), new Float32Array(0)];

/** (rows, cols) at src[so..] -> (cols, rows) in scratch slot `slot`, grown as needed and reused. */
function transposeInto(slot: number, src: Float32Array, so: number, rows: number, cols: number): Float32Array {
  if (scratch[slot].length < rows * cols) scratch[slot] = new Float32Array(rows * cols);
  const dst = scratch[slot];
  // blocked so both sides stay in cache
  const BS = 32;
  for (let r0 = 0; r0 < rows; r0 += BS) {
    const r1 = Math.min(rows, r0 + BS);
    for (let c0 = 0; c0 < cols; c0 += BS) {
      const c1 = Math.min(cols, c0 + BS);
      for (let r = r0; r < r1; r++) {
        const sr = so + r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[sr + c];
      }
    }
  }
  return dst;
}

// y = x Wᵀ: out(i,j) += dot(a(i,:), b(j,:)), both rows contiguous. A 2x4 block of outputs at a time so
// each loaded element of a feeds four products and each of b two; sums run in doubles and round once.
function nt(out: Float32Array, oo: number, a: Float32Array, ao: number, b: Float32Array, bo: number, M: number, N: number, K: number): void {
  const N4 = N - (N % 4);
  let i = 0;
  for (; i + 1 < M; i += 2) {
    const ra = ao + i * K, rc = ra + K;
    const ro = oo + i * N, rp = ro + N;
    let j = 0;
    for (; j < N4; j += 4) {
      const r0 = bo + j * K, r1 = r0 + K, r2 = r1 + K, r3 = r2 + K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
      for (let k = 0; k < K; k++) {
        const x = a[ra + k], y = a[rc + k];
        const b0 = b[r0 + k], b1 = b[r1 + k], b2 = b[r2 + k], b3 = b[r3 + k];
        s0 += x * b0; s1 += x * b1; s2 += x * b2; s3 += x * b3;
        t0 += y * b0; t1 += y * b1; t2 += y * b2; t3 += y * b3;
      }
      out[ro + j] += s0; out[ro + j + 1] += s1; out[ro + j + 2] += s2; out[ro + j + 3] += s3;
      out[rp + j] += t0; out[rp + j + 1] += t1; out[rp + j + 2] += t2; out[rp + j + 3] += t3;
    }
    for (; j < N; j++) {
      const rb = bo + j * K;
      let s = 0, t = 0;
      for (let k = 0; k < K; k++) {
        s += a[ra + k] * b[rb + k];
        t += a[rc + k] * b[rb + k];
      }
      out[ro + j] += s;
      out[rp + j] += t;
    }
  }
  // last row when M is odd (M = 1 is every decode step): 1x4 blocks
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
