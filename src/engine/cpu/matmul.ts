/** CPU reference: out(M,N) = a(M,K) @ b(K,N), row-major. */
export function matmulCpu(out: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number): void {
  out.fill(0, 0, M * N);
  for (let i = 0; i < M; i++) {
    const rowOut = i * N;
    for (let k = 0; k < K; k++) {
      const aik = a[i * K + k];
      const rowB = k * N;
      for (let j = 0; j < N; j++) out[rowOut + j] += aik * b[rowB + j];
    }
  }
}
