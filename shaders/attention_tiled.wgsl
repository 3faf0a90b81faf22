// attention_tiled: the prefill attention of attention.wgsl (same Params, bindings, key
// visibility and result) for heads of up to 128 q/k dims and up to 256 v dims,
// flash-attention style:
//   out[t, h] = sum_s softmax_s(q[t, h] . k[s, kvh] / sqrt(dh)) v[s, kvh],  kvh = h / G,
// with G = Hq / Hkv, q/k heads of dh dims and v heads (so outputs) of dv; query t
// (absolute position a = pos0 + t) sees key s iff s <= a and (no window or a - s < window
// or s < sinks) and s is not hidden (hide_lo <= s < hide_hi, s != a). Keys s < pos0 come
// from the KV cache (slot(s)), the others from qkv.
//
// Rows: the T * G (position, query head) pairs of KV head kvh are numbered i = t G + h % G;
// workgroup (kvh, b) owns the BQ rows [BQ b, BQ b + BQ): the G query heads that read the
// same K/V share every tile.
// Keys: the union of its rows' visible keys, n in all: the sinks [0, n_a) below the first
// row's window, then [lo, last row's position]; tiles outside that range are never read.
// Tiles: BK keys; the WG = SPLIT BQ threads stage a tile's K and V once (k_s: [BK, DH4],
// v_s: [BK, DV4] vec4, DH4 = SPLIT H4, DV4 = SPLIT V4, zero past dh / dv) for all BQ rows.
// Threads: li = BQ j + r holds part j (of SPLIT) of row r's head: H4 vec4 of q (pre-scaled
// by log2(e) / sqrt(dh)) and V4 vec4 of its output acc, in registers. Per tile it scores
// its part of the BK keys, writes the partial dot products to `part` and adds the SPLIT
// parts in a fixed order (so every part holds the same BK scores), runs the online
// softmax over the tile (log2 domain: one rescale per tile when the max grows) and
// accumulates its part of p v. A warp is one part of 32 rows, so each k_s / v_s read is
// a broadcast.
// Overrides (ops/attention_tiled.rs, from the adapter's workgroup storage): BQ, BK <= 16,
// SPLIT (2, or 4 for v heads over 128 dims), H4 = ceil(dh / 4 SPLIT) <= 16,
// V4 = ceil(dv / 4 SPLIT) <= 16. Workgroup storage: 16 BK (DH4 + DV4) + 4 SPLIT BK BQ bytes.
// Dispatch grid: (Hkv, ceil(T G / BQ), 1), folded past the device limit.

struct Params {
    t: u32,          // T: query rows
    stride: u32,     // floats per row of qkv
    k_off: u32,      // first column of k in qkv (q starts at column 0)
    v_off: u32,      // first column of v in qkv
    n_heads: u32,    // Hq
    n_kv_heads: u32, // Hkv (Hq % Hkv == 0)
    head_dim: u32,   // dh <= 256 (<= 128 here)
    window: u32,     // sliding window (the layer's or an imposed one), 0 = full causal
    sinks: u32,      // sink tokens (with a window)
    ring: u32,       // cache rows after the sinks of a ring cache; 0 = a flat cache
    out_stride: u32, // floats per row of out
    scale: f32,      // 1 / sqrt(dh)
    v_head_dim: u32, // dv <= 256
    hide_lo: u32,    // hidden keys [hide_lo, hide_hi) (an intervention; none: 0, 0)
    hide_hi: u32,
    _pad2: u32,
}

override BQ: u32 = 64u;   // rows per workgroup
override BK: u32 = 16u;   // keys per tile (<= MAX_BK)
override SPLIT: u32 = 2u; // threads per row
override H4: u32 = 16u;   // vec4 of q per thread (<= MAX_H4)
override V4: u32 = 16u;   // vec4 of the output per thread (<= MAX_H4)
override WG: u32 = SPLIT * BQ;
override DH4: u32 = SPLIT * H4;
override DV4: u32 = SPLIT * V4;
override KS_N: u32 = BK * DH4;
override VS_N: u32 = BK * DV4;
override PART_N: u32 = SPLIT * BK * BQ;

