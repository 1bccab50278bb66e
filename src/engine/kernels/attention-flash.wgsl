// The GPU family's attention: causal self-attention with grouped-query heads, scale 1/sqrt(D), flash-style.
// No (B,H,T,T) probabilities are kept: the forward saves only each query row's log-sum-exp (B,H,T) and a
// copy of the key mask (B,T) at the start of the `att` argument, and the backward recomputes every
// probability from q, k, that lse and the mask (the op's backward signature has no mask of its own).
//  forward:       one invocation per query row; a workgroup holds 64 consecutive queries of one (b,h), so
//                 at each key all its invocations read the same k and v row (one broadcast load), and the
//                 softmax is online (running max, running sum, rescaled accumulator): one pass over keys.
//  backwardQuery: per query row: delta = sum_s P (dOut . v_s), then dq = scale * sum_s P (dOut . v_s - delta) k_s;
//                 delta is kept (B,H,T) for backwardKV.
//  backwardKV:    per key row (b,s,g): dk = scale * sum_{h in g, t >= s} P (dOut_t . v_s - delta_t) q_t,
//                 dv = sum P dOut_t; a workgroup holds 64 consecutive keys, so q_t and dOut_t are broadcast.
//  decode:        one workgroup per (b,h) against the KV cache: its invocations split the keys, reduce max
//                 and sum with fixed trees in workgroup memory, then split the head dimension for P v.
// A key with keyMask 0 is never attended; a query with no attendable key gets zero output (lse = NEG).
// Each output has one writer, no atomics: deterministic. Head dims up to MAX_D (the launcher checks).

struct Params {
  B: u32, T: u32, H: u32, Hkv: u32, D: u32, scale: f32,
  o_0: u32, o_1: u32, o_2: u32, o_3: u32, o_4: u32, o_5: u32, o_6: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w1: array<f32>;
@group(0) @binding(2) var<storage, read_write> w2: array<f32>;
@group(0) @binding(3) var<storage, read> r3: array<f32>;
@group(0) @binding(4) var<storage, read> r4: array<f32>;
@group(0) @binding(5) var<storage, read> r5: array<f32>;
@group(0) @binding(6) var<storage, read> r6: array<f32>;
@group(0) @binding(7) var<storage, read> r7: array<f32>;

const NEG = -3.0e38;
const MAX_D = 128u;

// (b, h, t) of this invocation's query row; queries of one (b,h) are consecutive so a workgroup shares keys
// (workgroups fold into (x, y) past the per-dimension limit; a folded-off group gets t = T: nothing to do)
fn queryRow(wid: vec3u, nwg: vec3u, lid: u32) -> vec3u {
  let w = wid.x + wid.y * nwg.x;
  let blocks = (p.T + 63u) / 64u;
  let bh = w / blocks;
  if (bh >= p.B * p.H) { return vec3u(0u, 0u, p.T); }
  return vec3u(bh / p.H, bh % p.H, (w % blocks) * 64u + lid);
}

// w1 = out (B,T,H,D), w2 = lse (B,H,T), r3 = q (B,T,H,D), r4 = k, r5 = v (B,T,Hkv,D), r6 = keyMask (B,T)
@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let bht = queryRow(wid, nwg, lid.x);
  let b = bht.x; let h = bht.y; let t = bht.z;
  let T = p.T; let D = p.D;
  let g = h / (p.H / p.Hkv);
  let valid = t < T;
  let tc = min(t, T - 1u);
  let qr = p.o_2 + ((b * T + tc) * p.H + h) * D;
  var q: array<f32, MAX_D>;
  for (var d = 0u; d < D; d++) { q[d] = r3[qr + d] * p.scale; }
  var acc: array<f32, MAX_D>;
  var mx = NEG;
  var sum = 0.0;
  // invocations of a workgroup walk the same keys in step: each k and v row is one broadcast load
  for (var s = 0u; s <= tc; s++) {
    if (r6[p.o_5 + b * T + s] == 0.0) { continue; }
    let kr = p.o_3 + ((b * T + s) * p.Hkv + g) * D;
    let vr = p.o_4 + ((b * T + s) * p.Hkv + g) * D;
    var sc = 0.0;
    for (var d = 0u; d < D; d++) { sc += q[d] * r4[kr + d]; }
    if (sc > mx) {
      // rescale what was accumulated under the old max
      let f = exp(mx - sc);
      sum *= f;
      for (var d = 0u; d < D; d++) { acc[d] *= f; }
      mx = sc;
    }
    let e = exp(sc - mx);
    sum += e;
    for (var d = 0u; d < D; d++) { acc[d] += e * r5[vr + d]; }
  }
  if (!valid) { return; }
  let orow = p.o_0 + ((b * T + t) * p.H + h) * D;
  var inv = 0.0;
  var lse = NEG;
  if (sum > 0.0) { inv = 1.0 / sum; lse = mx + log(sum); }
  for (var d = 0u; d < D; d++) { w1[orow + d] = acc[d] * inv; }
  w2[p.o_1 + (b * p.H + h) * T + t] = lse;
  // the key mask for the backward, after the lse (T = 1 has no room and needs none: its one key is its own)
  if (h == 0u && T > 1u) { w2[p.o_1 + p.B * p.H * T + b * T + t] = r6[p.o_5 + b * T + t]; }
}

