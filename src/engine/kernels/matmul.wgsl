// C (M,N) = op(A) op(B), or C += op(A) op(B) when p.accumulate = 1. op(A) is (M,K): A stored (M,K), or (K,M)
// when TRANS_A. op(B) is (K,N): B stored (K,N), or (N,K) when TRANS_B (y = x W^T for Hugging Face weights).
// The launcher rewrites the two TRANS_ constants, so each of the four variants compiles to straight loads.
//
// Register tiling: each invocation owns a 4x4 block of C and keeps it in registers across K, so each loaded
// A value is used 4 times and each B value 4 times; K advances 4 at a time so the 4x4 A and B blocks come
// in as 8 vec4 loads. Edge tiles clamp their row/column indices (loading valid, unused data) instead of
// branching in the inner loop; only in-range results are stored.

const TRANS_A = false;
const TRANS_B = false;

struct Params { M: u32, N: u32, K: u32, accumulate: u32, o_c: u32, o_a: u32, o_b: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
@group(0) @binding(2) var<storage, read_write> A: array<f32>;
@group(0) @binding(3) var<storage, read_write> B: array<f32>;

// op(A)[r, k]
fn a(r: u32, k: u32) -> f32 {
  if (TRANS_A) { return A[p.o_a + k * p.M + r]; }
  return A[p.o_a + r * p.K + k];
}

// op(B)[k, c]
fn b(k: u32, c: u32) -> f32 {
  if (TRANS_B) { return B[p.o_b + c * p.K + k]; }
  return B[p.o_b + k * p.N + c];
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  if (row0 >= p.M || col0 >= p.N) { return; }
  let r = vec4u(row0, min(row0 + 1u, p.M - 1u), min(row0 + 2u, p.M - 1u), min(row0 + 3u, p.M - 1u));
  let c = vec4u(col0, min(col0 + 1u, p.N - 1u), min(col0 + 2u, p.N - 1u), min(col0 + 3u, p.N - 1u));
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  let K4 = p.K & ~3u;
  var k = 0u;
  for (; k < K4; k += 4u) {
    // a_i = A[r_i, k..k+3]; b_j = B[k+j, c_0..c_3]
    let a0 = vec4f(a(r.x, k), a(r.x, k + 1u), a(r.x, k + 2u), a(r.x, k + 3u));
    let a1 = vec4f(a(r.y, k), a(r.y, k + 1u), a(r.y, k + 2u), a(r.y, k + 3u));
    let a2 = vec4f(a(r.z, k), a(r.z, k + 1u), a(r.z, k + 2u), a(r.z, k + 3u));
    let a3 = vec4f(a(r.w, k), a(r.w, k + 1u), a(r.w, k + 2u), a(r.w, k + 3u));
    let b0 = vec4f(b(k, c.x), b(k, c.y), b(k, c.z), b(k, c.w));
    let b1 = vec4f(b(k + 1u, c.x), b(k + 1u, c.y), b(k + 1u, c.z), b(k + 1u, c.w));
    let b2 = vec4f(b(k + 2u, c.x), b(k + 2u, c.y), b(k + 2u, c.z), b(k + 2u, c.w));
    let b3 = vec4f(b(k + 3u, c.x), b(k + 3u, c.y), b(k + 3u, c.z), b(k + 3u, c.w));
    acc0 += a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
    acc1 += a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
    acc2 += a2.x * b0 + a2.y * b1 + a2.z * b2 + a2.w * b3;
    acc3 += a3.x * b0 + a3.y * b1 + a3.z * b2 + a3.w * b3;
  }
  for (; k < p.K; k++) {
    let bk = vec4f(b(k, c.x), b(k, c.y), b(k, c.z), b(k, c.w));
    acc0 += a(r.x, k) * bk;
    acc1 += a(r.y, k) * bk;
    acc2 += a(r.z, k) * bk;
    acc3 += a(r.w, k) * bk;
  }
  let acc = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + i;
    if (row >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + j;
      if (col >= p.N) { break; }
      let at = p.o_c + row * p.N + col;
      if (p.accumulate != 0u) { C[at] += acc[i][j]; } else { C[at] = acc[i][j]; }
    }
  }
}