const MAX_H4: u32 = 16u;
const MAX_BK: u32 = 16u;
const NEG_BIG: f32 = -3.0e38;
const LOG2E: f32 = 1.4426950408889634;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pos: array<u32>;         // [1]: pos0
@group(0) @binding(2) var<storage, read> qkv: array<f32>;         // [T, stride]: q | k | v (RoPE applied)
@group(0) @binding(3) var<storage, read> k_cache: array<f32>;     // [rows, Hkv*dh]
@group(0) @binding(4) var<storage, read> v_cache: array<f32>;     // [rows, Hkv*dv]
@group(0) @binding(5) var<storage, read_write> out: array<f32>;   // [T, out_stride]: heads of dv concatenated

var<workgroup> k_s: array<vec4<f32>, KS_N>;  // [BK, DH4] the K tile
var<workgroup> v_s: array<vec4<f32>, VS_N>;  // [BK, DV4] the V tile
var<workgroup> part: array<f32, PART_N>;     // [SPLIT, BK, BQ] partial scores of each part

// Key s is hidden from the query at position a: an intervention's range
// [hide_lo, hide_hi) (empty: 0, 0), never the query's own key.
fn hidden(a: u32, s: u32) -> bool {
    return s >= p.hide_lo && s < p.hide_hi && s != a;
}

fn slot(s: u32) -> u32 {
    if (p.ring == 0u || s < p.sinks) {
        return s;
    }
    return p.sinks + (s - p.sinks) % p.ring;
}

// Absolute position of the block's key number v: the sinks [0, n_a), then lo, lo + 1, ...
fn key_at(v: u32, n_a: u32, lo: u32) -> u32 {
    return select(lo + v - n_a, v, v < n_a);
}

// Row at absolute position a sees the block's key number vi (< n) at absolute position s.
fn block_sees(a: u32, s: u32, vi: u32, n: u32) -> bool {
    return vi < n && s <= a && (p.window == 0u || a - s < p.window || s < p.sinks)
        && !hidden(a, s);
}

