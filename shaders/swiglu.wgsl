// swiglu: act[t, f] = silu(gu[t, f]) * gu[t, F + f], the SwiGLU gate on a fused
// gate|up projection output.
// Dispatch grid: (ceil(T * F / 64), 1, 1).

struct Params {
    t: u32, // T: rows
    f: u32, // F: hidden width
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gu: array<f32>;        // [T, 2F]: gate | up
@group(0) @binding(2) var<storage, read_write> act: array<f32>; // [T, F]

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let idx = gid.x;
    if (idx >= p.t * p.f) {
        return;
    }
    let row = idx / p.f;
    let f = idx % p.f;
    let g = gu[row * 2u * p.f + f];
    let u = gu[row * 2u * p.f + p.f + f];
    act[idx] = g / (1.0 + exp(-g)) * u;
}