// Few rows (decode: M = batch): one row and 4 columns per invocation, so no invocation repeats another's
// row the way the 4x4 tile's clamping would for M < 4. Workgroups of 64 cover 256 columns of one row.
@compute @workgroup_size(64)
fn skinny(@builtin(global_invocation_id) gid: vec3u) {
  let row = gid.y;
  let col0 = gid.x * 4u;
  if (row >= p.M || col0 >= p.N) { return; }
  let c = vec4u(col0, min(col0 + 1u, p.N - 1u), min(col0 + 2u, p.N - 1u), min(col0 + 3u, p.N - 1u));
  var acc = vec4f(0.0);
  let K4 = p.K & ~3u;
  var k = 0u;
  for (; k < K4; k += 4u) {
    let a0 = vec4f(a(row, k), a(row, k + 1u), a(row, k + 2u), a(row, k + 3u));
    acc += a0.x * vec4f(b(k, c.x), b(k, c.y), b(k, c.z), b(k, c.w));
    acc += a0.y * vec4f(b(k + 1u, c.x), b(k + 1u, c.y), b(k + 1u, c.z), b(k + 1u, c.w));
    acc += a0.z * vec4f(b(k + 2u, c.x), b(k + 2u, c.y), b(k + 2u, c.z), b(k + 2u, c.w));
    acc += a0.w * vec4f(b(k + 3u, c.x), b(k + 3u, c.y), b(k + 3u, c.z), b(k + 3u, c.w));
  }
  for (; k < p.K; k++) { acc += a(row, k) * vec4f(b(k, c.x), b(k, c.y), b(k, c.z), b(k, c.w)); }
  for (var j = 0u; j < 4u; j++) {
    let col = col0 + j;
    if (col >= p.N) { break; }
    let at = p.o_c + row * p.N + col;
    if (p.accumulate != 0u) { C[at] += acc[j]; } else { C[at] = acc[j]; }
  }
}

// vec4 views of the same bindings (main16, skinny4): M, N, K and every offset a multiple of 4 (the launcher checks)
@group(0) @binding(1) var<storage, read_write> C4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> A4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> B4: array<vec4f>;

// CPU-backed adapters (SwiftShader): 4x4 blocks of 4x4, i.e. 16x16 outputs per invocation, on vec4 loads.
// Each loaded block is reused 4 times; ~2x the throughput of a 4x4 vec4 tile per CPU-second there, measured. Written
// out unrolled on purpose: loops over arrays of matrices run ~4x slower (the arrays leave registers).
// Needs M, N, K and every offset a multiple of 4. Edge blocks clamp their loads and skip their stores.
fn loadA4(rowBlock: u32, k4: u32, oa: u32, M4: u32, K4: u32) -> mat4x4f {
  // column i = op(A)[4 * rowBlock + i, 4 * k4 .. 4 * k4 + 3]
  if (TRANS_A) {
    let k = k4 * 4u;
    return transpose(mat4x4f(A4[oa + k * M4 + rowBlock], A4[oa + (k + 1u) * M4 + rowBlock], A4[oa + (k + 2u) * M4 + rowBlock], A4[oa + (k + 3u) * M4 + rowBlock]));
  }
  let row = rowBlock * 4u;
  return mat4x4f(A4[oa + row * K4 + k4], A4[oa + (row + 1u) * K4 + k4], A4[oa + (row + 2u) * K4 + k4], A4[oa + (row + 3u) * K4 + k4]);
}

fn loadB4(colBlock: u32, k4: u32, ob: u32, N4: u32, K4: u32) -> mat4x4f {
  // column kk = op(B)[4 * k4 + kk, 4 * colBlock .. 4 * colBlock + 3]
  if (TRANS_B) {
    let col = colBlock * 4u;
    return transpose(mat4x4f(B4[ob + col * K4 + k4], B4[ob + (col + 1u) * K4 + k4], B4[ob + (col + 2u) * K4 + k4], B4[ob + (col + 3u) * K4 + k4]));
  }
  let k = k4 * 4u;
  return mat4x4f(B4[ob + k * N4 + colBlock], B4[ob + (k + 1u) * N4 + colBlock], B4[ob + (k + 2u) * N4 + colBlock], B4[ob + (k + 3u) * N4 + colBlock]);
}

fn store4(rowBlock: u32, colBlock: u32, acc: mat4x4f, oc: u32, M4: u32, N4: u32) {
  if (rowBlock >= M4 || colBlock >= N4) { return; }
  for (var i = 0u; i < 4u; i++) {
    let at = oc + (rowBlock * 4u + i) * N4 + colBlock;
    if (p.accumulate != 0u) { C4[at] += acc[i]; } else { C4[at] = acc[i]; }
  }
}

