// matvec (the T = 1 case of matmul): y[y_off + n] (= or +=) alpha * sum_k x[x_off + k] * w[n, w_off + k]
// One workgroup of WG threads per output row: threads stride over K, then a tree
// reduction in workgroup memory.
// Dispatch grid: (min(N, ROWS_PER_DIM), ceil(N / ROWS_PER_DIM), 1), ROWS_PER_DIM = 32768;
// row n = wid.x + wid.y * 32768.

struct Params {
    t: u32,        // T: must be 1 (kept for layout parity with matmul)
    n: u32,        // N: output rows
    k: u32,        // K: reduction length
    x_stride: u32, // unused for T = 1
    x_off: u32,    // first element of x read
    w_stride: u32, // floats per row of w
    w_off: u32,    // first column of w read
    y_stride: u32, // unused for T = 1
    y_off: u32,    // first element of y written
    alpha: f32,    // scale of the product
    _pad0: u32,
    _pad1: u32,
}

// Add into y instead of overwriting it (fused residual add).
override ACCUMULATE: bool = false;
// Threads per workgroup (a power of two, at most 256).
override WG: u32 = 64u;

const ROWS_PER_DIM: u32 = 32768u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;       // [x_off + K]
@group(0) @binding(2) var<storage, read> w: array<f32>;       // [N, w_stride]
@group(0) @binding(3) var<storage, read_write> y: array<f32>; // [y_off + N]

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let n = wid.x + wid.y * ROWS_PER_DIM;
    if (n >= p.n) {
        return; // uniform across the workgroup
    }
    let row = n * p.w_stride + p.w_off;
    var acc = 0.0;
    for (var k = li; k < p.k; k += WG) {
        acc += x[p.x_off + k] * w[row + k];
    }
    partial[li] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (li < s) {
            partial[li] += partial[li + s];
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        var v = p.alpha * partial[0];
        if (ACCUMULATE) {
            v += y[p.y_off + n];
        }
        y[p.y_off + n] = v;
    }
}
