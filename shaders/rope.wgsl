// rope (rotate-half, Llama), in place on the q and k heads of a fused qkv buffer, on the
// first R = rot dims of each head (R = dh: all; R < dh: partial RoPE, the rest unchanged):
// for head row v at absolute position t = pos0 + row, i < R/2, f_i = theta^(-2i/R):
//   (v[i], v[i + R/2]) <- (a cos(t f_i) - b sin(t f_i), b cos(t f_i) + a sin(t f_i)).
// One thread per (row, head, i); heads 0..HQ are q (columns 0..HQ*dh), then HK k heads
// from column k_off.
// Dispatch grid: (ceil(T * (HQ + HK) * R/2 / 64), 1, 1), folded past the device limit.

struct Params {
    t: u32,        // T: rows (tokens)
    stride: u32,   // floats per row of qkv
    n_q: u32,      // HQ: query heads
    n_k: u32,      // HK: key heads
    k_off: u32,    // first column of k
    head_dim: u32, // dh (even)
    theta: f32,    // rope_theta
    rot: u32,      // R: dims rotated per head (even, <= dh, > 0)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pos: array<u32>;       // [1]: pos0
@group(0) @binding(2) var<storage, read_write> qkv: array<f32>; // [T, stride]

// 2 pi split so that k * TAU_HI is exact for k < 2^16 (Cody-Waite range reduction).
const TAU_HI: f32 = 6.28125;
const TAU_LO: f32 = 0.0019353071795864769;

// (cos, sin) of the angle t * theta^(-2i/R), reduced mod 2 pi first.
fn rope_cs(t: u32, i: u32, rot: u32, theta: f32) -> vec2<f32> {
    let freq = pow(theta, -2.0 * f32(i) / f32(rot));
    let angle = f32(t) * freq;
    let turns = round(angle / (TAU_HI + TAU_LO));
    let r = (angle - turns * TAU_HI) - turns * TAU_LO;
    return vec2<f32>(cos(r), sin(r));
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let half = p.rot / 2u;
    let heads = p.n_q + p.n_k;
    let idx = wg_index(wid, nwg) * 64u + li;
    if (idx >= p.t * heads * half) {
        return;
    }
    let i = idx % half;
    let head = (idx / half) % heads;
    let row = idx / (half * heads);
    var col = head * p.head_dim;
    if (head >= p.n_q) {
        col = p.k_off + (head - p.n_q) * p.head_dim;
    }
    let base = row * p.stride + col;
    let cs = rope_cs(pos[0] + row, i, p.rot, p.theta);
    let a = qkv[base + i];
    let b = qkv[base + i + half];
    qkv[base + i] = a * cs.x - b * cs.y;
    qkv[base + i + half] = b * cs.x + a * cs.y;
}
