// relu2: act[t, f] = max(up[t, f], 0)^2, the activation of an FFN without a gate
// (Nemotron-H's MLP: down(relu(up x)^2)).
// Dispatch grid: (ceil(T * F / 64), 1, 1), folded past the device limit.

struct Params {
    t: u32, // T: rows
    f: u32, // F: hidden width
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> up: array<f32>;        // [T, F]
@group(0) @binding(2) var<storage, read_write> act: array<f32>; // [T, F]

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let idx = wg_index(wid, nwg) * 64u + li;
    if (idx >= p.t * p.f) {
        return;
    }
    let r = max(up[idx], 0.0);
    act[idx] = r * r;
}