@compute @workgroup_size(8, 8)
fn main16(@builtin(global_invocation_id) gid: vec3u) {
  let M4 = p.M / 4u;
  let N4 = p.N / 4u;
  let K4 = p.K / 4u;
  let rb = gid.y * 4u;
  let cb = gid.x * 4u;
  if (rb >= M4 || cb >= N4) { return; }
  let oa = p.o_a / 4u;
  let ob = p.o_b / 4u;
  let r0 = min(rb + 0u, M4 - 1u);
  let r1 = min(rb + 1u, M4 - 1u);
  let r2 = min(rb + 2u, M4 - 1u);
  let r3 = min(rb + 3u, M4 - 1u);
  let c0 = min(cb + 0u, N4 - 1u);
  let c1 = min(cb + 1u, N4 - 1u);
  let c2 = min(cb + 2u, N4 - 1u);
  let c3 = min(cb + 3u, N4 - 1u);
  var acc00 = mat4x4f(); var acc01 = mat4x4f(); var acc02 = mat4x4f(); var acc03 = mat4x4f();
  var acc10 = mat4x4f(); var acc11 = mat4x4f(); var acc12 = mat4x4f(); var acc13 = mat4x4f();
  var acc20 = mat4x4f(); var acc21 = mat4x4f(); var acc22 = mat4x4f(); var acc23 = mat4x4f();
  var acc30 = mat4x4f(); var acc31 = mat4x4f(); var acc32 = mat4x4f(); var acc33 = mat4x4f();
  for (var k4 = 0u; k4 < K4; k4++) {
    let a0 = loadA4(r0, k4, oa, M4, K4);
    let a1 = loadA4(r1, k4, oa, M4, K4);
    let a2 = loadA4(r2, k4, oa, M4, K4);
    let a3 = loadA4(r3, k4, oa, M4, K4);
    let b0 = loadB4(c0, k4, ob, N4, K4);
    let b1 = loadB4(c1, k4, ob, N4, K4);
    let b2 = loadB4(c2, k4, ob, N4, K4);
    let b3 = loadB4(c3, k4, ob, N4, K4);
    acc00 += b0 * a0; acc01 += b1 * a0; acc02 += b2 * a0; acc03 += b3 * a0;
    acc10 += b0 * a1; acc11 += b1 * a1; acc12 += b2 * a1; acc13 += b3 * a1;
    acc20 += b0 * a2; acc21 += b1 * a2; acc22 += b2 * a2; acc23 += b3 * a2;
    acc30 += b0 * a3; acc31 += b1 * a3; acc32 += b2 * a3; acc33 += b3 * a3;
  }
  let oc = p.o_c / 4u;
  store4(rb + 0u, cb + 0u, acc00, oc, M4, N4);
  store4(rb + 0u, cb + 1u, acc01, oc, M4, N4);
  store4(rb + 0u, cb + 2u, acc02, oc, M4, N4);
  store4(rb + 0u, cb + 3u, acc03, oc, M4, N4);
  store4(rb + 1u, cb + 0u, acc10, oc, M4, N4);
  store4(rb + 1u, cb + 1u, acc11, oc, M4, N4);
  store4(rb + 1u, cb + 2u, acc12, oc, M4, N4);
  store4(rb + 1u, cb + 3u, acc13, oc, M4, N4);
  store4(rb + 2u, cb + 0u, acc20, oc, M4, N4);
  store4(rb + 2u, cb + 1u, acc21, oc, M4, N4);
  store4(rb + 2u, cb + 2u, acc22, oc, M4, N4);
  store4(rb + 2u, cb + 3u, acc23, oc, M4, N4);
  store4(rb + 3u, cb + 0u, acc30, oc, M4, N4);
  store4(rb + 3u, cb + 1u, acc31, oc, M4, N4);
  store4(rb + 3u, cb + 2u, acc32, oc, M4, N4);
  store4(rb + 3u, cb + 3u, acc33, oc, M4, N4);
}

// Few rows times HF weights (decode: y = x W^T with M = batch < 4), on vec4 loads along K: one row and 8
// output columns per invocation, each an 8-way dot product over rows of W. Needs K and the offsets of a and b
// to be multiples of 4 and is only used without TRANS_A and with TRANS_B.
@compute @workgroup_size(64)
fn skinny4(@builtin(global_invocation_id) gid: vec3u) {
  let row = gid.y;
  let col0 = gid.x * 8u;
  if (row >= p.M || col0 >= p.N) { return; }
  let K4 = p.K / 4u;
  let ar = p.o_a / 4u + row * K4;
  var cols: array<u32, 8>;
  for (var j = 0u; j < 8u; j++) { cols[j] = p.o_b / 4u + min(col0 + j, p.N - 1u) * K4; }
  let b0 = cols[0]; let b1 = cols[1]; let b2 = cols[2]; let b3 = cols[3];
  let b4 = cols[4]; let b5 = cols[5]; let b6 = cols[6]; let b7 = cols[7];
  var lo = vec4f(0.0);
  var hi = vec4f(0.0);
  for (var k4 = 0u; k4 < K4; k4++) {
    let x = A4[ar + k4];
    lo += vec4f(dot(x, B4[b0 + k4]), dot(x, B4[b1 + k4]), dot(x, B4[b2 + k4]), dot(x, B4[b3 + k4]));
    hi += vec4f(dot(x, B4[b4 + k4]), dot(x, B4[b5 + k4]), dot(x, B4[b6 + k4]), dot(x, B4[b7 + k4]));
  }
  for (var j = 0u; j < 8u; j++) {
    let col = col0 + j;
    if (col >= p.N) { break; }
    let at = p.o_c + row * p.N + col;
    var v = lo[j & 3u];
    if (j >= 4u) { v = hi[j & 3u]; }
    if (p.accumulate != 0u) { C[at] += v; } else { C[at] = v; }
  }
}
