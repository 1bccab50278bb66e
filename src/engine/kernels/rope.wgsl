// Rotary position embedding, rotate-half (Llama / Hugging Face) convention, in place on x (B,T,Hn,D).
// sign = -1 applies the inverse rotation, which is the backward. The inverse frequencies come from the CPU
// (computed in f32 exactly as the reference does) so the angle pos * invFreq is bit-identical; the angle is
// then reduced to [-pi, pi] before sin/cos, where WGSL's precision guarantees hold.

struct Params { B: u32, T: u32, Hn: u32, D: u32, sign: f32, o_x: u32, o_pos: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> positions: array<i32>;
@group(0) @binding(3) var<storage, read_write> invFreq: array<f32>;

// 2*pi split so that k * TWO_PI_HI is exact for k < 2^16 (Cody-Waite reduction).
const TWO_PI_HI = 6.28125;
const TWO_PI_LO = 0.0019353071795864769;
const INV_TWO_PI = 0.15915494309189535;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let half = p.D / 2u;
  let idx = gid.x + gid.y * nwg.x * 256u;
  if (idx >= p.B * p.T * p.Hn * half) { return; }
  let i = idx % half;
  let row = idx / half; // (b, t, h)
  let bt = row / p.Hn;
  let angle = f32(positions[p.o_pos + bt]) * invFreq[i];
  let k = round(angle * INV_TWO_PI);
  let r = (angle - k * TWO_PI_HI) - k * TWO_PI_LO;
  let c = cos(r);
  let s = p.sign * sin(r);
  let base = p.o_x + row * p.D;
  let x1 = x[base + i];
  let x2 = x[base + i + half];
  x[base + i] = x1 * c - x2 * s;
  x[base + i + half] = x2 * c + x1 * s;
}
