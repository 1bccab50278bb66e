// Causal self-attention with grouped-query heads (query head h reads kv head h / (H / Hkv)), scale 1/sqrt(D).
//  forward:        one invocation per query row (b,h,t): scores, softmax into att (B,H,T,T), out = att v.
//  backwardQuery:  one invocation per row: dS = att * (dOut.v - sum(att * dOut.v)) * scale into scratch,
//                  dq = dS k (overwritten).
//  backwardKV:     one invocation per (b,s,g,d): dk = sum over the group's heads and t >= s of dS q,
//                  dv = sum of att dOut (overwritten). No float atomics: each output has one writer.
//  decode:         one invocation per (b,h) against the KV cache (B,S,Hkv,D), scores in scratch (B,H,S).
//  cacheWrite:     k or v (B,1,Hkv,D) into the cache at per-row positions.
// A key with keyMask 0 is never attended; a query with no attendable key gets zero output. No kernel uses
// workgroup barriers: they cost more than the arithmetic on CPU-backed adapters (SwiftShader).

struct Params {
  B: u32, T: u32, H: u32, Hkv: u32, D: u32, scale: f32,
  o_0: u32, o_1: u32, o_2: u32, o_3: u32, o_4: u32, o_5: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> b1: array<f32>;
@group(0) @binding(2) var<storage, read_write> b2: array<f32>;
@group(0) @binding(3) var<storage, read_write> b3: array<f32>;
@group(0) @binding(4) var<storage, read_write> b4: array<f32>;
@group(0) @binding(5) var<storage, read_write> b5: array<f32>;
@group(0) @binding(6) var<storage, read_write> b6: array<f32>;
@group(0) @binding(7) var<storage, read_write> pos: array<i32>;

const NEG = -3.0e38;

// b1 = out (B,T,H,D), b2 = att (B,H,T,T), b3 = q (B,T,H,D), b4 = k, b5 = v (B,T,Hkv,D), b6 = keyMask (B,T)
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  let T = p.T;
  let D = p.D;
  if (idx >= p.B * p.H * T) { return; }
  let t = idx % T;
  let h = (idx / T) % p.H;
  let b = idx / (T * p.H);
  let g = h / (p.H / p.Hkv);
  let ar = p.o_1 + ((b * p.H + h) * T + t) * T;
  let qr = p.o_2 + ((b * T + t) * p.H + h) * D;
  var mx = NEG;
  var found = false;
  for (var s = 0u; s <= t; s++) {
    var sc = 0.0;
    if (b6[p.o_5 + b * T + s] != 0.0) {
      let kr = p.o_3 + ((b * T + s) * p.Hkv + g) * D;
      var dot = 0.0;
      for (var d = 0u; d < D; d++) { dot += b3[qr + d] * b4[kr + d]; }
      sc = dot * p.scale;
      mx = max(mx, sc);
      found = true;
    }
    b2[ar + s] = sc;
  }
  for (var s = t + 1u; s < T; s++) { b2[ar + s] = 0.0; }
  let orow = p.o_0 + ((b * T + t) * p.H + h) * D;
  if (!found) {
    for (var s = 0u; s <= t; s++) { b2[ar + s] = 0.0; }
    for (var d = 0u; d < D; d++) { b1[orow + d] = 0.0; }
    return;
  }
  var sum = 0.0;
  for (var s = 0u; s <= t; s++) {
    var e = 0.0;
    if (b6[p.o_5 + b * T + s] != 0.0) { e = exp(b2[ar + s] - mx); }
    b2[ar + s] = e;
    sum += e;
  }
  let inv = 1.0 / sum;
  for (var s = 0u; s <= t; s++) { b2[ar + s] *= inv; }
  for (var d = 0u; d < D; d++) {
    var acc = 0.0;
    for (var s = 0u; s <= t; s++) { acc += b2[ar + s] * b5[p.o_4 + ((b * T + s) * p.Hkv + g) * D + d]; }
    b1[orow + d] = acc;
  }
}

