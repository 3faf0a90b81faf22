// add: y[i] += alpha * x[i], the residual add (the model mostly fuses it into matmul's
// ACCUMULATE mode; this kernel is the standalone form).
// Dispatch grid: (ceil(len / 64), 1, 1).

struct Params {
    len: u32,   // elements
    alpha: f32, // scale of x
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;       // [len]
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [len]

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i < p.len) {
        y[i] += p.alpha * x[i];
    }
}
