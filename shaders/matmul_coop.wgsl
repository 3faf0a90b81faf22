// matmul_coop: y[t, y_off + n] (= or +=) alpha * sum_k x[t, x_off + k] * w[n, w_off + k]
// on the tensor cores: the contract and Params of matmul.wgsl, for W stored as packed f16
// pairs (its W_FORMAT 1), read here through an `array<f16>` view of the same buffer
// (element i of the pairs is f16 i of the view: exact). x is rounded to f16 when staged;
// the products accumulate in f32 (wgpu's cooperative matrices, 16x16x16, f16 A and B, f32
// C). Needs shader-f16, subgroups of exactly 32 and that configuration (gpu/src/caps.rs).
// Tiled: a workgroup of 4 subgroups of 32 computes a 128 x 64 output tile (rows t0 ..,
// columns n0 ..). Subgroup s owns rows t0 + 32 s .. +31 and all 64 columns: 2 x 4
// accumulators of 16 x 16 (acc_ij: rows 16 i .., columns 16 j ..). Per step of BK = 32
// along K the workgroup stages the x tile [128 rows][32 k] and the w tile [64 rows][32 k]
// in workgroup memory as f16 (rows padded to LDS = 40 halves, 80 bytes: the 8 rows of a
// fragment load fall in distinct banks), zeros past T, N and K, from registers loaded
// during the previous step (branch-free loads: a first version that loaded and stored
// element by element behind bounds branches ran at the f32 kernel's 16 TFLOP/s on the
// H200, its loads one after another); then per 16 of K each
// subgroup loads 2 A fragments (its x rows, row-major) and 4 B fragments (W^T: w rows
// read column-major) and does 8 multiply-adds. Epilogue: each accumulator is stored to a
// 16 x 16 f32 tile of the subgroup in workgroup memory, then its lanes write it to y with
// the bounds, alpha and ACCUMULATE.
// Dispatch grid: (ceil(N / 64), ceil(T / 128), 1), folded past the device limit.
enable f16;
enable wgpu_cooperative_matrix;

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
const BK: u32 = 32u;  // reduction step
const LDS: u32 = 40u; // halves per staged row: BK + 8 of padding
const WG: u32 = 128u; // invocations: 4 subgroups of 32
const SG: u32 = 32u;  // subgroup size
const SUB_ROWS: u32 = 32u; // output rows per subgroup

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;       // [T, x_stride]
@group(0) @binding(2) var<storage, read> w: array<f16>;       // [N, w_stride] packed f16 pairs
@group(0) @binding(3) var<storage, read_write> y: array<f32>; // [T, y_stride]

var<workgroup> xs: array<f16, 5120>; // [BM][LDS]: x tile, row-major
var<workgroup> ws: array<f16, 2560>; // [BN][LDS]: w tile, row-major (= W^T column-major)
var<workgroup> cs: array<f32, 1024>; // [4 subgroups][16][16]: one accumulator on its way out

// One invocation's share of a step's tiles, in registers (fetched during the previous
// step's products): x groups g = li + WG i (i = 0..7) and w groups g = li + WG i
// (i = 0..3), group g = row g / 8, k 4 (g % 8) .. +3, as f16.
struct Fetch {
    x0: vec4<f16>,
    x1: vec4<f16>,
    x2: vec4<f16>,
    x3: vec4<f16>,
    x4: vec4<f16>,
    x5: vec4<f16>,
    x6: vec4<f16>,
    x7: vec4<f16>,
    w0: vec4<f16>,
    w1: vec4<f16>,
    w2: vec4<f16>,
    w3: vec4<f16>,
}

