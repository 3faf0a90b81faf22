// matmul_f16: y[t, y_off + n] (= or +=) alpha * sum_k x[t, x_off + k] * w[n, w_off + k]
// in f16 arithmetic, for devices with shader-f16 but no tensor cores (browsers' WebGPU,
// lavapipe): the contract and Params of matmul.wgsl, for W stored as packed f16 pairs
// (its W_FORMAT 1), read through an `array<f16>` view of the same buffer (exact, as in
// matmul_coop.wgsl). x is rounded to f16 when staged.
// Tiled: a workgroup of 16 x 16 threads computes a 128 x 64 output tile; thread (tx, ty)
// owns rows t0 + 4 ty .. +3 and t0 + 64 + 4 ty .. +3, columns n0 + 4 tx .. +3. Per step of
// BK = 16 along K the workgroup stages the x tile [BK][128 rows] and the w tile
// [BK][64 columns] in workgroup memory as f16 (6 KiB: twice the rows of matmul.wgsl's
// f32 tile in less memory), transposed so that 4 rows / 4 columns are one vec4<f16>, from
// registers fetched during the previous step. The products are vec4<f16> multiply-adds
// (two packed f16x2 FMAs each where the hardware has them), summed in f16 over runs of
// RUN = 8 values of k, then each run is added into f32 accumulators.
//
// Error bound (u = 2^-11, f16's unit roundoff; x, w and the run sums in f16's normal
// range 2^-14 .. 65504): rounding x costs u |x_k w_k| per term; within a run, each of the
// RUN products and RUN - 1 additions (or RUN fused multiply-adds) rounds once, by at most
// u times the run's sum of |x_k w_k|; the f32 additions of the K / RUN runs add at most
// 2^-24 of the whole sum each. So, to first order,
//   |y - exact| <= ((RUN + 1) 2^-11 + (K / RUN) 2^-24) * |alpha| * sum_k |x_k w_k|
// (9 * 2^-11 = 4.4e-3 for RUN = 8), plus 2^-25 per product that falls below 2^-14
// (subnormal) on a device that keeps subnormals. Runs of 8 bound the f16 partial sums by
// 8 max|x_k w_k| (no overflow while that stays under 65504). gpu/tests/matmul_f16.rs
// checks this bound.
// Dispatch grid: (ceil(N / 64), ceil(T / 128), 1), folded past the device limit.
enable f16;

struct Params {
    t: u32,        // T: rows of x and y
    n: u32,        // N: output columns
    k: u32,        // K: reduction length
    x_stride: u32, // floats per row of x
    x_off: u32,    // first column of x read
    w_stride: u32, // weights per row of w
    w_off: u32,    // first column of w read
    y_stride: u32, // floats per row of y
    y_off: u32,    // first column of y written
    alpha: f32,    // scale of the product
    _pad0: u32,
    _pad1: u32,
}

// Add into y instead of overwriting it (fused residual add).
override ACCUMULATE: bool = false;

const BM: u32 = 128u; // rows of x per tile
const BN: u32 = 64u;  // rows of w (output columns) per tile
const BK: u32 = 16u;  // reduction step
const RUN: u32 = 8u;  // values of k summed in f16 before the f32 accumulators

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;       // [T, x_stride]
@group(0) @binding(2) var<storage, read> w: array<f16>;       // [N, w_stride] packed f16 pairs
@group(0) @binding(3) var<storage, read_write> y: array<f32>; // [T, y_stride]

var<workgroup> xs: array<vec4<f16>, 512>; // [BK][BM / 4]: x tile, 4 rows per vec4
var<workgroup> ws: array<vec4<f16>, 256>; // [BK][BN / 4]: w tile, 4 columns per vec4

// One invocation's share of a step's tiles, in registers: x row li / 2, k 8 (li % 2) ..
// +7 (xa, xb); w row li / 4, k 4 (li % 4) .. +3 (wv); as f16, zeros past T, N and K.
struct Fetch {
    xa: vec4<f16>,
    xb: vec4<f16>,
    wv: vec4<f16>,
}

// Four values of x row t from column k (zeros out of range). Branch-free, so that all of
// a step's loads are in flight at once: an index past the end reads some value of the
// buffer or zero (WGSL's robustness), which the select drops; `&`, not `&&`, which naga
// lowers to branches.
fn ld_x(t: u32, k: u32) -> vec4<f16> {
    let b = t * p.x_stride + p.x_off + k;
    let ok = t < p.t;
    return vec4<f16>(vec4<f32>(
        select(0.0, x[b], ok & (k < p.k)),
        select(0.0, x[b + 1u], ok & (k + 1u < p.k)),
        select(0.0, x[b + 2u], ok & (k + 2u < p.k)),
        select(0.0, x[b + 3u], ok & (k + 3u < p.k)),
    ));
}