// the key mask the forward saved behind the lse (r4 = att)
fn keyOff(b: u32, s: u32) -> bool {
  if (p.T == 1u) { return false; }
  return r4[p.o_3 + p.B * p.H * p.T + b * p.T + s] == 0.0;
}

// P of query row (b,h,t) at key s from the saved lse; 0 when masked, acausal or the row attends to nothing
fn prob(qs: f32, lse: f32, masked: bool) -> f32 {
  if (masked || lse == NEG) { return 0.0; }
  return exp(qs - lse);
}

// w1 = dq (B,T,H,D), w2 = delta (B,H,T) scratch, r3 = dOut (B,T,H,D), r4 = att (lse, mask), r5 = q, r6 = k, r7 = v
@compute @workgroup_size(64)
fn backwardQuery(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let bht = queryRow(wid, nwg, lid.x);
  let b = bht.x; let h = bht.y; let t = bht.z;
  let T = p.T; let D = p.D;
  if (t >= T) { return; }
  let g = h / (p.H / p.Hkv);
  let row = ((b * T + t) * p.H + h) * D;
  let lse = r4[p.o_3 + (b * p.H + h) * T + t];
  var q: array<f32, MAX_D>;
  var dO: array<f32, MAX_D>;
  for (var d = 0u; d < D; d++) { q[d] = r5[p.o_4 + row + d] * p.scale; dO[d] = r3[p.o_2 + row + d]; }
  var delta = 0.0;
  for (var s = 0u; s <= t; s++) {
    let kr = p.o_5 + ((b * T + s) * p.Hkv + g) * D;
    let vr = p.o_6 + ((b * T + s) * p.Hkv + g) * D;
    var qs = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < D; d++) { qs += q[d] * r6[kr + d]; dp += dO[d] * r7[vr + d]; }
    delta += prob(qs, lse, keyOff(b, s)) * dp;
  }
  var dq: array<f32, MAX_D>;
  for (var s = 0u; s <= t; s++) {
    let kr = p.o_5 + ((b * T + s) * p.Hkv + g) * D;
    let vr = p.o_6 + ((b * T + s) * p.Hkv + g) * D;
    var qs = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < D; d++) { qs += q[d] * r6[kr + d]; dp += dO[d] * r7[vr + d]; }
    let ds = prob(qs, lse, keyOff(b, s)) * (dp - delta) * p.scale;
    for (var d = 0u; d < D; d++) { dq[d] += ds * r6[kr + d]; }
  }
  for (var d = 0u; d < D; d++) { w1[p.o_0 + row + d] = dq[d]; }
  w2[(b * p.H + h) * T + t] = delta;
}

// w1 = dk, w2 = dv (B,T,Hkv,D), r3 = dOut (B,T,H,D), r4 = att (lse, mask), r5 = q, r6 = k, r7 = v; delta in binding 8
@group(0) @binding(8) var<storage, read> delta: array<f32>;

