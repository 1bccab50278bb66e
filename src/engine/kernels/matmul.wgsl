// C = A @ B.  A: (M,K) row-major, B: (K,N) row-major, C: (M,N) row-major.
// Register tiling: each invocation owns a 4x4 block of C and keeps it in registers across K, so every
// loaded A value is reused 4 times and every B value 4 times. A workgroup of 8x8 invocations covers 32x32.

struct Dims { M: u32, N: u32, K: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read_write> C: array<f32>;   // (M,N)
@group(0) @binding(1) var<storage, read> A: array<f32>;         // (M,K)
@group(0) @binding(2) var<storage, read> B: array<f32>;         // (K,N)
@group(0) @binding(3) var<uniform> dims: Dims;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  if (row0 >= dims.M || col0 >= dims.N) { return; }
  var acc: array<vec4<f32>, 4>;
  let fullCols = col0 + 4u <= dims.N;
  for (var k = 0u; k < dims.K; k++) {
    var b = vec4<f32>(0.0);
    let bBase = k * dims.N + col0;
    if (fullCols) {
      b = vec4<f32>(B[bBase], B[bBase + 1u], B[bBase + 2u], B[bBase + 3u]);
    } else {
      for (var j = 0u; j < 4u; j++) {
        if (col0 + j < dims.N) { b[j] = B[bBase + j]; }
      }
    }
    for (var i = 0u; i < 4u; i++) {
      let r = row0 + i;
      if (r < dims.M) {
        acc[i] = fma(vec4<f32>(A[r * dims.K + k]), b, acc[i]);
      }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + i;
    if (r >= dims.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (col0 + j < dims.N) { C[r * dims.N + col0 + j] = acc[i][j]; }
    }
  }
}
