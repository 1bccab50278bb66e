// The optimizer: one AdamW step over the flat params buffer (decoupled weight decay first, as torch.optim.AdamW
// does, then the bias-corrected Adam update on grads * gradScale), and the sum of squares used for global-norm
// clipping: fixed-size partial sums per workgroup, then one workgroup adds the partials (deterministic order).

struct Params {
  n: u32, o_0: u32, o_1: u32, o_2: u32, o_3: u32, o_4: u32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, bc1: f32, bc2: f32, gradScale: f32,
  stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> b1: array<f32>;
@group(0) @binding(2) var<storage, read_write> b2: array<f32>;
@group(0) @binding(3) var<storage, read_write> b3: array<f32>;
@group(0) @binding(4) var<storage, read_write> b4: array<f32>;
@group(0) @binding(5) var<storage, read_write> b5: array<f32>;

// b1 = params, b2 = grads, b3 = m, b4 = v, b5 = decayMask; all (n)
@compute @workgroup_size(256)
fn adamw(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let g = b2[p.o_1 + i] * p.gradScale;
  let m = p.beta1 * b3[p.o_2 + i] + (1.0 - p.beta1) * g;
  let v = p.beta2 * b4[p.o_3 + i] + (1.0 - p.beta2) * g * g;
  b3[p.o_2 + i] = m;
  b4[p.o_3 + i] = v;
  var w = b1[p.o_0 + i];
  w -= p.lr * p.weightDecay * b5[p.o_4 + i] * w;
  w -= (p.lr * (m / p.bc1)) / (sqrt(v / p.bc2) + p.eps);
  b1[p.o_0 + i] = w;
}

const WG = 256u;
var<workgroup> partial: array<f32, WG>;

fn workgroupSum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&partial[0]);
}

// b1 = partials (one per workgroup), b2 = x (n); invocation g sums x[g], x[g + stride], ... (stride = all invocations)
@compute @workgroup_size(256)
fn sumSquaresPartial(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = gid.x; i < p.n; i += p.stride) { let x = b2[p.o_1 + i]; s += x * x; }
  let total = workgroupSum(lid, s);
  if (lid == 0u) { b1[wid.x] = total; }
}

// b1 = out (1), b2 = partials (n)
@compute @workgroup_size(256)
fn sumSquaresFinal(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < p.n; i += WG) { s += b2[i]; }
  let total = workgroupSum(lid, s);
  if (lid == 0u) { b1[p.o_0] = total; }
}
