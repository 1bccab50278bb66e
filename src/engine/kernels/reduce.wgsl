// The GPU family's reductions, each in two passes with a fixed shape (no float atomics, the same sums in
// the same order on every run: deterministic):
//  colPartial / colFinal: column sums of (M,N) rows (bias grads; RMSNorm weight grads, where the summand is
//    dOut * x * rstd[row]). Pass 1: one invocation per (chunk of ROWS rows, column): adjacent invocations
//    read adjacent columns (coalesced). Pass 2: one invocation per column adds the chunks in order.
//  embedLinks / embedGather: embedding backward. Pass 1: per token position n, the next position with the
//    same token and whether n is the first; pass 2: one invocation per (first position, column) follows
//    the chain, so every row of dTable has one writer and rows add in position order.
//  sqPartial / sqFinal: the global gradient norm's sum of squares. Pass 1: workgroups stride over the
//    vector (coalesced) and tree-reduce in workgroup memory; pass 2: one workgroup tree-reduces the partials.

struct Params { M: u32, N: u32, mode: u32, rows: u32, o_0: u32, o_1: u32, o_2: u32, o_3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;

fn flat(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 256u; }

// out = partials (chunks, N); x = (M,N); mode 1: summand x * y * rstd[row] (y (M,N), rstd (M))
@compute @workgroup_size(256)
fn colPartial(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  let chunks = (p.M + p.rows - 1u) / p.rows;
  if (i >= chunks * p.N) { return; }
  let j = i % p.N;
  let c = i / p.N;
  let end = min(p.M, (c + 1u) * p.rows);
  var s = 0.0;
  for (var r = c * p.rows; r < end; r++) {
    if (p.mode == 1u) { s += x[p.o_1 + r * p.N + j] * y[p.o_2 + r * p.N + j] * rstd[p.o_3 + r]; }
    else { s += x[p.o_1 + r * p.N + j]; }
  }
  out[p.o_0 + i] = s;
}

// out (N) += column sums of x = partials (chunks, N), chunks = M here
@compute @workgroup_size(256)
fn colFinal(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = flat(gid, nwg);
  if (j >= p.N) { return; }
  var s = 0.0;
  for (var c = 0u; c < p.M; c++) { s += x[p.o_1 + c * p.N + j]; }
  out[p.o_0 + j] += s;
}

@group(0) @binding(1) var<storage, read_write> links: array<i32>;
@group(0) @binding(2) var<storage, read> tokens: array<i32>;
@group(0) @binding(5) var<storage, read> linked: array<i32>;

// M = token count N, links (2N): [n] = next position with tokens[n] (or -1), [N + n] = 1 when n is the first
@compute @workgroup_size(256)
fn embedLinks(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = flat(gid, nwg);
  if (n >= p.M) { return; }
  let tok = tokens[p.o_1 + n];
  var first = 1;
  for (var m = 0u; m < n; m++) { if (tokens[p.o_1 + m] == tok) { first = 0; break; } }
  var next = -1;
  for (var m = n + 1u; m < p.M; m++) { if (tokens[p.o_1 + m] == tok) { next = i32(m); break; } }
  links[n] = next;
  links[p.M + n] = first;
}

// M = token count, N = C, rows = V; out = dTable (V,C) +=, tokens (M), y = dOut (M,C), linked = links from embedLinks
@compute @workgroup_size(256)
fn embedGather(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat(gid, nwg);
  if (i >= p.M * p.N) { return; }
  let n = i / p.N;
  let c = i % p.N;
  if (linked[p.M + n] == 0) { return; }
  let tok = tokens[p.o_1 + n];
  if (tok < 0 || u32(tok) >= p.rows) { return; }
  var s = 0.0;
  var m = i32(n);
  loop {
    if (m < 0) { break; }
    s += y[p.o_2 + u32(m) * p.N + c];
    m = linked[u32(m)];
  }
  out[p.o_0 + u32(tok) * p.N + c] += s;
}

var<workgroup> tree: array<f32, 256>;

fn treeSum(lid: u32) {
  workgroupBarrier();
  for (var w = 128u; w > 0u; w /= 2u) {
    if (lid < w) { tree[lid] += tree[lid + w]; }
    workgroupBarrier();
  }
}

// M = n, out = partials (workgroups); x (n)
@compute @workgroup_size(256)
fn sqPartial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let stride = nwg.x * 256u;
  var s = 0.0;
  for (var i = wid.x * 256u + lid.x; i < p.M; i += stride) { let v = x[p.o_1 + i]; s += v * v; }
  tree[lid.x] = s;
  treeSum(lid.x);
  if (lid.x == 0u) { out[wid.x] = tree[0]; }
}

// M = partial count; out (1) = their sum; x = partials
@compute @workgroup_size(256)
fn sqFinal(@builtin(local_invocation_id) lid: vec3u) {
  var s = 0.0;
  for (var i = lid.x; i < p.M; i += 256u) { s += x[i]; }
  tree[lid.x] = s;
  treeSum(lid.x);
  if (lid.x == 0u) { out[p.o_0] = tree[0]; }
}
