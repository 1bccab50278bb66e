// out (M,N) (+)= x (M,K) Wᵀ where W (N,K) is stored as f16, two per u32 word (half.ts packHalves): the
// projection of a frozen weight at half the bytes. unpack2x16float widens each pair exactly and every
// product and sum is f32, so this needs no shader-f16 feature and matches the CPU reference run on the
// same halves up to f32 reassociation.
// One workgroup per output (n, m): its 64 invocations walk W's row n word by word (adjacent invocations,
// adjacent words: coalesced), then add their partial sums in a fixed tree (deterministic, no atomics).
// Workgroups fold into (x, y) past the per-dimension limit: w = x + y * num_workgroups.x is n + N * m.

struct Params {
  M: u32, N: u32, K: u32, accumulate: u32,
  o_0: u32, o_1: u32, o_2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<u32>;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let g = wid.x + wid.y * nwg.x;
  let n = g % p.N;
  let m = g / p.N;
  // a folded-off workgroup past M * N still joins the barriers below, but writes nothing
  let valid = m < p.M;
  let words = p.K / 2u;
  var s = 0.0;
  if (valid) {
    let wr = p.o_2 + n * words;
    let xr = p.o_1 + m * p.K;
    for (var j = lid.x; j < words; j += 64u) {
      let h = unpack2x16float(w[wr + j]);
      s += h.x * x[xr + 2u * j] + h.y * x[xr + 2u * j + 1u];
    }
  }
  partial[lid.x] = s;
  workgroupBarrier();
  for (var stride = 32u; stride > 0u; stride /= 2u) {
    if (lid.x < stride) { partial[lid.x] += partial[lid.x + stride]; }
    workgroupBarrier();
  }
  if (valid && lid.x == 0u) {
    let o = p.o_0 + m * p.N + n;
    if (p.accumulate == 1u) { out[o] += partial[0]; } else { out[o] = partial[0]; }
  }
}

// The input gradient through the same frozen weight: out (M,K) (+)= dy (M,N) W (N,K), dy bound as x.
// One invocation per (m, word j) writes the pair out[m, 2j], out[m, 2j + 1]: it walks W's column pair j
// down the N rows (adjacent invocations, adjacent words: coalesced) in a fixed order, so no reduction and
// no barrier is needed (barriers are what CPU adapters pay most for).
@compute @workgroup_size(64)
fn input_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let words = p.K / 2u;
  let g = gid.x + gid.y * nwg.x * 64u;
  if (g >= p.M * words) { return; }
  let j = g % words;
  let m = g / words;
  let dr = p.o_1 + m * p.N;
  var s = vec2f(0.0);
  for (var n = 0u; n < p.N; n++) {
    s += unpack2x16float(w[p.o_2 + n * words + j]) * x[dr + n];
  }
  let o = p.o_0 + m * p.K + 2u * j;
  if (p.accumulate == 1u) {
    out[o] += s.x;
    out[o + 1u] += s.y;
  } else {
    out[o] = s.x;
    out[o + 1u] = s.y;
  }
}
