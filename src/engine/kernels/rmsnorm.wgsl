// RMSNorm: out = x * rstd * weight with rstd = 1 / sqrt(mean(x^2) + eps), one workgroup per row; and its
// backward: dx (one workgroup per row) and dWeight (one invocation per column, rows in order, deterministic).

struct Params { N: u32, C: u32, eps: f32, o_0: u32, o_1: u32, o_2: u32, o_3: u32, o_4: u32, o_5: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> b1: array<f32>;
@group(0) @binding(2) var<storage, read_write> b2: array<f32>;
@group(0) @binding(3) var<storage, read_write> b3: array<f32>;
@group(0) @binding(4) var<storage, read_write> b4: array<f32>;
@group(0) @binding(5) var<storage, read_write> b5: array<f32>;

const WG = 64u;
var<workgroup> partial: array<f32, WG>;

fn workgroupSum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let total = workgroupUniformLoad(&partial[0]);
  return total;
}

// b1 = out (N,C), b2 = rstd (N), b3 = x (N,C), b4 = weight (C)
@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x + wid.y * nwg.x;
  if (n >= p.N) { return; }
  let rx = p.o_2 + n * p.C;
  var ss = 0.0;
  for (var c = lid; c < p.C; c += WG) { let x = b3[rx + c]; ss += x * x; }
  let rs = 1.0 / sqrt(workgroupSum(lid, ss) / f32(p.C) + p.eps);
  if (lid == 0u) { b2[p.o_1 + n] = rs; }
  let ro = p.o_0 + n * p.C;
  for (var c = lid; c < p.C; c += WG) { b1[ro + c] = b3[rx + c] * rs * b4[p.o_3 + c]; }
}

// b1 = dx (N,C) +=, b2 = dOut (N,C), b3 = x (N,C), b4 = weight (C), b5 = rstd (N)
@compute @workgroup_size(64)
fn backwardInput(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x + wid.y * nwg.x;
  if (n >= p.N) { return; }
  let rs = b5[p.o_4 + n];
  let rx = p.o_2 + n * p.C;
  let rg = p.o_1 + n * p.C;
  var dot = 0.0;
  for (var c = lid; c < p.C; c += WG) { dot += b2[rg + c] * b4[p.o_3 + c] * b3[rx + c] * rs; }
  // dx = rstd * (dOut * w - xhat * mean(dOut * w * xhat))
  let mean = workgroupSum(lid, dot) / f32(p.C);
  let rd = p.o_0 + n * p.C;
  for (var c = lid; c < p.C; c += WG) {
    b1[rd + c] += rs * (b2[rg + c] * b4[p.o_3 + c] - b3[rx + c] * rs * mean);
  }
}

// b1 = dWeight (C) +=, b2 = dOut (N,C), b3 = x (N,C), b4 = rstd (N)
@compute @workgroup_size(256)
fn backwardWeight(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = gid.x + gid.y * nwg.x * 256u;
  if (c >= p.C) { return; }
  var s = 0.0;
  for (var n = 0u; n < p.N; n++) { s += b2[p.o_1 + n * p.C + c] * b3[p.o_2 + n * p.C + c] * b4[p.o_3 + n]; }
  b1[p.o_0 + c] += s;
}
