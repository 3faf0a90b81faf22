// row_norm (probes): the L2 norm of each row, into one column of a strided output:
//   out[r * out_stride + out_off] = sqrt(sum_c x[r, c]^2)
// (an intra block's branch contributions in D-space -> branch_norms [T, 2]). One workgroup
// of 64 threads per row, a tree reduction for the sum of squares.
// Dispatch grid: (R, 1, 1), folded past the device limit.

struct Params {
    rows: u32,       // R
    cols: u32,       // C
    out_stride: u32, // floats per row of out
    out_off: u32,    // column of out written
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;         // [R, C]
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [R, out_stride]

var<workgroup> red: array<f32, 64>;

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let r = wg_index(wid, nwg); // the grid (R, 1), folded past the device limit
    if (r >= p.rows) {
        return;
    }
    var acc = 0.0;
    for (var c = li; c < p.cols; c += WG) {
        let v = x[r * p.cols + c];
        acc += v * v;
    }
    red[li] = acc;
    workgroupBarrier();
    for (var w = WG / 2u; w > 0u; w = w / 2u) {
        if (li < w) {
            red[li] += red[li + w];
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        out[r * p.out_stride + p.out_off] = sqrt(red[0]);
    }
}
