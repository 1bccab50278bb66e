// Rotary position embedding, rotate-half (Llama / Hugging Face) convention, in place on x (B,T,Hn,D).
// sign = -1 applies the inverse rotation, which is the backward. The inverse frequencies come from the CPU
// (computed in f32 exactly as the reference does) so the angle pos * invFreq is bit-identical.

struct Params { B: u32, T: u32, Hn: u32, D: u32, sign: f32, o_x: u32, o_pos: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> positions: array<i32>;
@group(0) @binding(3) var<storage, read_write> invFreq: array<f32>;

// pi/2 split so that k * PIO2_HI is exact for k < 2^16 (Cody-Waite reduction).
const PIO2_HI = 1.5703125;
const PIO2_LO = 0.00048382679489661923;
const TWO_OVER_PI = 0.63661977236758134;

// (sin, cos) of any angle to ~1 ulp: reduce to y in [-pi/4, pi/4] and a quadrant, then Taylor polynomials
// (truncation below 4e-7 there). Native sin/cos are only promised to 2^-11 and SwiftShader's are that coarse.
fn sincos(angle: f32) -> vec2f {
  let k = round(angle * TWO_OVER_PI);
  let y = (angle - k * PIO2_HI) - k * PIO2_LO;
  let y2 = y * y;
  let s = y * (1.0 + y2 * (-1.0 / 6.0 + y2 * (1.0 / 120.0 + y2 * (-1.0 / 5040.0 + y2 * (1.0 / 362880.0)))));
  let c = 1.0 + y2 * (-0.5 + y2 * (1.0 / 24.0 + y2 * (-1.0 / 720.0 + y2 * (1.0 / 40320.0))));
  switch (i32(k) & 3) {
    case 0: { return vec2f(s, c); }
    case 1: { return vec2f(c, -s); }
    case 2: { return vec2f(-s, -c); }
    default: { return vec2f(-c, s); }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let half = p.D / 2u;
  let idx = gid.x + gid.y * nwg.x * 256u;
  if (idx >= p.B * p.T * p.Hn * half) { return; }
  let i = idx % half;
  let row = idx / half; // (b, t, h)
  let bt = row / p.Hn;
  let angle = f32(positions[p.o_pos + bt]) * invFreq[i];
  let sc = sincos(angle);
  let c = sc.y;
  let s = p.sign * sc.x;
  let base = p.o_x + row * p.D;
  let x1 = x[base + i];
  let x2 = x[base + i + half];
  x[base + i] = x1 * c - x2 * s;
  x[base + i + half] = x2 * c + x1 * s;
}
