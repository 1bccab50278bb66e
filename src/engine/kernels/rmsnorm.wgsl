// RMSNorm: out = x * rstd * weight with rstd = 1 / sqrt(mean(x^2) + eps), and its backward. Each is a
// per-row reduction (one invocation per row) followed by a flat elementwise pass: no workgroup barriers,
// which cost more than the arithmetic on a CPU-backed adapter (SwiftShader), and full parallelism where the
// work is. dWeight sums over rows in a fixed order per column: deterministic, no atomics.

struct Params { N: u32, C: u32, eps: f32, o_0: u32, o_1: u32, o_2: u32, o_3: u32, o_4: u32, o_5: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> b1: array<f32>;
@group(0) @binding(2) var<storage, read_write> b2: array<f32>;
@group(0) @binding(3) var<storage, read_write> b3: array<f32>;
@group(0) @binding(4) var<storage, read_write> b4: array<f32>;
@group(0) @binding(5) var<storage, read_write> b5: array<f32>;
@group(0) @binding(6) var<storage, read_write> b6: array<f32>;

fn flat(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 64u; }

// b1 = rstd (N), b2 = x (N,C)
@compute @workgroup_size(64)
fn rowRstd(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = flat(gid, nwg);
  if (n >= p.N) { return; }
  let r = p.o_1 + n * p.C;
  var ss = 0.0;
  for (var c = 0u; c < p.C; c++) { let x = b2[r + c]; ss += x * x; }
  b1[p.o_0 + n] = 1.0 / sqrt(ss / f32(p.C) + p.eps);
}

// b1 = out (N,C), b2 = rstd (N), b3 = x (N,C), b4 = weight (C)
@compute @workgroup_size(64)
fn apply(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.N * p.C) { return; }
  b1[p.o_0 + i] = b3[p.o_2 + i] * b2[p.o_1 + i / p.C] * b4[p.o_3 + i % p.C];
}

// b1 = mean scratch (N): mean over c of dOut * w * xhat; b2 = dOut (N,C), b3 = x (N,C), b4 = weight (C), b5 = rstd (N)
@compute @workgroup_size(64)
fn rowDot(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = flat(gid, nwg);
  if (n >= p.N) { return; }
  let rs = b5[p.o_4 + n];
  var dot = 0.0;
  for (var c = 0u; c < p.C; c++) { dot += b2[p.o_1 + n * p.C + c] * b4[p.o_3 + c] * b3[p.o_2 + n * p.C + c]; }
  b1[p.o_0 + n] = dot * rs / f32(p.C);
}

// dx = rstd * (dOut * w - xhat * mean). b1 = dx (N,C) +=, b2 = dOut, b3 = x, b4 = weight, b5 = rstd, b6 = mean (N)
@compute @workgroup_size(64)
fn backwardInput(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.N * p.C) { return; }
  let n = i / p.C;
  let rs = b5[p.o_4 + n];
  b1[p.o_0 + i] += rs * (b2[p.o_1 + i] * b4[p.o_3 + i % p.C] - b3[p.o_2 + i] * rs * b6[p.o_5 + n]);
}

// b1 = dWeight (C) +=, b2 = dOut (N,C), b3 = x (N,C), b4 = rstd (N)
@compute @workgroup_size(64)
fn backwardWeight(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = flat(gid, nwg);
  if (c >= p.C) { return; }
  var s = 0.0;
  for (var n = 0u; n < p.N; n++) { s += b2[p.o_1 + n * p.C + c] * b3[p.o_2 + n * p.C + c] * b4[p.o_3 + n]; }
  b1[p.o_0 + c] += s;
}