// Group g of the x tile at (t0, k0), zeros out of range. Branch-free, so that all of a
// step's loads are in flight at once: an index past the end reads some value of the
// buffer or zero (WGSL's robustness), which the select drops; `&`, not `&&`, which naga
// lowers to branches.
fn ld_x(g: u32, t0: u32, k0: u32) -> vec4<f16> {
    let t = t0 + g / 8u;
    let k = k0 + (g % 8u) * 4u;
    let b = t * p.x_stride + p.x_off + k;
    let ok = t < p.t;
    return vec4<f16>(vec4<f32>(
        select(0.0, x[b], ok & (k < p.k)),
        select(0.0, x[b + 1u], ok & (k + 1u < p.k)),
        select(0.0, x[b + 2u], ok & (k + 2u < p.k)),
        select(0.0, x[b + 3u], ok & (k + 3u < p.k)),
    ));
}

// Group g of the w tile at (n0, k0), as `ld_x`.
fn ld_w(g: u32, n0: u32, k0: u32) -> vec4<f16> {
    let n = n0 + g / 8u;
    let k = k0 + (g % 8u) * 4u;
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
    return Fetch(
        ld_x(li, t0, k0),
        ld_x(li + WG, t0, k0),
        ld_x(li + 2u * WG, t0, k0),
        ld_x(li + 3u * WG, t0, k0),
        ld_x(li + 4u * WG, t0, k0),
        ld_x(li + 5u * WG, t0, k0),
        ld_x(li + 6u * WG, t0, k0),
        ld_x(li + 7u * WG, t0, k0),
        ld_w(li, n0, k0),
        ld_w(li + WG, n0, k0),
        ld_w(li + 2u * WG, n0, k0),
        ld_w(li + 3u * WG, n0, k0),
    );
}

// Group g of the x tile into xs (row g / 8, columns 4 (g % 8) ..).
fn put_x(g: u32, v: vec4<f16>) {
    let o = (g / 8u) * LDS + (g % 8u) * 4u;
    xs[o] = v.x;
    xs[o + 1u] = v.y;
    xs[o + 2u] = v.z;
    xs[o + 3u] = v.w;
}

fn put_w(g: u32, v: vec4<f16>) {
    let o = (g / 8u) * LDS + (g % 8u) * 4u;
    ws[o] = v.x;
    ws[o + 1u] = v.y;
    ws[o + 2u] = v.z;
    ws[o + 3u] = v.w;
}

// Store a fetch into the tiles.
fn stage(li: u32, f: Fetch) {
    put_x(li, f.x0);
    put_x(li + WG, f.x1);
    put_x(li + 2u * WG, f.x2);
    put_x(li + 3u * WG, f.x3);
    put_x(li + 4u * WG, f.x4);
    put_x(li + 5u * WG, f.x5);
    put_x(li + 6u * WG, f.x6);
    put_x(li + 7u * WG, f.x7);
    put_w(li, f.w0);
    put_w(li + WG, f.w1);
    put_w(li + 2u * WG, f.w2);
    put_w(li + 3u * WG, f.w3);
}

