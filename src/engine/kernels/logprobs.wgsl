// Token log-probabilities: logprob = logits[target] - logsumexp(logits), one workgroup per row (the vocab
// is large: 49152 for SmolLM2); and the backward dLogits = dLogprob * (onehot(target) - softmax), flat.

struct Params { N: u32, V: u32, o_0: u32, o_1: u32, o_2: u32, o_3: u32, o_4: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> b1: array<f32>;
@group(0) @binding(2) var<storage, read_write> b2: array<f32>;
@group(0) @binding(3) var<storage, read_write> b3: array<f32>;
@group(0) @binding(4) var<storage, read_write> b4: array<f32>;
@group(0) @binding(5) var<storage, read_write> targets: array<i32>;

const WG = 256u;
var<workgroup> partial: array<f32, WG>;

fn workgroupMax(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] = max(partial[lid], partial[lid + stride]); }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&partial[0]);
}

fn workgroupSum(lid: u32, v: f32) -> f32 {
  workgroupBarrier(); // everyone has read the previous result before it is overwritten
  partial[lid] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&partial[0]);
}

// b1 = logprobs (N), b2 = lse (N), b3 = logits (N,V), targets (N)
@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x + wid.y * nwg.x;
  if (n >= p.N) { return; }
  let r = p.o_2 + n * p.V;
  var m = -3.0e38;
  for (var j = lid; j < p.V; j += WG) { m = max(m, b3[r + j]); }
  let rowMax = workgroupMax(lid, m);
  var s = 0.0;
  for (var j = lid; j < p.V; j += WG) { s += exp(b3[r + j] - rowMax); }
  let lse = rowMax + log(workgroupSum(lid, s));
  if (lid == 0u) {
    b2[p.o_1 + n] = lse;
    let t = targets[p.o_4 + n];
    // An out-of-range target cannot throw here; an impossible -3e38 makes it visible (the engine checks targets first).
    var lp = -3.0e38;
    if (t >= 0 && u32(t) < p.V) { lp = b3[r + u32(t)] - lse; }
    b1[p.o_0 + n] = lp;
  }
}

// b1 = dLogits (N,V) overwritten, b2 = dLogprobs (N), b3 = logits (N,V), b4 = lse (N), targets (N)
@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.N * p.V) { return; }
  let n = i / p.V;
  let j = i % p.V;
  let g = b2[p.o_1 + n];
  var d = -g * exp(b3[p.o_2 + i] - b4[p.o_3 + n]);
  if (i32(j) == targets[p.o_4 + n]) { d += g; }
  b1[p.o_0 + i] = d;
}
