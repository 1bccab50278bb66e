// Linear-layer bias (Qwen2's q/k/v projections): out (M,N) += bias (N), and dBias (N) += column sums of
// dOut (M,N). The column sum runs one invocation per column over all rows, in row order: deterministic.

struct Params { M: u32, N: u32, o_0: u32, o_1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> b1: array<f32>;
@group(0) @binding(2) var<storage, read_write> b2: array<f32>;

// b1 = out (M,N), b2 = bias (N)
@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.M * p.N) { return; }
  b1[p.o_0 + i] += b2[p.o_1 + i % p.N];
}

// b1 = dBias (N), b2 = dOut (M,N)
@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = gid.x + gid.y * nwg.x * 256u;
  if (j >= p.N) { return; }
  var s = 0.0;
  for (var i = 0u; i < p.M; i++) { s += b2[p.o_1 + i * p.N + j]; }
  b1[p.o_0 + j] += s;
}