// Four weights of w row n from column k, as `ld_x`.
fn ld_w(n: u32, k: u32) -> vec4<f16> {
    let b = n * p.w_stride + p.w_off + k;
    let ok = n < p.n;
    let zero = f16(0.0);
    return vec4<f16>(
        select(zero, w[b], ok & (k < p.k)),
        select(zero, w[b + 1u], ok & (k + 1u < p.k)),
        select(zero, w[b + 2u], ok & (k + 2u < p.k)),
        select(zero, w[b + 3u], ok & (k + 3u < p.k)),
    );
}

fn fetch(li: u32, t0: u32, n0: u32, k0: u32) -> Fetch {
    let xk = k0 + (li % 2u) * 8u;
    return Fetch(
        ld_x(t0 + li / 2u, xk),
        ld_x(t0 + li / 2u, xk + 4u),
        ld_w(n0 + li / 4u, k0 + (li % 4u) * 4u),
    );
}

// Store a fetch into the tiles: element (row r, column c) at [c][r / 4][r % 4].
fn stage(li: u32, f: Fetch) {
    let r = li / 2u;
    let c0 = (li % 2u) * 8u;
    let n = li / 4u;
    let d0 = (li % 4u) * 4u;
    for (var c = 0u; c < 4u; c++) {
        xs[(c0 + c) * (BM / 4u) + r / 4u][r % 4u] = f.xa[c];
        xs[(c0 + 4u + c) * (BM / 4u) + r / 4u][r % 4u] = f.xb[c];
        ws[(d0 + c) * (BN / 4u) + n / 4u][n % 4u] = f.wv[c];
    }
}

// Write row t (4 columns from n) of the thread's block.
fn store_row(t: u32, n: u32, v: vec4<f32>) {
    if (t >= p.t) {
        return;
    }
    let base = t * p.y_stride + p.y_off;
    for (var j = 0u; j < 4u; j++) {
        if (n + j < p.n) {
            var o = p.alpha * v[j];
            if (ACCUMULATE) {
                o += y[base + n + j];
            }
            y[base + n + j] = o;
        }
    }
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    // the logical grid (n_x, n_y), folded past the device limit
    let n_x = max((p.n + BN - 1u) / BN, 1u);
    let n_y = max((p.t + BM - 1u) / BM, 1u);
    let wg = wg_index(wid, nwg);
    if (wg >= n_x * n_y) {
        return;
    }
    let n0 = (wg % n_x) * BN;
    let t0 = (wg / n_x) * BM;
    // f32 accumulators: rows t0 + 4 ty + i (acc_i) and t0 + 64 + 4 ty + i (acc_4+i),
    // columns n0 + 4 tx .. +3
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var acc4 = vec4<f32>(0.0);
    var acc5 = vec4<f32>(0.0);
    var acc6 = vec4<f32>(0.0);
    var acc7 = vec4<f32>(0.0);
    var f = fetch(li, t0, n0, 0u);
    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        stage(li, f);
        workgroupBarrier();
        // the next step's tiles (zeros past K) load while this step multiplies
        f = fetch(li, t0, n0, k0 + BK);
        for (var r = 0u; r < BK; r += RUN) {
            // one run: f16 partial sums of the same rows and columns
            var s0 = vec4<f16>(0.0);
            var s1 = vec4<f16>(0.0);
            var s2 = vec4<f16>(0.0);
            var s3 = vec4<f16>(0.0);
            var s4 = vec4<f16>(0.0);
            var s5 = vec4<f16>(0.0);
            var s6 = vec4<f16>(0.0);
            var s7 = vec4<f16>(0.0);
            for (var kk = r; kk < r + RUN; kk++) {
                let a = xs[kk * (BM / 4u) + lid.y];       // x of rows 4 ty .. +3 at k
                let c = xs[kk * (BM / 4u) + 16u + lid.y]; // x of rows 64 + 4 ty .. +3
                let b = ws[kk * (BN / 4u) + lid.x];       // w of the thread's 4 columns
                s0 += a.x * b;
                s1 += a.y * b;
                s2 += a.z * b;
                s3 += a.w * b;
                s4 += c.x * b;
                s5 += c.y * b;
                s6 += c.z * b;
                s7 += c.w * b;
            }
            acc0 += vec4<f32>(s0);
            acc1 += vec4<f32>(s1);
            acc2 += vec4<f32>(s2);
            acc3 += vec4<f32>(s3);
            acc4 += vec4<f32>(s4);
            acc5 += vec4<f32>(s5);
            acc6 += vec4<f32>(s6);
            acc7 += vec4<f32>(s7);
        }
        workgroupBarrier();
    }
    let t = t0 + 4u * lid.y;
    let n = n0 + 4u * lid.x;
    store_row(t, n, acc0);
    store_row(t + 1u, n, acc1);
    store_row(t + 2u, n, acc2);
    store_row(t + 3u, n, acc3);
    store_row(t + 64u, n, acc4);
    store_row(t + 65u, n, acc5);
    store_row(t + 66u, n, acc6);
    store_row(t + 67u, n, acc7);
}