// b1 = dq (B,T,H,D), b2 = dS scratch (B,H,T,T), b3 = dOut (B,T,H,D), b4 = att, b5 = k, b6 = v
@compute @workgroup_size(64)
fn backwardQuery(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  let T = p.T;
  let D = p.D;
  if (idx >= p.B * p.H * T) { return; }
  let t = idx % T;
  let h = (idx / T) % p.H;
  let b = idx / (T * p.H);
  let g = h / (p.H / p.Hkv);
  let ar = ((b * p.H + h) * T + t) * T;
  let dor = p.o_2 + ((b * T + t) * p.H + h) * D;
  var weighted = 0.0;
  for (var s = 0u; s <= t; s++) {
    let vr = p.o_5 + ((b * T + s) * p.Hkv + g) * D;
    var dot = 0.0;
    for (var d = 0u; d < D; d++) { dot += b3[dor + d] * b6[vr + d]; }
    b2[p.o_1 + ar + s] = dot;
    weighted += b4[p.o_3 + ar + s] * dot;
  }
  for (var s = 0u; s <= t; s++) {
    b2[p.o_1 + ar + s] = b4[p.o_3 + ar + s] * (b2[p.o_1 + ar + s] - weighted) * p.scale;
  }
  let dqr = p.o_0 + ((b * T + t) * p.H + h) * D;
  for (var d = 0u; d < D; d++) {
    var acc = 0.0;
    for (var s = 0u; s <= t; s++) { acc += b2[p.o_1 + ar + s] * b5[p.o_4 + ((b * T + s) * p.Hkv + g) * D + d]; }
    b1[dqr + d] = acc;
  }
}

// b1 = dk, b2 = dv (B,T,Hkv,D), b3 = dS scratch (B,H,T,T), b4 = att (B,H,T,T), b5 = q, b6 = dOut (B,T,H,D)
@compute @workgroup_size(64)
fn backwardKV(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  let T = p.T;
  let D = p.D;
  if (idx >= p.B * T * p.Hkv * D) { return; }
  let d = idx % D;
  let g = (idx / D) % p.Hkv;
  let s = (idx / (D * p.Hkv)) % T;
  let b = idx / (D * p.Hkv * T);
  let rep = p.H / p.Hkv;
  var dk = 0.0;
  var dv = 0.0;
  for (var h = g * rep; h < (g + 1u) * rep; h++) {
    for (var t = s; t < T; t++) {
      let a = ((b * p.H + h) * T + t) * T + s;
      let qr = ((b * T + t) * p.H + h) * D + d;
      dk += b3[p.o_2 + a] * b5[p.o_4 + qr];
      dv += b4[p.o_3 + a] * b6[p.o_5 + qr];
    }
  }
  b1[p.o_0 + idx] = dk;
  b2[p.o_1 + idx] = dv;
}

// T is the cache capacity S here; one invocation per (b,h) row. b1 = out (B,H,D), b2 = q (B,H,D),
// b3 = kCache, b4 = vCache (B,S,Hkv,D), b5 = keyMask (B,S), b6 = scores scratch (B,H,S)
@compute @workgroup_size(64)
fn decode(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let bh = gid.x + gid.y * nwg.x * 64u;
  if (bh >= p.B * p.H) { return; }
  let S = p.T;
  let D = p.D;
  let b = bh / p.H;
  let h = bh % p.H;
  let g = h / (p.H / p.Hkv);
  let qr = p.o_1 + bh * D;
  let sr = p.o_5 + bh * S;
  var mx = NEG;
  for (var s = 0u; s < S; s++) {
    var sc = 0.0;
    if (b5[p.o_4 + b * S + s] != 0.0) {
      let kr = p.o_2 + ((b * S + s) * p.Hkv + g) * D;
      var dot = 0.0;
      for (var d = 0u; d < D; d++) { dot += b2[qr + d] * b3[kr + d]; }
      sc = dot * p.scale;
      mx = max(mx, sc);
    }
    b6[sr + s] = sc;
  }
  var sum = 0.0;
  for (var s = 0u; s < S; s++) {
    var e = 0.0;
    if (b5[p.o_4 + b * S + s] != 0.0) { e = exp(b6[sr + s] - mx); }
    b6[sr + s] = e;
    sum += e;
  }
  var inv = 0.0;
  if (sum > 0.0) { inv = 1.0 / sum; }
  let orow = p.o_0 + bh * D;
  for (var d = 0u; d < D; d++) {
    var acc = 0.0;
    for (var s = 0u; s < S; s++) { acc += b6[sr + s] * b4[p.o_3 + ((b * S + s) * p.Hkv + g) * D + d]; }
    b1[orow + d] = acc * inv;
  }
}

// T is the cache capacity S. b1 = cache (B,S,Hkv,D), b2 = kv (B,1,Hkv,D), pos (B)
@compute @workgroup_size(64)
fn cacheWrite(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  let row = p.Hkv * p.D;
  if (idx >= p.B * row) { return; }
  let b = idx / row;
  let r = idx % row;
  let at = pos[p.o_2 + b];
  if (at < 0 || u32(at) >= p.T) { return; }
  b1[p.o_0 + (b * p.T + u32(at)) * row + r] = b2[p.o_1 + idx];
}
