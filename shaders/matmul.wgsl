// matmul: y[t, y_off + n] (= or +=) alpha * sum_k x[t, x_off + k] * w[n, w_off + k]
// (PyTorch Linear: W is [N, K_total] row-major, y = x W^T; strides/offsets select
// sub-blocks so one kernel serves fused weights and column slices.)
// Tiled: a workgroup of 16x16 threads computes a 64x64 output tile, each thread 4x4
// outputs, staging 64x16 tiles of x and w in workgroup memory (8 KiB).
// Dispatch grid: (ceil(N / 64), ceil(T / 64), 1).

struct Params {
    t: u32,        // T: rows of x and y
    n: u32,        // N: output columns
    k: u32,        // K: reduction length
    x_stride: u32, // floats per row of x
    x_off: u32,    // first column of x read
    w_stride: u32, // floats per row of w
    w_off: u32,    // first column of w read
    y_stride: u32, // floats per row of y
    y_off: u32,    // first column of y written
    alpha: f32,    // scale of the product
    _pad0: u32,
    _pad1: u32,
}

// Add into y instead of overwriting it (fused residual add).
override ACCUMULATE: bool = false;

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;       // [T, x_stride]
@group(0) @binding(2) var<storage, read> w: array<f32>;       // [N, w_stride]
@group(0) @binding(3) var<storage, read_write> y: array<f32>; // [T, y_stride]

var<workgroup> xs: array<array<f32, BM>, BK>; // [BK][BM]: x tile, transposed
var<workgroup> ws: array<array<f32, BN>, BK>; // [BK][BN]: w tile, transposed

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let n0 = wid.x * BN;
    let t0 = wid.y * BM;
    var acc: array<array<f32, 4>, 4>;
    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        // 1024 elements of each tile, 4 per thread; a row of 16 k is contiguous in memory.
        for (var i = 0u; i < 4u; i++) {
            let e = li + 256u * i;
            let r = e / BK;
            let c = e % BK;
            let kk = k0 + c;
            var xv = 0.0;
            if (t0 + r < p.t && kk < p.k) {
                xv = x[(t0 + r) * p.x_stride + p.x_off + kk];
            }
            xs[c][r] = xv;
            var wv = 0.0;
            if (n0 + r < p.n && kk < p.k) {
                wv = w[(n0 + r) * p.w_stride + p.w_off + kk];
            }
            ws[c][r] = wv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            var a: array<f32, 4>;
            var b: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                a[i] = xs[kk][lid.y + 16u * i];
                b[i] = ws[kk][lid.x + 16u * i];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i][j] += a[i] * b[j];
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let t = t0 + lid.y + 16u * i;
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + lid.x + 16u * j;
            if (t < p.t && n < p.n) {
                let idx = t * p.y_stride + p.y_off + n;
                var v = p.alpha * acc[i][j];
                if (ACCUMULATE) {
                    v += y[idx];
                }
                y[idx] = v;
            }
        }
    }
}
