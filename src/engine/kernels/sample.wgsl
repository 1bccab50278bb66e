// Token choice on the GPU, the same rule as chooseToken in ../sampling.ts, one workgroup of 256 per row of
// logits, so only (token, logprob) per row goes back to the CPU and the token feeds the next decode step
// without a readback:
//  - max / argmax (lowest index on ties) and the log-sum-exp by fixed-shape trees;
//  - temperature 0: argmax;
//  - temperature > 0 without top-k / top-p: the cumulative walk in index order (each invocation sums one
//    contiguous chunk; invocation 0 walks the chunk sums, then inside the chunk that crosses u * total);
//  - with top-k / top-p: the candidates within 20 * temperature of the max (as chooseToken) are gathered in
//    workgroup memory (at most CAP), bitonic-sorted by (logit desc, index asc), and invocation 0 applies
//    top-k, then top-p, then the walk, in that order.
// The uniform u comes from the CPU's per-row generator as its raw 32 bits (draws), so CPU and GPU see the
// same draw; sums are f32 here and f64 on the CPU, so a token can differ only when u lands within f32
// rounding of a boundary between two tokens' cumulative masses.
// A row whose candidates overflow CAP (or do not hold the top-k / top-p mass, where chooseToken sorts the
// whole vocabulary) gets token -1: the engine chooses that one on the CPU. Non-finite logits: token -2.

struct Params { B: u32, V: u32, temperature: f32, topK: u32, topP: f32, o_0: u32, o_1: u32, o_2: u32, o_3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> choice: array<f32>;
@group(0) @binding(2) var<storage, read_write> next: array<i32>;
@group(0) @binding(3) var<storage, read> logits: array<f32>;
@group(0) @binding(4) var<storage, read> draws: array<u32>;

const WG = 256u;
const CAP = 1024u;

var<workgroup> rv: array<f32, 256>;
var<workgroup> ri: array<u32, 256>;
var<workgroup> ck: array<f32, 1024>;
var<workgroup> ci: array<u32, 1024>;
var<workgroup> count: atomic<u32>;
var<workgroup> countCopy: u32;
var<workgroup> result: vec2f;

fn finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }

fn treeSum(lid: u32, v: f32) -> f32 {
  rv[lid] = v;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w /= 2u) {
    if (lid < w) { rv[lid] += rv[lid + w]; }
    workgroupBarrier();
  }
  // uniform load: every invocation gets the same value, and the analysis knows it (barriers follow)
  let s = workgroupUniformLoad(&rv[0]);
  workgroupBarrier();
  return s;
}

