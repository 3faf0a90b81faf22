// attention_coop: the prefill attention of attention.wgsl (same Params, bindings and
// result) on tensor cores (wgpu's cooperative matrices: 16x16 f16 A and B, f32
// accumulator, one subgroup each), for causal attention with an optional sliding window,
// GQA, no sinks and no hidden keys (those run attention_tiled.wgsl / attention.wgsl):
//   out[t, h] = sum_s softmax_s(q[t, h] . k[s, kvh] / sqrt(dh)) v[s, kvh],  kvh = h / G,
// query t (absolute position a = pos0 + t) sees key s iff s <= a and (no window or
// a - s < window). Keys s < pos0 come from the KV cache (slot(s)), the others from qkv.
//
// Rows: the T * G (position, query head) pairs of KV head kvh are numbered i = t G + h % G;
// workgroup (kvh, b) owns the BQ rows [BQ b, BQ b + BQ) and the keys [lo, a_last] its rows
// may see (lo: the first row's window start), in tiles of BK keys.
// Two passes over the keys, so that the output never needs a per-row rescale (a
// cooperative matrix can only be scaled as a whole):
//   1. S = Q K^T per tile (tensor cores, into s_s), each thread keeps the max of its
//      scores; the row max m is their max.
//   2. S again, P = exp2(S - m) (f32, rounded to f16 into p_s; l sums the rounded
//      weights), O += P V (tensor cores, O in f32 accumulators held by the subgroups
//      across all tiles); at the end out = O / l.
// q, k, v are f32 in the buffers and rounded to f16 when staged (q pre-scaled by
// log2(e) / sqrt(dh), so scores are in the log2 domain).
// Subgroup sg (of NSG) computes SF of the (BQ / 16) (BK / 16) score blocks of a tile and
// owns OF of the (BQ / 16) (DV / 16) output blocks; for the softmax, thread li takes row
// li / TPR and the tile's keys li % TPR + TPR j (TPR = WG / BQ threads per row).
// Overrides (ops/attention_coop.rs, sized to the adapter's workgroup storage): BQ, BK, DH,
// DV (multiples of 16), SG (the subgroup size), NSG and the array sizes.
// Dispatch grid: (Hkv, ceil(T G / BQ), 1), folded past the device limit.

enable f16;
enable wgpu_cooperative_matrix;

struct Params {
    t: u32,          // T: query rows
    stride: u32,     // floats per row of qkv
    k_off: u32,      // first column of k in qkv (q starts at column 0)
    v_off: u32,      // first column of v in qkv
    n_heads: u32,    // Hq
    n_kv_heads: u32, // Hkv (Hq % Hkv == 0)
    head_dim: u32,   // dh (= DH)
    window: u32,     // sliding window (the layer's or an imposed one), 0 = full causal
    sinks: u32,      // sink tokens: 0 on this path
    ring: u32,       // cache rows of a ring cache; 0 = a flat cache
    out_stride: u32, // floats per row of out
    scale: f32,      // 1 / sqrt(dh)
    v_head_dim: u32, // dv (= DV)
    hide_lo: u32,    // hidden keys: none on this path
    hide_hi: u32,
    _pad2: u32,
}

override BQ: u32 = 64u;  // rows per workgroup
override BK: u32 = 32u;  // keys per tile
override DH: u32 = 128u; // q/k head dims
override DV: u32 = 128u; // v head dims
override SG: u32 = 32u;  // subgroup size
override NSG: u32 = 8u;  // subgroups per workgroup
override WG: u32 = NSG * SG;
override TPR: u32 = WG / BQ;                      // softmax threads per row
override KPT: u32 = BK / TPR;                     // scores per thread and tile
override SF: u32 = (BQ / 16u) * (BK / 16u) / NSG; // score blocks per subgroup
override OF: u32 = (BQ / 16u) * (DV / 16u) / NSG; // output blocks per subgroup (<= MAX_OF)
override Q_N: u32 = BQ * DH;
override K_N: u32 = BK * DH;
override V_N: u32 = BK * DV;
override P_N: u32 = BQ * BK;
override S_N: u32 = BQ * BK; // max(BQ BK, 256 NSG): also the output blocks' staging

const MAX_OF: u32 = 16u;
const NEG_BIG: f32 = -3.0e38;
const LOG2E: f32 = 1.4426950408889634;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pos: array<u32>;         // [1]: pos0
@group(0) @binding(2) var<storage, read> qkv: array<f32>;         // [T, stride]: q | k | v (RoPE applied)
@group(0) @binding(3) var<storage, read> k_cache: array<f32>;     // [rows, Hkv*dh]
@group(0) @binding(4) var<storage, read> v_cache: array<f32>;     // [rows, Hkv*dv]
@group(0) @binding(5) var<storage, read_write> out: array<f32>;   // [T, out_stride]: heads of dv concatenated

