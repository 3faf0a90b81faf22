// add: y[i] += alpha * x[i], the residual add (the model mostly fuses it into matmul's
// ACCUMULATE mode; this kernel is the standalone form).
// Dispatch grid: (ceil(len / 64), 1, 1), folded past the device limit.

struct Params {
    len: u32,   // elements
    alpha: f32, // scale of x
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;       // [len]
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [len]

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = wg_index(wid, nwg) * 64u + li;
    if (i < p.len) {
        y[i] += p.alpha * x[i];
    }
}
