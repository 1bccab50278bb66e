// Token log-probabilities: logprob = logits[target] - logsumexp(logits), and the backward
// dLogits = dLogprob * (onehot(target) - softmax). The vocabulary is large (49152 for SmolLM2), so the
// forward splits each row into chunks: one invocation per (row, chunk) finds the chunk's max and sum of
// exp, then one per row merges the chunks. No workgroup barriers (costly on CPU-backed adapters).

struct Params { N: u32, V: u32, chunks: u32, o_0: u32, o_1: u32, o_2: u32, o_3: u32, o_4: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> b1: array<f32>;
@group(0) @binding(2) var<storage, read_write> b2: array<f32>;
@group(0) @binding(3) var<storage, read_write> b3: array<f32>;
@group(0) @binding(4) var<storage, read_write> b4: array<f32>;
@group(0) @binding(5) var<storage, read_write> targets: array<i32>;

fn flat(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 64u; }

// b1 = partials (N, chunks, 2): max and sum of exp(x - max) per chunk; b3 = logits (N,V)
@compute @workgroup_size(64)
fn chunkStats(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.N * p.chunks) { return; }
  let n = i / p.chunks;
  let chunk = i % p.chunks;
  let size = (p.V + p.chunks - 1u) / p.chunks;
  let begin = p.o_2 + n * p.V + min(chunk * size, p.V);
  let end = p.o_2 + n * p.V + min(chunk * size + size, p.V);
  var m = -3.0e38;
  for (var j = begin; j < end; j++) { m = max(m, b3[j]); }
  var s = 0.0;
  for (var j = begin; j < end; j++) { s += exp(b3[j] - m); }
  b1[2u * i] = m;
  b1[2u * i + 1u] = s;
}

// b1 = logprobs (N), b2 = lse (N), b3 = logits (N,V), b4 = partials (N, chunks, 2), targets (N)
@compute @workgroup_size(64)
fn combine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = flat(gid, nwg);
  if (n >= p.N) { return; }
  let base = 2u * n * p.chunks;
  var m = -3.0e38;
  for (var c = 0u; c < p.chunks; c++) { m = max(m, b4[base + 2u * c]); }
  var s = 0.0;
  for (var c = 0u; c < p.chunks; c++) { s += b4[base + 2u * c + 1u] * exp(b4[base + 2u * c] - m); }
  let lse = m + log(s);
  b2[p.o_1 + n] = lse;
  let t = targets[p.o_4 + n];
  // An out-of-range target cannot throw here; an impossible -3e38 makes it visible (the engine checks targets first).
  var lp = -3.0e38;
  if (t >= 0 && u32(t) < p.V) { lp = b3[p.o_2 + n * p.V + u32(t)] - lse; }
  b1[p.o_0 + n] = lp;
}

// b1 = dLogits (N,V) overwritten, b2 = dLogprobs (N), b3 = logits (N,V), b4 = lse (N), targets (N)
@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.N * p.V) { return; }
  let n = i / p.V;
  let j = i % p.V;
  let g = b2[p.o_1 + n];
  var d = -g * exp(b3[p.o_2 + i] - b4[p.o_3 + n]);
  if (i32(j) == targets[p.o_4 + n]) { d += g; }
  b1[p.o_0 + i] = d;
}
