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
  if (!transA && !transB) return nn(out, oo, a, ao, b, bo, M, N, K);
  if (!transA && transB) return nt(out, oo, a, ao, b, bo, M, N, K);
  if (transA && !transB) return tn(out, oo, a, ao, b, bo, M, N, K);
  return tt(out, oo, a, ao, b, bo, M, N, K);
}

// out(i,:) += a(i,k) * b(k,:): i-k-j order, the inner loop is a contiguous axpy.
function nn(out: Float32Array, oo: number, a: Float32Array, ao: number, b: Float32Array, bo: number, M: number, N: number, K: number): void {
  for (let i = 0; i < M; i++) {
    const ro = oo + i * N;
    const ra = ao + i * K;
    for (let k = 0; k < K; k++) {
      const aik = a[ra + k];
      const rb = bo + k * N;
      for (let j = 0; j < N; j++) out[ro + j] += aik * b[rb + j];
    }
  }
}

// y = x Wᵀ: out(i,j) = dot(a(i,:), b(j,:)), both rows contiguous. Four rows of b at once so each a(i,k) is
// loaded once per four products; the sums run in doubles (JS numbers) and round once.
function nt(out: Float32Array, oo: number, a: Float32Array, ao: number, b: Float32Array, bo: number, M: number, N: number, K: number): void {
  const N4 = N - (N % 4);
  for (let i = 0; i < M; i++) {
    const ra = ao + i * K;
    const ro = oo + i * N;
    let j = 0;
    for (; j < N4; j += 4) {
      const r0 = bo + j * K, r1 = r0 + K, r2 = r1 + K, r3 = r2 + K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < K; k++) {
        const x = a[ra + k];
        s0 += x * b[r0 + k];
        s1 += x * b[r1 + k];
        s2 += x * b[r2 + k];
        s3 += x * b[r3 + k];
      }
      out[ro + j] += s0;
      out[ro + j + 1] += s1;
      out[ro + j + 2] += s2;
      out[ro + j + 3] += s3;
    }
    for (; j < N; j++) {
      const rb = bo + j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[ra + k] * b[rb + k];
      out[ro + j] += s;
    }
  }
}

// dW = dYᵀ X: a stored (K,M). k outer, then i, then a contiguous axpy over j.
function tn(out: Float32Array, oo: number, a: Float32Array, ao: number, b: Float32Array, bo: number, M: number, N: number, K: number): void {
  for (let k = 0; k < K; k++) {
    const ra = ao + k * M;
    const rb = bo + k * N;
    for (let i = 0; i < M; i++) {
      const aki = a[ra + i];
      const ro = oo + i * N;
      for (let j = 0; j < N; j++) out[ro + j] += aki * b[rb + j];
    }
  }
}

// Both transposed: rare (no layer needs it), kept simple.
function tt(out: Float32Array, oo: number, a: Float32Array, ao: number, b: Float32Array, bo: number, M: number, N: number, K: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const rb = bo + j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[ao + k * M + i] * b[rb + k];
      out[oo + i * N + j] += s;
    }
  }
}