// (logit desc, index asc): a before b
fn before(xa: f32, ia: u32, xb: f32, ib: u32) -> bool { return xa > xb || (xa == xb && ia < ib); }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lidv: vec3u) {
  let b = wid.x;
  let lid = lidv.x;
  let V = p.V;
  let row = p.o_2 + b * V;
  // max and argmax; each invocation walks its indices upwards, so strict > keeps the lowest on ties
  var m = -3.4e38;
  var arg = 0xffffffffu;
  var bad = false;
  for (var j = lid; j < V; j += WG) {
    let x = logits[row + j];
    if (!finite(x)) { bad = true; }
    if (x > m || arg == 0xffffffffu) { m = x; arg = j; }
  }
  rv[lid] = m;
  ri[lid] = arg;
  if (bad) { ri[lid] = 0xfffffffeu; }
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w /= 2u) {
    if (lid < w) {
      let bi = ri[lid + w];
      let ai = ri[lid];
      if (bi == 0xfffffffeu || ai == 0xfffffffeu) { ri[lid] = 0xfffffffeu; }
      else if (bi != 0xffffffffu && (ai == 0xffffffffu || rv[lid + w] > rv[lid] || (rv[lid + w] == rv[lid] && bi < ai))) {
        rv[lid] = rv[lid + w];
        ri[lid] = bi;
      }
    }
    workgroupBarrier();
  }
  let mx = workgroupUniformLoad(&rv[0]);
  let am = workgroupUniformLoad(&ri[0]);
  workgroupBarrier();
  var e1 = 0.0;
  for (var j = lid; j < V; j += WG) { e1 += exp(logits[row + j] - mx); }
  let sum1 = treeSum(lid, e1);
  let lse = mx + log(sum1);
  if (am == 0xfffffffeu || !finite(sum1)) {
    if (lid == 0u) { choice[p.o_0 + 2u * b] = -2.0; choice[p.o_0 + 2u * b + 1u] = 0.0; next[p.o_1 + b] = -1; }
    return;
  }
  var token = i32(am);
  if (p.temperature > 0.0) {
    let invT = 1.0 / p.temperature;
    let u = f32(draws[p.o_3 + b]) * 2.3283064365386963e-10;
    var et = 0.0;
    for (var j = lid; j < V; j += WG) { et += exp((logits[row + j] - mx) * invT); }
    let total = treeSum(lid, et);
    let kActive = p.topK > 0u && p.topK < V;
    if (!kActive && p.topP >= 1.0) {
      // the walk in index order: chunk sums, then invocation 0 finds the crossing
      let chunk = (V + WG - 1u) / WG;
      var cs = 0.0;
      for (var j = lid * chunk; j < min(V, (lid + 1u) * chunk); j++) { cs += exp((logits[row + j] - mx) * invT); }
      rv[lid] = cs;
      workgroupBarrier();
      if (lid == 0u) {
        var goal = u * total;
        var tok = -1;
        var lastChunk = 0u;
        for (var c = 0u; c < WG; c++) {
          if (rv[c] > 0.0) { lastChunk = c; }
          if (goal - rv[c] < 0.0) {
            for (var j = c * chunk; j < min(V, (c + 1u) * chunk); j++) {
              goal -= exp((logits[row + j] - mx) * invT);
              if (goal < 0.0) { tok = i32(j); break; }
            }
            break;
          }
          goal -= rv[c];
        }
        if (tok < 0) {
          // no crossing (rounding): the last token with positive weight, as chooseToken
          for (var j = lastChunk * chunk; j < min(V, (lastChunk + 1u) * chunk); j++) {
            if (exp((logits[row + j] - mx) * invT) > 0.0) { tok = i32(j); }
          }
        }
        result = vec2f(f32(tok), 0.0);
      }
      workgroupBarrier();
      token = i32(workgroupUniformLoad(&result).x);
    } else {
      // candidates within the margin, sorted in workgroup memory
      if (lid == 0u) { atomicStore(&count, 0u); }
      workgroupBarrier();
      let floor = mx - 20.0 * p.temperature;
      for (var j = lid; j < V; j += WG) {
        let x = logits[row + j];
        if (x >= floor) {
          let at = atomicAdd(&count, 1u);
          if (at < CAP) { ck[at] = x; ci[at] = j; }
        }
      }
      workgroupBarrier();
      if (lid == 0u) { countCopy = atomicLoad(&count); }
      let n = workgroupUniformLoad(&countCopy);
      // bitonic sort of the next power of two >= min(n, CAP) slots (padding sorts last); it runs even when
      // n > CAP (the result is then unused) because barriers need uniform control flow
      var size2 = 1u;
      while (size2 < min(n, CAP)) { size2 *= 2u; }
      for (var i = lid; i < size2; i += WG) { if (i >= n) { ck[i] = -3.4e38; ci[i] = 0xffffffffu; } }
      workgroupBarrier();
      for (var size = 2u; size <= size2; size *= 2u) {
        for (var stride = size / 2u; stride > 0u; stride /= 2u) {
          for (var q = lid; q < size2 / 2u; q += WG) {
            let lo = 2u * stride * (q / stride) + q % stride;
            let hi = lo + stride;
            let up = (lo & size) == 0u;
            // ascending runs in the final order: "before" first
            let swap = select(before(ck[lo], ci[lo], ck[hi], ci[hi]), before(ck[hi], ci[hi], ck[lo], ci[lo]), up);
            if (swap) {
              let tx = ck[lo]; ck[lo] = ck[hi]; ck[hi] = tx;
              let ti = ci[lo]; ci[lo] = ci[hi]; ci[hi] = ti;
            }
          }
          workgroupBarrier();
        }
      }
      if (lid == 0u) {
        var tok = -1;
        if (n <= CAP) {
          var mass = 0.0;
          for (var i = 0u; i < n; i++) { mass += exp((ck[i] - mx) * invT); }
          let enough = select(mass >= p.topP * total, n >= p.topK, kActive);
          if (enough) {
            var k = n;
            var tot = total;
            if (kActive) {
              k = p.topK;
              tot = 0.0;
              for (var i = 0u; i < k; i++) { tot += exp((ck[i] - mx) * invT); }
            }
            var keep = k;
            if (p.topP < 1.0) {
              var cum = 0.0;
              for (var i = 0u; i < k; i++) {
                cum += exp((ck[i] - mx) * invT) / tot;
                if (cum >= p.topP) { keep = i + 1u; break; }
              }
            }
            var kept = 0.0;
            for (var i = 0u; i < keep; i++) { kept += exp((ck[i] - mx) * invT); }
            var goal = u * kept;
            tok = i32(ci[keep - 1u]);
            for (var i = 0u; i < keep; i++) {
              goal -= exp((ck[i] - mx) * invT);
              if (goal < 0.0) { tok = i32(ci[i]); break; }
            }
          }
        }
        result = vec2f(f32(tok), 0.0);
      }
      token = i32(workgroupUniformLoad(&result).x);
    }
  }
  if (lid == 0u) {
    choice[p.o_0 + 2u * b] = f32(token);
    var lp = 0.0;
    if (token >= 0) { lp = logits[row + u32(token)] - lse; }
    choice[p.o_0 + 2u * b + 1u] = lp;
    next[p.o_1 + b] = token;
  }
}
