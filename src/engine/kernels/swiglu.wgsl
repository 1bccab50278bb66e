// SwiGLU: out = silu(gate) * up, and its backward. Flat over N*I elements.

struct Params { n: u32, o_0: u32, o_1: u32, o_2: u32, o_3: u32, o_4: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> b1: array<f32>;
@group(0) @binding(2) var<storage, read_write> b2: array<f32>;
@group(0) @binding(3) var<storage, read_write> b3: array<f32>;
@group(0) @binding(4) var<storage, read_write> b4: array<f32>;
@group(0) @binding(5) var<storage, read_write> b5: array<f32>;

fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }

// b1 = out (N,I); b2 = gate (N,I); b3 = up (N,I)
@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let g = b2[p.o_1 + i];
  b1[p.o_0 + i] = g * sigmoid(g) * b3[p.o_2 + i];
}

// b1 = dGate, b2 = dUp, b3 = dOut, b4 = gate, b5 = up; all (N,I); dGate and dUp are overwritten
@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let g = b4[p.o_3 + i];
  let go = b3[p.o_2 + i];
  let s = sigmoid(g);
  b2[p.o_1 + i] = go * g * s;
  // d silu(g)/dg = s * (1 + g (1 - s))
  b1[p.o_0 + i] = go * b5[p.o_4 + i] * s * (1.0 + g * (1.0 - s));
}
