// The optimizer: one AdamW step over the flat params buffer (decoupled weight decay first, as torch.optim.AdamW
// does, then the bias-corrected Adam update on grads * gradScale), and the sum of squares used for global-norm
// clipping: a fixed number of partial sums, then one invocation adds them in order (deterministic).
//
// These run over every parameter (135M for SmolLM2), so each invocation handles many items: item i of
// invocation t is t * p.threadStep + j * p.iterStep for j < p.perThread. A GPU wants threadStep = 1 (adjacent
// invocations read adjacent memory); a CPU-backed adapter wants iterStep = 1 (each invocation streams one
// contiguous block), and far fewer workgroups. The *4 entry points do the same on vec4 items when every
// offset and n are multiples of 4. No workgroup barriers anywhere.

struct Params {
  n: u32, o_0: u32, o_1: u32, o_2: u32, o_3: u32, o_4: u32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, bc1: f32, bc2: f32, gradScale: f32,
  threads: u32, perThread: u32, threadStep: u32, iterStep: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> b1: array<f32>;
@group(0) @binding(2) var<storage, read_write> b2: array<f32>;
@group(0) @binding(3) var<storage, read_write> b3: array<f32>;
@group(0) @binding(4) var<storage, read_write> b4: array<f32>;
@group(0) @binding(5) var<storage, read_write> b5: array<f32>;

fn thread(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 64u; }

// b1 = params, b2 = grads, b3 = m, b4 = v, b5 = decayMask; all (n)
@compute @workgroup_size(64)
fn adamw(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = thread(gid, nwg);
  if (t >= p.threads) { return; }
  for (var j = 0u; j < p.perThread; j++) {
    let i = t * p.threadStep + j * p.iterStep;
    if (i >= p.n) { break; }
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
}

// b1 = partials (threads), b2 = x (n)
@compute @workgroup_size(64)
fn sumSquaresPartial(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = thread(gid, nwg);
  if (t >= p.threads) { return; }
  var s = 0.0;
  for (var j = 0u; j < p.perThread; j++) {
    let i = t * p.threadStep + j * p.iterStep;
    if (i >= p.n) { break; }
    let x = b2[p.o_1 + i];
    s += x * x;
  }
  b1[t] = s;
}

// b1 = out (1), b2 = partials (p.n); one invocation, partials added in order
@compute @workgroup_size(1)
fn sumSquaresFinal() {
  var s = 0.0;
  for (var i = 0u; i < p.n; i++) { s += b2[i]; }
  b1[p.o_0] = s;
}

@group(0) @binding(1) var<storage, read_write> c1: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> c2: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c3: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> c4: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> c5: array<vec4f>;

// adamw on vec4 items: n, offsets and the loop in units of 4 floats
@compute @workgroup_size(64)
fn adamw4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = thread(gid, nwg);
  if (t >= p.threads) { return; }
  for (var j = 0u; j < p.perThread; j++) {
    let i = t * p.threadStep + j * p.iterStep;
    if (i >= p.n) { break; }
    let g = c2[p.o_1 + i] * p.gradScale;
    let m = p.beta1 * c3[p.o_2 + i] + (1.0 - p.beta1) * g;
    let v = p.beta2 * c4[p.o_3 + i] + (1.0 - p.beta2) * g * g;
    c3[p.o_2 + i] = m;
    c4[p.o_3 + i] = v;
    var w = c1[p.o_0 + i];
    w -= p.lr * p.weightDecay * c5[p.o_4 + i] * w;
    w -= (p.lr * (m / p.bc1)) / (sqrt(v / p.bc2) + p.eps);
    c1[p.o_0 + i] = w;
  }
}

// sumSquaresPartial on vec4 items; b1 = partials (threads) as in the scalar version
@compute @workgroup_size(64)
fn sumSquaresPartial4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = thread(gid, nwg);
  if (t >= p.threads) { return; }
  var s = 0.0;
  for (var j = 0u; j < p.perThread; j++) {
    let i = t * p.threadStep + j * p.iterStep;
    if (i >= p.n) { break; }
    let x = c2[p.o_1 + i];
    s += dot(x, x);
  }
  b1[t] = s;
}
