// The GPU-family matmul: C (M,N) = op(A) op(B), or C += when p.accumulate = 1, with the same TRANS_ meaning
// as matmul.wgsl. For real GPUs, where global memory bandwidth, not arithmetic, is the limit:
//  - a workgroup of 16x16 invocations owns a 64x64 tile of C, each invocation a 4x4 block in registers;
//  - K advances 16 at a time: the workgroup stages a 64x16 slab of op(A) and a 16x64 slab of op(B) in
//    workgroup memory (one vec4 per invocation per slab), so each global value is read once per tile, not
//    64 times; the slabs are scalar arrays (dynamic component writes into vec4 arrays compile ~10x slower
//    on SwiftShader, and the stores scatter to k-major order anyway);
//  - every staging load walks the STORED layout's contiguous dimension across adjacent invocations (for
//    x W^T, W is (N,K): 4 invocations cover 16 consecutive floats of one row of W), so reads coalesce;
//  - A and B are bound read-only; p.vec (set by the launcher when both contiguous dimensions and offsets
//    are multiples of 4) turns each staging load into one vec4 load. Out-of-range loads read zero.
// The transposes and the vec4 choice are uniforms, not compile-time constants: every invocation takes the
// same branch (free on a GPU), and one pipeline serves all eight combinations (each ~2 s to compile on
// SwiftShader, where tests compile them).

struct Params { M: u32, N: u32, K: u32, accumulate: u32, o_c: u32, o_a: u32, o_b: u32, transA: u32, transB: u32, vec: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
// bound as vec4 arrays whatever the alignment: a scalar is A4[e / 4][e % 4] (the recorder binds ranges
// rounded up to 16 bytes, so the last partial vec4 is in range)
@group(0) @binding(2) var<storage, read> A4: array<vec4f>;
@group(0) @binding(3) var<storage, read> B4: array<vec4f>;

const TILE = 64u;
const TK = 16u;

// slabs in k-major order: sa[k * 64 + i] holds op(A)[row0 + i, k0 + k]; sb[k * 64 + j] op(B)[k0 + k, col0 + j]
var<workgroup> sa: array<f32, 1024>;
var<workgroup> sb: array<f32, 1024>;

// element e of stored A (B) as a scalar, zero when its column c is past cols
fn elemA(e: u32, c: u32, cols: u32) -> f32 {
  if (c >= cols) { return 0.0; }
  let at = p.o_a + e;
  return A4[at / 4u][at % 4u];
}

fn elemB(e: u32, c: u32, cols: u32) -> f32 {
  if (c >= cols) { return 0.0; }
  let at = p.o_b + e;
  return B4[at / 4u][at % 4u];
}

// 4 consecutive elements of a stored row-major (rows, cols) matrix starting at (r, c), zero past the edges.
fn loadA(r: u32, c: u32, rows: u32, cols: u32) -> vec4f {
  if (r >= rows) { return vec4f(0.0); }
  if (p.vec != 0u) {
    if (c >= cols) { return vec4f(0.0); }
    return A4[(p.o_a + r * cols + c) / 4u];
  }
  return vec4f(elemA(r * cols + c, c, cols), elemA(r * cols + c + 1u, c + 1u, cols), elemA(r * cols + c + 2u, c + 2u, cols), elemA(r * cols + c + 3u, c + 3u, cols));
}

fn loadB(r: u32, c: u32, rows: u32, cols: u32) -> vec4f {
  if (r >= rows) { return vec4f(0.0); }
  if (p.vec != 0u) {
    if (c >= cols) { return vec4f(0.0); }
    return B4[(p.o_b + r * cols + c) / 4u];
  }
  return vec4f(elemB(r * cols + c, c, cols), elemB(r * cols + c + 1u, c + 1u, cols), elemB(r * cols + c + 2u, c + 2u, cols), elemB(r * cols + c + 3u, c + 3u, cols));
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
    if (p.transA != 0u) {
      // stored (K,M): 16 invocations cover 64 consecutive m of one k
      let k = t / 16u;
      let m = (t % 16u) * 4u;
      let v = loadA(k0 + k, row0 + m, p.K, p.M);
      sa[k * 64u + m] = v.x; sa[k * 64u + m + 1u] = v.y; sa[k * 64u + m + 2u] = v.z; sa[k * 64u + m + 3u] = v.w;
    } else {
      // stored (M,K): 4 invocations cover 16 consecutive k of one row; scatter to k-major
      let m = t / 4u;
      let k = (t % 4u) * 4u;
      let v = loadA(row0 + m, k0 + k, p.M, p.K);
      sa[k * 64u + m] = v.x; sa[(k + 1u) * 64u + m] = v.y; sa[(k + 2u) * 64u + m] = v.z; sa[(k + 3u) * 64u + m] = v.w;
    }
    if (p.transB != 0u) {
      // stored (N,K) (x W^T): 4 invocations cover 16 consecutive k of one row of W
      let n = t / 4u;
      let k = (t % 4u) * 4u;
      let v = loadB(col0 + n, k0 + k, p.N, p.K);
      sb[k * 64u + n] = v.x; sb[(k + 1u) * 64u + n] = v.y; sb[(k + 2u) * 64u + n] = v.z; sb[(k + 3u) * 64u + n] = v.w;
    } else {
      // stored (K,N): 16 invocations cover 64 consecutive n of one k
      let k = t / 16u;
      let n = (t % 16u) * 4u;
      let v = loadB(k0 + k, col0 + n, p.K, p.N);
      sb[k * 64u + n] = v.x; sb[k * 64u + n + 1u] = v.y; sb[k * 64u + n + 2u] = v.z; sb[k * 64u + n + 3u] = v.w;
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let ra = k * 64u + lid.y * 4u;
      let rb = k * 64u + lid.x * 4u;
      let a = vec4f(sa[ra], sa[ra + 1u], sa[ra + 2u], sa[ra + 3u]);
      let b = vec4f(sb[rb], sb[rb + 1u], sb[rb + 2u], sb[rb + 3u]);
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
// memory), then a fixed-shape tree adds the 64 partial sums (deterministic). Needs the vec4 alignment.
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
