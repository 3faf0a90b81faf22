// matmul: y[t, y_off + n] (= or +=) alpha * sum_k x[t, x_off + k] * w[n, w_off + k]
// (PyTorch Linear: W is [N, K_total] row-major, y = x W^T; strides/offsets select
// sub-blocks so one kernel serves fused weights and column slices.)
// Tiled: a workgroup of 16x16 threads computes a 64x64 output tile; thread (tx, ty) owns
// the 4x4 block of rows t0 + 4 ty .. +3 and columns n0 + 4 tx .. +3, kept in four vec4
// registers. Per step of BK = 16 along K, the workgroup stages the x tile [BK][64 rows]
// and the w tile [BK][64 columns] in workgroup memory (8 KiB, transposed so that a
// thread's 4 rows / 4 columns are one vec4), starts fetching the next step's tiles into
// registers, then each thread does 16 x 16 FMAs from two vec4 loads per k. No
// dynamically indexed private arrays (they would spill).
// Dispatch grid: (ceil(N / 64), ceil(T / 64), 1), folded past the device limit.

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
// How the weights are stored (weight_format.rs): 0 = f32 (each u32 is an f32's bits),
// 1 = packed f16 pairs, 2 = packed bf16 pairs (element i is half i % 2 of word i / 2);
// read as f32 either way.
override W_FORMAT: u32 = 0u;

const BM: u32 = 64u; // rows of x per tile
const BN: u32 = 64u; // rows of w (output columns) per tile
const BK: u32 = 16u; // reduction step

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;       // [T, x_stride]
@group(0) @binding(2) var<storage, read> w: array<u32>;       // [N, w_stride] f32, f16 or bf16 (W_FORMAT)
@group(0) @binding(3) var<storage, read_write> y: array<f32>; // [T, y_stride]

var<workgroup> xs: array<vec4<f32>, 256>; // [BK][BM / 4]: x tile, 4 rows per vec4
var<workgroup> ws: array<vec4<f32>, 256>; // [BK][BN / 4]: w tile, 4 columns per vec4

// Element i of `w` as f32 (W_FORMAT).
fn wt(i: u32) -> f32 {
    if (W_FORMAT == 0u) {
        return bitcast<f32>(w[i]);
    }
    let word = w[i / 2u];
    let odd = (i & 1u) == 1u;
    if (W_FORMAT == 1u) {
        let pair = unpack2x16float(word);
        return select(pair.x, pair.y, odd);
    }
    // bf16: the high 16 bits of an f32
    return bitcast<f32>(select(word << 16u, word & 0xffff0000u, odd));
}

// Tile loads: thread li fetches row li / 4, columns k0 + 4 (li % 4) .. +3 of the x tile
// and of the w tile (16 consecutive floats of a row per 4 threads) into registers, so
// the next step's loads are in flight while the current step computes.
struct Fetch {
    xv: vec4<f32>,
    wv: vec4<f32>,
}

fn fetch(li: u32, t0: u32, n0: u32, k0: u32) -> Fetch {
    let r = li / 4u;
    let c0 = k0 + (li % 4u) * 4u;
    let xok = t0 + r < p.t;
    let wok = n0 + r < p.n;
    let xb = (t0 + r) * p.x_stride + p.x_off;
    let wb = (n0 + r) * p.w_stride + p.w_off;
    return Fetch(
        vec4<f32>(ld_x(xb, c0, xok), ld_x(xb, c0 + 1u, xok), ld_x(xb, c0 + 2u, xok), ld_x(xb, c0 + 3u, xok)),
        vec4<f32>(ld_w(wb, c0, wok), ld_w(wb, c0 + 1u, wok), ld_w(wb, c0 + 2u, wok), ld_w(wb, c0 + 3u, wok)),
    );
}

fn ld_x(base: u32, kk: u32, ok: bool) -> f32 {
    if (ok && kk < p.k) {
        return x[base + kk];
    }
    return 0.0;
}

fn ld_w(base: u32, kk: u32, ok: bool) -> f32 {
    if (ok && kk < p.k) {
        return wt(base + kk);
    }
    return 0.0;
}

// Store a fetch into the tiles: element (row r, column c) at [c][r / 4][r % 4].
fn stage(li: u32, f: Fetch) {
    let r = li / 4u;
    let c0 = (li % 4u) * 4u;
    for (var c = 0u; c < 4u; c++) {
        xs[(c0 + c) * (BM / 4u) + r / 4u][r % 4u] = f.xv[c];
        ws[(c0 + c) * (BN / 4u) + r / 4u][r % 4u] = f.wv[c];
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
    var acc0 = vec4<f32>(0.0); // row t0 + 4 ty + 0, columns n0 + 4 tx .. +3
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var f = fetch(li, t0, n0, 0u);
    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        stage(li, f);
        workgroupBarrier();
        if (k0 + BK < p.k) {
            f = fetch(li, t0, n0, k0 + BK);
        }
        for (var kk = 0u; kk < BK; kk++) {
            let a = xs[kk * (BM / 4u) + lid.y]; // x of the thread's 4 rows at k
            let b = ws[kk * (BN / 4u) + lid.x]; // w of the thread's 4 columns at k
            acc0 += a.x * b;
            acc1 += a.y * b;
            acc2 += a.z * b;
            acc3 += a.w * b;
        }
        workgroupBarrier();
    }
    let t = t0 + 4u * lid.y;
    let n = n0 + 4u * lid.x;
    store_row(t, n, acc0);
    store_row(t + 1u, n, acc1);
    store_row(t + 2u, n, acc2);
    store_row(t + 3u, n, acc3);
}
