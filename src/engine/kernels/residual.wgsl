// Residual stream: dst = a + b (forward) and dst += a (gradient accumulation); and dst = a, for copies
// within one buffer (copyBufferToBuffer refuses those). Flat over n elements.
// Every storage binding is read_write: views of one flat buffer are often bound twice in one dispatch, and
// WebGPU forbids mixing read-only and writable bindings of the same buffer.

struct Params { n: u32, o_dst: u32, o_a: u32, o_b: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read_write> a: array<f32>;
@group(0) @binding(3) var<storage, read_write> b: array<f32>;

@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  dst[p.o_dst + i] = a[p.o_a + i] + b[p.o_b + i];
}

@compute @workgroup_size(256)
fn accumulate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  dst[p.o_dst + i] += a[p.o_a + i];
}

@compute @workgroup_size(256)
fn copy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  dst[p.o_dst + i] = a[p.o_a + i];
}
