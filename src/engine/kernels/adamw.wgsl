// The optimizer: one AdamW step over the flat params buffer (decoupled weight decay first, as torch.optim.AdamW
// does, then the bias-corrected Adam update on grads * gradScale), and the sum of squares used for global-norm
// clipping: a fixed number of strided partial sums, then one invocation adds them in order (deterministic,
// and no workgroup barriers, which are slow on CPU-backed adapters).

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

// b1 = partials (stride), b2 = x (n): invocation g sums x[g], x[g + stride], ... (stride = invocations)
@compute @workgroup_size(256)
fn sumSquaresPartial(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= p.stride) { return; }
  var s = 0.0;
  for (var i = gid.x; i < p.n; i += p.stride) { let x = b2[p.o_1 + i]; s += x * x; }
  b1[gid.x] = s;
}

// b1 = out (1), b2 = partials (n); one invocation, partials added in order
@compute @workgroup_size(1)
fn sumSquaresFinal() {
  var s = 0.0;
  for (var i = 0u; i < p.n; i++) { s += b2[i]; }
  b1[p.o_0] = s;
}