// Dims d..d+3 (zero past the head's dh or dv) of the key (is_v = false) or value
// (is_v = true) of KV head kvh at absolute position s: a fresh row of qkv (s >= pos0) or a
// cache row.
fn kv_dims(s: u32, pos0: u32, kvh: u32, d: u32, is_v: bool) -> vec4<f32> {
    let dh = select(p.head_dim, p.v_head_dim, is_v);
    let fresh = s >= pos0;
    let fresh_base = (s - min(s, pos0)) * p.stride + select(p.k_off, p.v_off, is_v);
    let base = select(slot(s) * p.n_kv_heads * dh, fresh_base, fresh) + kvh * dh + d;
    var x = vec4<f32>(0.0);
    for (var c = 0u; c < 4u; c++) {
        if (d + c < dh) {
            if (fresh) {
                x[c] = qkv[base + c];
            } else if (is_v) {
                x[c] = v_cache[base + c];
            } else {
                x[c] = k_cache[base + c];
            }
        }
    }
    return x;
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let g = p.n_heads / p.n_kv_heads;
    let n_x = p.n_kv_heads;
    let wg = wg_index(wid, nwg);
    if (wg >= n_x * ((p.t * g + BQ - 1u) / BQ)) {
        return;
    }
    let kvh = wg % n_x;
    let b = wg / n_x;
    let dh = p.head_dim;
    let pos0 = pos[0];
    // this thread: part j of row i = position t, query head h
    let r = li % BQ;
    let j = li / BQ;
    let i = b * BQ + r;
    let live = i < p.t * g;
    let t = min(i / g, p.t - 1u);
    let h = kvh * g + i % g;
    let a = pos0 + t;
    // the block's keys: the sinks [0, n_a) below the first row's window, then [lo, a_last]
    let a_first = pos0 + (b * BQ) / g;
    let a_last = pos0 + min((b * BQ + BQ - 1u) / g, p.t - 1u);
    var lo = 0u;
    var n_a = 0u;
    if (p.window > 0u && a_first + 1u > p.window) {
        lo = a_first + 1u - p.window;
        n_a = min(p.sinks, lo);
    }
    let n = n_a + (a_last - lo + 1u);

    let d0 = j * H4; // this thread's first vec4 of the q/k head
    let e0 = j * V4; // and of the v head
    var q: array<vec4<f32>, MAX_H4>;
    var acc: array<vec4<f32>, MAX_H4>; // zero
    let qs = p.scale * LOG2E;
    for (var c = 0u; c < H4; c++) {
        let d = 4u * (d0 + c);
        var x = vec4<f32>(0.0);
        for (var e = 0u; e < 4u; e++) {
            if (d + e < dh) {
                x[e] = qkv[t * p.stride + h * dh + d + e];
            }
        }
        q[c] = x * qs;
    }
    var m = NEG_BIG; // running max of the scores (log2 domain)
    var l = 0.0;     // running sum of exp2(score - m)
    var sc: array<f32, MAX_BK>;
    for (var v0 = 0u; v0 < n; v0 += BK) {
        workgroupBarrier(); // the previous tile is consumed
        for (var e = li; e < KS_N; e += WG) {
            let vi = v0 + e / DH4;
            var kx = vec4<f32>(0.0);
            if (vi < n) {
                kx = kv_dims(key_at(vi, n_a, lo), pos0, kvh, 4u * (e % DH4), false);
            }
            k_s[e] = kx;
        }
        for (var e = li; e < VS_N; e += WG) {
            let vi = v0 + e / DV4;
            var vx = vec4<f32>(0.0);
            if (vi < n) {
                vx = kv_dims(key_at(vi, n_a, lo), pos0, kvh, 4u * (e % DV4), true);
            }
            v_s[e] = vx;
        }
        workgroupBarrier();
        // this part's partial scores (the SPLIT parts are added below, in one order)
        for (var k = 0u; k < BK; k++) {
            var d = vec4<f32>(0.0);
            for (var c = 0u; c < H4; c++) {
                d = fma(q[c], k_s[k * DH4 + d0 + c], d);
            }
            part[(j * BK + k) * BQ + r] = (d.x + d.y) + (d.z + d.w);
        }
        workgroupBarrier();
        // every key of the tile seen by every row: no per-key test
        let v1 = v0 + BK;
        let s_lo = key_at(v0, n_a, lo);
        let s_hi = key_at(v1 - 1u, n_a, lo);
        let full = v1 <= n && s_hi <= a_first
            && (p.window == 0u || a_last - s_lo < p.window || s_hi < p.sinks)
            && (s_hi < p.hide_lo || s_lo >= p.hide_hi);
        var m_new = m;
        for (var k = 0u; k < BK; k++) {
            let vi = v0 + k;
            var s = 0.0; // the same order in every part: the same score
            for (var jj = 0u; jj < SPLIT; jj++) {
                s += part[(jj * BK + k) * BQ + r];
            }
            let seen = full || (live && block_sees(a, key_at(vi, n_a, lo), vi, n));
            sc[k] = select(NEG_BIG, s, seen); // NEG_BIG: not seen (weight 0)
            m_new = max(m_new, sc[k]);
        }
        if (m_new > m) { // rescale only when the max grows
            let corr = exp2(m - m_new);
            l *= corr;
            for (var c = 0u; c < V4; c++) {
                acc[c] *= corr;
            }
            m = m_new;
        }
        for (var k = 0u; k < BK; k++) {
            if (sc[k] > NEG_BIG) {
                let pr = exp2(sc[k] - m);
                l += pr;
                for (var c = 0u; c < V4; c++) {
                    acc[c] = fma(vec4<f32>(pr), v_s[k * DV4 + e0 + c], acc[c]);
                }
            }
        }
    }
    if (live) {
        let dv = p.v_head_dim;
        let ob = t * p.out_stride + h * dv;
        for (var c = 0u; c < V4; c++) {
            let d = 4u * (e0 + c);
            let y = acc[c] / l;
            for (var e = 0u; e < 4u; e++) {
                if (d + e < dv) {
                    out[ob + d + e] = y[e];
                }
            }
        }
    }
}
