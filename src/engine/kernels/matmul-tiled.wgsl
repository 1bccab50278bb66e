// The GPU-family matmul: C (M,N) = op(A) op(B), or C += when p.accumulate = 1, with the same TRANS_ meaning
// as matmul.wgsl. For real GPUs, where global memory bandwidth, not arithmetic, is the limit:
//  - a workgroup of 16x16 invocations owns a 64x64 tile of C, each invocation a 4x4 block in registers;
//  - K advances 16 at a time: the workgroup stages a 64x16 slab of op(A) and a 16x64 slab of op(B) in
//    workgroup memory (one vec4 per invocation per slab), so each global value is read once per tile, not
//    64 times;
//  - every staging load walks the STORED layout's contiguous dimension across adjacent invocations (for
//    x W^T, W is (N,K): 4 invocations cover 16 consecutive floats of one row of W), so reads coalesce;
//  - A and B are bound read-only; VEC_A / VEC_B (set by the launcher when the contiguous dimension and the
//    offset are multiples of 4) turn each staging load into one vec4 load. Out-of-range loads read zero.
// The launcher rewrites the four constants, so each variant compiles to straight-line loads.

const TRANS_A = false;
const TRANS_B = false;
const VEC_A = false;
const VEC_B = false;

struct Params { M: u32, N: u32, K: u32, accumulate: u32, o_c: u32, o_a: u32, o_b: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
// bound as vec4 arrays whatever the alignment: a scalar is A4[e / 4][e % 4] (the recorder binds ranges
// rounded up to 16 bytes, so the last partial vec4 is in range)
@group(0) @binding(2) var<storage, read> A4: array<vec4f>;
@group(0) @binding(3) var<storage, read> B4: array<vec4f>;

const TILE = 64u;
const TK = 16u;

// slabs in k-major order: sa[k * 16 + i] holds op(A)[row0 + 4i .. 4i+3, k0 + k]; sb likewise for columns
var<workgroup> sa: array<vec4f, 256>;
var<workgroup> sb: array<vec4f, 256>;

// 4 consecutive elements of a stored row-major (rows, cols) matrix starting at (r, c), zero past the edges.
fn loadA(r: u32, c: u32, rows: u32, cols: u32) -> vec4f {
  if (r >= rows) { return vec4f(0.0); }
  if (VEC_A) {
    if (c >= cols) { return vec4f(0.0); }
    return A4[(p.o_a + r * cols + c) / 4u];
  }
  var v = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) {
    let e = p.o_a + r * cols + c + i;
    if (c + i < cols) { v[i] = A4[e / 4u][e % 4u]; }
  }
  return v;
}

fn loadB(r: u32, c: u32, rows: u32, cols: u32) -> vec4f {
  if (r >= rows) { return vec4f(0.0); }
  if (VEC_B) {
    if (c >= cols) { return vec4f(0.0); }
    return B4[(p.o_b + r * cols + c) / 4u];
  }
  var v = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) {
    let e = p.o_b + r * cols + c + i;
    if (c + i < cols) { v[i] = B4[e / 4u][e % 4u]; }
  }
  return v;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = lid.y * 16u + lid.x;
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  let tiles = (p.K + TK - 1u) / TK;
  for (var kt = 0u; kt < tiles; kt++) {
    let k0 = kt * TK;
    // stage op(A) (64 rows x 16 k): one vec4 along the stored contiguous dimension per invocation
    if (TRANS_A) {
      // stored (K,M): 16 invocations cover 64 consecutive m of one k
      let k = t / 16u;
      let m = (t % 16u) * 4u;
      sa[k * 16u + m / 4u] = loadA(k0 + k, row0 + m, p.K, p.M);
    } else {
      // stored (M,K): 4 invocations cover 16 consecutive k of one row; scatter to k-major
      let m = t / 4u;
      let k = (t % 4u) * 4u;
      let v = loadA(row0 + m, k0 + k, p.M, p.K);
      for (var i = 0u; i < 4u; i++) { sa[(k + i) * 16u + m / 4u][m % 4u] = v[i]; }
    }
    if (TRANS_B) {
      // stored (N,K) (x W^T): 4 invocations cover 16 consecutive k of one row of W
      let n = t / 4u;
      let k = (t % 4u) * 4u;
      let v = loadB(col0 + n, k0 + k, p.N, p.K);
      for (var i = 0u; i < 4u; i++) { sb[(k + i) * 16u + n / 4u][n % 4u] = v[i]; }
    } else {
      // stored (K,N): 16 invocations cover 64 consecutive n of one k
      let k = t / 16u;
      let n = (t % 16u) * 4u;
      sb[k * 16u + n / 4u] = loadB(k0 + k, col0 + n, p.K, p.N);
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let a = sa[k * 16u + lid.y];
      let b = sb[k * 16u + lid.x];
      acc0 += a.x * b;
      acc1 += a.y * b;
      acc2 += a.z * b;
      acc3 += a.w * b;
    }
    workgroupBarrier();
  }
  let acc = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + lid.y * 4u + i;
    if (row >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x * 4u + j;
      if (col >= p.N) { break; }
      let at = p.o_c + row * p.N + col;
      if (p.accumulate != 0u) { C[at] += acc[i][j]; } else { C[at] = acc[i][j]; }
    }
  }
}

// Few rows times HF weights (decode: y = x W^T, M = batch < 4): one workgroup per (row, 4 columns); its 64
// invocations split K, each reading vec4s of the 4 rows of W at stride 64 (adjacent invocations, adjacent
// memory), then a fixed-shape tree adds the 64 partial sums (deterministic). Needs VEC_A and VEC_B.
var<workgroup> red: array<vec4f, 64>;

@compute @workgroup_size(64)
fn gemv(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y;
  let col0 = wid.x * 4u;
  let K4 = p.K / 4u;
  let xr = p.o_a / 4u + row * K4;
  var cols: array<u32, 4>;
  for (var j = 0u; j < 4u; j++) { cols[j] = p.o_b / 4u + min(col0 + j, p.N - 1u) * K4; }
  var s = vec4f(0.0);
  for (var k4 = lid.x; k4 < K4; k4 += 64u) {
    let x = A4[xr + k4];
    s += vec4f(dot(x, B4[cols[0] + k4]), dot(x, B4[cols[1] + k4]), dot(x, B4[cols[2] + k4]), dot(x, B4[cols[3] + k4]));
  }
  red[lid.x] = s;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w /= 2u) {
    if (lid.x < w) { red[lid.x] += red[lid.x + w]; }
    workgroupBarrier();
  }
  if (lid.x < 4u) {
    let col = col0 + lid.x;
    if (col < p.N) {
      let at = p.o_c + row * p.N + col;
      if (p.accumulate != 0u) { C[at] += red[0][lid.x]; } else { C[at] = red[0][lid.x]; }
    }
  }
}
