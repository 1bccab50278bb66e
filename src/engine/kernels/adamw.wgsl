// The optimizer: one AdamW step over the flat params buffer (decoupled weight decay first, as torch.optim.AdamW
// does, then the bias-corrected Adam update on grads * gradScale), and the sum of squares used for global-norm
// clipping: a fixed number of partial sums, then one invocation adds them in order (deterministic).
//
// These run over every parameter (135M for SmolLM2), so each invocation handles many items: item i of
// invocation t is t * p.threadStep + j * p.iterStep for j < p.perThread. A GPU wants threadStep = 1 (adjacent
// invocations read adjacent memory); a CPU-backed adapter wants iterStep = 1 (each invocation streams one
// contiguous block), and far fewer workgroups. The *4 entry points do the same on vec4 items when every
// offset and n are multiples of 4. No workgroup barriers anywhere.
//
// Weight decay applies inside the decay ranges: (R,2) u32 [start, end) element ranges, sorted and disjoint
// (a few per layer: the matrices), instead of a mask as large as the params. An invocation finds the range
// of its first element by binary search, then walks forward: its items only ever increase.

struct Params {
  n: u32, o_0: u32, o_1: u32, o_2: u32, o_3: u32, o_4: u32, ranges: u32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, bc1: f32, bc2: f32, gradScale: f32,
  threads: u32, perThread: u32, threadStep: u32, iterStep: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> b1: array<f32>;
@group(0) @binding(2) var<storage, read_write> b2: array<f32>;
@group(0) @binding(3) var<storage, read_write> b3: array<f32>;
@group(0) @binding(4) var<storage, read_write> b4: array<f32>;
@group(0) @binding(5) var<storage, read_write> dr: array<u32>;

fn thread(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 64u; }

fn rangeEnd(r: u32) -> u32 { return dr[p.o_4 + 2u * r + 1u]; }

// the first decay range that ends after element e (p.ranges when none does)
fn firstRange(e: u32) -> u32 {
  var lo = 0u;
  var hi = p.ranges;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (rangeEnd(mid) <= e) { lo = mid + 1u; } else { hi = mid; }
  }
  return lo;
}

// 1.0 when element e lies in a decay range; r is the cursor, moved forward past ranges that end before e
fn decayAt(e: u32, r: ptr<function, u32>) -> f32 {
  while (*r < p.ranges && rangeEnd(*r) <= e) { *r += 1u; }
  if (*r < p.ranges && e >= dr[p.o_4 + 2u * *r]) { return 1.0; }
  return 0.0;
}

// b1 = params, b2 = grads, b3 = m, b4 = v (n); dr = decay ranges (p.ranges, 2)
@compute @workgroup_size(64)
fn adamw(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = thread(gid, nwg);
  if (t >= p.threads) { return; }
  var r = firstRange(t * p.threadStep);
  for (var j = 0u; j < p.perThread; j++) {
    let i = t * p.threadStep + j * p.iterStep;
    if (i >= p.n) { break; }
    let g = b2[p.o_1 + i] * p.gradScale;
    let m = p.beta1 * b3[p.o_2 + i] + (1.0 - p.beta1) * g;
    let v = p.beta2 * b4[p.o_3 + i] + (1.0 - p.beta2) * g * g;
    b3[p.o_2 + i] = m;
    b4[p.o_3 + i] = v;
    var w = b1[p.o_0 + i];
    w -= p.lr * p.weightDecay * decayAt(i, &r) * w;
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

// adamw on vec4 items: n, offsets (the decay ranges' aside: those stay in elements) and the loop in units of 4 floats
@compute @workgroup_size(64)
fn adamw4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = thread(gid, nwg);
  if (t >= p.threads) { return; }
  var r = firstRange(4u * t * p.threadStep);
  for (var j = 0u; j < p.perThread; j++) {
    let i = t * p.threadStep + j * p.iterStep;
    if (i >= p.n) { break; }
    let g = c2[p.o_1 + i] * p.gradScale;
    let m = p.beta1 * c3[p.o_2 + i] + (1.0 - p.beta1) * g;
    let v = p.beta2 * c4[p.o_3 + i] + (1.0 - p.beta2) * g * g;
    c3[p.o_2 + i] = m;
    c4[p.o_3 + i] = v;
    var w = c1[p.o_0 + i];
    // a range may start or end inside these 4 elements (a table row of the LoRA adapter)
    let e = 4u * i;
    let mask = vec4f(decayAt(e, &r), decayAt(e + 1u, &r), decayAt(e + 2u, &r), decayAt(e + 3u, &r));
    w -= p.lr * p.weightDecay * mask * w;
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