@compute @workgroup_size(64)
fn backwardKV(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let T = p.T; let D = p.D;
  let w = wid.x + wid.y * nwg.x;
  let blocks = (T + 63u) / 64u;
  let bg = w / blocks;
  if (bg >= p.B * p.Hkv) { return; }
  let b = bg / p.Hkv;
  let g = bg % p.Hkv;
  let first = (w % blocks) * 64u;
  let s = first + lid.x;
  let sc = min(s, T - 1u);
  let kvr = ((b * T + sc) * p.Hkv + g) * D;
  var k: array<f32, MAX_D>;
  var v: array<f32, MAX_D>;
  for (var d = 0u; d < D; d++) { k[d] = r6[p.o_5 + kvr + d] * p.scale; v[d] = r7[p.o_6 + kvr + d]; }
  var dk: array<f32, MAX_D>;
  var dv: array<f32, MAX_D>;
  let off = keyOff(b, sc);
  let rep = p.H / p.Hkv;
  for (var h = g * rep; h < (g + 1u) * rep; h++) {
    // from the block's first key: the same q and dOut rows for every invocation at each t (broadcast)
    for (var t = first; t < T; t++) {
      let row = ((b * T + t) * p.H + h) * D;
      let lse = r4[p.o_3 + (b * p.H + h) * T + t];
      var qs = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < D; d++) { qs += r5[p.o_4 + row + d] * k[d]; dp += r3[p.o_2 + row + d] * v[d]; }
      let pr = prob(qs, lse, off || t < s);
      let ds = pr * (dp - delta[(b * p.H + h) * T + t]);
      for (var d = 0u; d < D; d++) {
        dk[d] += ds * r5[p.o_4 + row + d];
        dv[d] += pr * r3[p.o_2 + row + d];
      }
    }
  }
  if (s >= T) { return; }
  for (var d = 0u; d < D; d++) {
    w1[p.o_0 + kvr + d] = dk[d] * p.scale;
    w2[p.o_1 + kvr + d] = dv[d];
  }
}

var<workgroup> red: array<f32, 64>;

fn treeMax(lid: u32) {
  workgroupBarrier();
  for (var w = 32u; w > 0u; w /= 2u) {
    if (lid < w) { red[lid] = max(red[lid], red[lid + w]); }
    workgroupBarrier();
  }
}

fn treeSum(lid: u32) {
  workgroupBarrier();
  for (var w = 32u; w > 0u; w /= 2u) {
    if (lid < w) { red[lid] += red[lid + w]; }
    workgroupBarrier();
  }
}

// T is the cache capacity S; one workgroup per (b,h). w1 = out (B,H,D), w2 = scores scratch (B,H,S),
// r3 = q (B,H,D), r4 = kCache, r5 = vCache (B,S,Hkv,D), r6 = keyMask (B,S)
@compute @workgroup_size(64)
fn decode(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let bh = wid.x + wid.y * nwg.x;
  let inRange = bh < p.B * p.H;
  let bhc = min(bh, p.B * p.H - 1u);
  let S = p.T; let D = p.D;
  let b = bhc / p.H;
  let h = bhc % p.H;
  let g = h / (p.H / p.Hkv);
  let qr = p.o_2 + bhc * D;
  let sr = bhc * S;
  var mx = NEG;
  for (var s = lid.x; s < S; s += 64u) {
    var sc = NEG;
    if (r6[p.o_5 + b * S + s] != 0.0) {
      let kr = p.o_3 + ((b * S + s) * p.Hkv + g) * D;
      var dot = 0.0;
      for (var d = 0u; d < D; d++) { dot += r3[qr + d] * r4[kr + d]; }
      sc = dot * p.scale;
      mx = max(mx, sc);
    }
    w2[sr + s] = sc;
  }
  red[lid.x] = mx;
  treeMax(lid.x);
  let m = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var s = lid.x; s < S; s += 64u) {
    var e = 0.0;
    if (w2[sr + s] != NEG) { e = exp(w2[sr + s] - m); }
    w2[sr + s] = e;
    sum += e;
  }
  red[lid.x] = sum;
  treeSum(lid.x);
  let total = red[0];
  // the probabilities other invocations wrote must be visible before P v reads them
  storageBarrier();
  var inv = 0.0;
  if (total > 0.0) { inv = 1.0 / total; }
  if (!inRange) { return; }
  for (var d = lid.x; d < D; d += 64u) {
    var acc = 0.0;
    for (var s = 0u; s < S; s++) { acc += w2[sr + s] * r5[p.o_4 + ((b * S + s) * p.Hkv + g) * D + d]; }
    w1[p.o_0 + bh * D + d] = acc * inv;
  }
}
