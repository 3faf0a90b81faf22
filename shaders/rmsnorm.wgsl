// rmsnorm over groups: out[r, c] = x[r, c] / sqrt(mean_{c' in group(c)} x[r, c']^2 + eps) * w[c] * scale
// Groups are `group` consecutive columns (group = cols: a plain RMSNorm; group = head_dim:
// per-head GroupNorm-style RMS of intra branches; group = E/G: Mamba's gated norm, whose
// gate y * silu(z) is already applied by the scan). One workgroup of WG threads per
// (group, row), a tree reduction for the sum of squares.
// Dispatch grid: (cols / group, rows, 1), folded past the device limit.

struct Params {
    rows: u32,  // R
    cols: u32,  // C (a multiple of group)
    group: u32, // channels per normalized group
    eps: f32,   // norm_eps
    scale: f32, // extra factor (learned branch scalar, else 1)
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// Threads per workgroup (a power of two, at most 256).
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;         // [R, C]
@group(0) @binding(2) var<storage, read> w: array<f32>;         // [C]
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // [R, C]

var<workgroup> partial: array<f32, 256>;

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    // the logical grid (n_x, n_y), folded past the device limit
    let n_x = p.cols / p.group;
    let n_y = p.rows;
    let wg = wg_index(wid, nwg);
    if (wg >= n_x * n_y) {
        return;
    }
    let c0 = (wg % n_x) * p.group;
    let base = (wg / n_x) * p.cols + c0;
    var acc = 0.0;
    for (var i = li; i < p.group; i += WG) {
        let v = x[base + i];
        acc += v * v;
    }
    partial[li] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (li < s) {
            partial[li] += partial[li + s];
        }
        workgroupBarrier();
    }
    let inv = inverseSqrt(partial[0] / f32(p.group) + p.eps) * p.scale;
    for (var i = li; i < p.group; i += WG) {
        out[base + i] = x[base + i] * inv * w[c0 + i];
    }
}