// Write the subgroup's staged 16 x 16 tile (cs from cb) to rows t .., columns n .. of y.
fn emit(lane: u32, cb: u32, t: u32, n: u32) {
    for (var e = lane; e < 256u; e += SG) {
        let tt = t + e / 16u;
        let nn = n + e % 16u;
        if (tt < p.t && nn < p.n) {
            let o = tt * p.y_stride + p.y_off + nn;
            var v = p.alpha * cs[cb + e];
            if (ACCUMULATE) {
                v += y[o];
            }
            y[o] = v;
        }
    }
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sg: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
    // the logical grid (n_x, n_y), folded past the device limit
    let n_x = max((p.n + BN - 1u) / BN, 1u);
    let n_y = max((p.t + BM - 1u) / BM, 1u);
    // (no early return: naga wants the cooperative ops in uniform control flow. The tail
    // of a folded grid runs no K step and stages rows past T: it writes nothing.)
    let wg = wg_index(wid, nwg);
    let live = wg < n_x * n_y;
    let n0 = (wg % n_x) * BN;
    let t0 = select(n_y * BM, (wg / n_x) * BM, live);
    let k_end = select(0u, p.k, live);
    let ld = LDS;
    let row = sg * SUB_ROWS * LDS; // the subgroup's first x row in xs
    var acc00 = coop_mat16x16<f32, C>();
    var acc01 = coop_mat16x16<f32, C>();
    var acc02 = coop_mat16x16<f32, C>();
    var acc03 = coop_mat16x16<f32, C>();
    var acc10 = coop_mat16x16<f32, C>();
    var acc11 = coop_mat16x16<f32, C>();
    var acc12 = coop_mat16x16<f32, C>();
    var acc13 = coop_mat16x16<f32, C>();
    var f = fetch(li, t0, n0, 0u);
    for (var k0 = 0u; k0 < k_end; k0 += BK) {
        stage(li, f);
        workgroupBarrier();
        // the next step's tiles (zeros past K) load while this step multiplies
        f = fetch(li, t0, n0, k0 + BK);
        for (var kk = 0u; kk < BK; kk += 16u) {
            let ia0 = row + kk;
            let ia1 = row + 16u * LDS + kk;
            let a0 = coopLoadT<coop_mat16x16<f16, A>>(&xs[ia0], ld);
            let a1 = coopLoadT<coop_mat16x16<f16, A>>(&xs[ia1], ld);
            let ib0 = kk;
            let ib1 = 16u * LDS + kk;
            let ib2 = 32u * LDS + kk;
            let ib3 = 48u * LDS + kk;
            let b0 = coopLoad<coop_mat16x16<f16, B>>(&ws[ib0], ld);
            let b1 = coopLoad<coop_mat16x16<f16, B>>(&ws[ib1], ld);
            let b2 = coopLoad<coop_mat16x16<f16, B>>(&ws[ib2], ld);
            let b3 = coopLoad<coop_mat16x16<f16, B>>(&ws[ib3], ld);
            acc00 = coopMultiplyAdd(a0, b0, acc00);
            acc01 = coopMultiplyAdd(a0, b1, acc01);
            acc02 = coopMultiplyAdd(a0, b2, acc02);
            acc03 = coopMultiplyAdd(a0, b3, acc03);
            acc10 = coopMultiplyAdd(a1, b0, acc10);
            acc11 = coopMultiplyAdd(a1, b1, acc11);
            acc12 = coopMultiplyAdd(a1, b2, acc12);
            acc13 = coopMultiplyAdd(a1, b3, acc13);
        }
        workgroupBarrier();
    }
    // epilogue: one accumulator at a time through cs (rows t, columns n0 + 16 j)
    let cb = sg * 256u;
    let c16 = 16u;
    let t = t0 + sg * SUB_ROWS;
    coopStoreT(acc00, &cs[cb], c16);
    workgroupBarrier();
    emit(lane, cb, t, n0);
    workgroupBarrier();
    coopStoreT(acc01, &cs[cb], c16);
    workgroupBarrier();
    emit(lane, cb, t, n0 + 16u);
    workgroupBarrier();
    coopStoreT(acc02, &cs[cb], c16);
    workgroupBarrier();
    emit(lane, cb, t, n0 + 32u);
    workgroupBarrier();
    coopStoreT(acc03, &cs[cb], c16);
    workgroupBarrier();
    emit(lane, cb, t, n0 + 48u);
    workgroupBarrier();
    coopStoreT(acc10, &cs[cb], c16);
    workgroupBarrier();
    emit(lane, cb, t + 16u, n0);
    workgroupBarrier();
    coopStoreT(acc11, &cs[cb], c16);
    workgroupBarrier();
    emit(lane, cb, t + 16u, n0 + 16u);
    workgroupBarrier();
    coopStoreT(acc12, &cs[cb], c16);
    workgroupBarrier();
    emit(lane, cb, t + 16u, n0 + 32u);
    workgroupBarrier();
    coopStoreT(acc13, &cs[cb], c16);
    workgroupBarrier();
    emit(lane, cb, t + 16u, n0 + 48u);
}