var<workgroup> q_s: array<f16, Q_N>; // [BQ, DH] the block's q rows
var<workgroup> k_s: array<f16, K_N>; // [BK, DH] the K tile
var<workgroup> v_s: array<f16, V_N>; // [BK, DV] the V tile
var<workgroup> p_s: array<f16, P_N>; // [BQ, BK] the tile's weights
var<workgroup> s_s: array<f32, S_N>; // [BQ, BK] the tile's scores; at the end [NSG, 16, 16] output blocks
var<workgroup> red: array<f32, WG>;  // [BQ, TPR] each thread's max (pass 1) or sum (pass 2)

fn slot(s: u32) -> u32 {
    if (p.ring == 0u || s < p.sinks) {
        return s;
    }
    return p.sinks + (s - p.sinks) % p.ring;
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

// The row at absolute position a sees key s.
fn sees(a: u32, s: u32) -> bool {
    return s <= a && (p.window == 0u || a - s < p.window);
}

// Four f32 at `base` of qkv (fresh) or of a cache (is_v: v_cache), as f16.
fn load4(base: u32, fresh: bool, is_v: bool) -> vec4<f16> {
    var x: vec4<f32>;
    for (var c = 0u; c < 4u; c++) {
        if (fresh) {
            x[c] = qkv[base + c];
        } else if (is_v) {
            x[c] = v_cache[base + c];
        } else {
            x[c] = k_cache[base + c];
        }
    }
    return vec4<f16>(x);
}

// Stage the tile of keys lo + v0 .. lo + v0 + BK (zero past the block's n keys) of KV head
// kvh: K into k_s, and V into v_s when `with_v`.
fn stage_kv(li: u32, v0: u32, n: u32, lo: u32, pos0: u32, kvh: u32, with_v: bool) {
    for (var e = li; e < K_N / 4u; e += WG) {
        let vi = v0 + e / (DH / 4u);
        let d = 4u * (e % (DH / 4u));
        var x = vec4<f16>(0.0h);
        if (vi < n) {
            let s = lo + vi;
            let fresh = s >= pos0;
            let base = select(slot(s) * p.n_kv_heads * DH,
                              (s - min(s, pos0)) * p.stride + p.k_off, fresh) + kvh * DH + d;
            x = load4(base, fresh, false);
        }
        let o = (e / (DH / 4u)) * DH + d;
        k_s[o] = x.x;
        k_s[o + 1u] = x.y;
        k_s[o + 2u] = x.z;
        k_s[o + 3u] = x.w;
    }
    if (!with_v) {
        return;
    }
    for (var e = li; e < V_N / 4u; e += WG) {
        let vi = v0 + e / (DV / 4u);
        let d = 4u * (e % (DV / 4u));
        var x = vec4<f16>(0.0h);
        if (vi < n) {
            let s = lo + vi;
            let fresh = s >= pos0;
            let base = select(slot(s) * p.n_kv_heads * DV,
                              (s - min(s, pos0)) * p.stride + p.v_off, fresh) + kvh * DV + d;
            x = load4(base, fresh, true);
        }
        let o = (e / (DV / 4u)) * DV + d;
        v_s[o] = x.x;
        v_s[o + 1u] = x.y;
        v_s[o + 2u] = x.z;
        v_s[o + 3u] = x.w;
    }
}

// S = Q K^T of the staged tile into s_s [BQ, BK]: subgroup sg's SF blocks of 16 x 16.
fn scores(sg: u32) {
    for (var f = 0u; f < SF; f++) {
        let blk = sg * SF + f;
        let rb = blk / (BK / 16u);
        let kb = blk % (BK / 16u);
        var c = coop_mat16x16<f32, C>();
        for (var kk = 0u; kk < DH / 16u; kk++) {
            // A: q rows rb, dims kk (row-major); B = K^T: k rows kb are its columns
            let a = coopLoadT<coop_mat16x16<f16, A>>(&q_s[rb * 16u * DH + kk * 16u], DH);
            let b = coopLoad<coop_mat16x16<f16, B>>(&k_s[kb * 16u * DH + kk * 16u], DH);
            c = coopMultiplyAdd(a, b, c);
        }
        coopStoreT(c, &s_s[rb * 16u * BK + kb * 16u], BK);
    }
}

// Row r's total of the TPR values in red (max or sum), in one order for every thread.
fn row_total(r: u32, is_max: bool) -> f32 {
    var x = red[r * TPR];
    for (var j = 1u; j < TPR; j++) {
        x = select(x + red[r * TPR + j], max(x, red[r * TPR + j]), is_max);
    }
    return x;
}

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sg: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
    let g = p.n_heads / p.n_kv_heads;
    let rows = p.t * g;
    // a workgroup past the grid (folding pads it) redoes the last block and writes nothing
    // (no early return: the cooperative-matrix ops need uniform control flow)
    let n_wg = p.n_kv_heads * ((rows + BQ - 1u) / BQ);
    let wg = min(wg_index(wid, nwg), n_wg - 1u);
    let writes = wg_index(wid, nwg) < n_wg;
    let kvh = wg % p.n_kv_heads;
    let b = wg / p.n_kv_heads;
    let pos0 = pos[0];
    // the block's keys [lo, a_last]
    let a_first = pos0 + (b * BQ) / g;
    let a_last = pos0 + min((b * BQ + BQ - 1u) / g, p.t - 1u);
    var lo = 0u;
    if (p.window > 0u && a_first + 1u > p.window) {
        lo = a_first + 1u - p.window;
    }
    let n = a_last - lo + 1u;

    // q rows, scaled, as f16 (zero past the last row)
    let qs = p.scale * LOG2E;
    for (var e = li; e < Q_N / 4u; e += WG) {
        let i = b * BQ + e / (DH / 4u);
        let d = 4u * (e % (DH / 4u));
        var x = vec4<f32>(0.0);
        if (i < rows) {
            let base = (i / g) * p.stride + (kvh * g + i % g) * DH + d;
            x = vec4<f32>(qkv[base], qkv[base + 1u], qkv[base + 2u], qkv[base + 3u]) * qs;
        }
        let o = (e / (DH / 4u)) * DH + d;
        q_s[o] = f16(x.x);
        q_s[o + 1u] = f16(x.y);
        q_s[o + 2u] = f16(x.z);
        q_s[o + 3u] = f16(x.w);
    }

    // this thread's softmax row r (position a) and key columns c0 + TPR j
    let r = li / TPR;
    let c0 = li % TPR;
    let a = pos0 + min((b * BQ + r) / g, p.t - 1u);

    // pass 1: the row max of the scores this row sees
    var m = NEG_BIG;
    for (var v0 = 0u; v0 < n; v0 += BK) {
        workgroupBarrier(); // the previous tile is consumed
        stage_kv(li, v0, n, lo, pos0, kvh, false);
        workgroupBarrier();
        scores(sg);
        workgroupBarrier();
        for (var j = 0u; j < KPT; j++) {
            let c = c0 + TPR * j;
            let s = lo + v0 + c;
            if (v0 + c < n && sees(a, s)) {
                m = max(m, s_s[r * BK + c]);
            }
        }
    }
    red[li] = m;
    workgroupBarrier();
    m = row_total(r, true);

    // pass 2: weights and O += P V
    var l = 0.0;
    var acc: array<coop_mat16x16<f32, C>, MAX_OF>; // zero
    for (var v0 = 0u; v0 < n; v0 += BK) {
        workgroupBarrier(); // the previous tile (and red) is consumed
        stage_kv(li, v0, n, lo, pos0, kvh, true);
        workgroupBarrier();
        scores(sg);
        workgroupBarrier();
        for (var j = 0u; j < KPT; j++) {
            let c = c0 + TPR * j;
            let s = lo + v0 + c;
            var w = 0.0h;
            if (v0 + c < n && sees(a, s)) {
                w = f16(exp2(s_s[r * BK + c] - m));
            }
            l += f32(w);
            p_s[r * BK + c] = w;
        }
        workgroupBarrier();
        for (var f = 0u; f < OF; f++) {
            let blk = sg * OF + f;
            let rb = blk / (DV / 16u);
            let cb = blk % (DV / 16u);
            for (var kk = 0u; kk < BK / 16u; kk++) {
                let pa = coopLoadT<coop_mat16x16<f16, A>>(&p_s[rb * 16u * BK + kk * 16u], BK);
                let vb = coopLoadT<coop_mat16x16<f16, B>>(&v_s[kk * 16u * DV + cb * 16u], DV);
                acc[f] = coopMultiplyAdd(pa, vb, acc[f]);
            }
        }
    }
    workgroupBarrier();
    red[li] = l;

    // out = O / l, each output block through this subgroup's 16 x 16 staging in s_s
    for (var f = 0u; f < OF; f++) {
        let blk = sg * OF + f;
        let rb = blk / (DV / 16u);
        let cb = blk % (DV / 16u);
        workgroupBarrier(); // red is written; the previous block is out
        coopStoreT(acc[f], &s_s[sg * 256u], 16u);
        workgroupBarrier();
        for (var e = lane; e < 256u; e += SG) {
            let row = rb * 16u + e / 16u;
            let i = b * BQ + row;
            if (writes && i < rows) {
                let h = kvh * g + i % g;
                out[(i / g) * p.out_stride + h * DV + cb * 16u + e % 16u] =
                    s_s[sg * 256u + e] / row_total(row, false);
            }
        }
    }
}
