// attention: causal softmax(q k^T / sqrt(dh)) v with GQA and an optional sliding window
// with sink tokens, for T query rows at absolute positions pos0 + t, against
//   - keys s < pos0: the KV cache (slot(s) = s, or with a window sinks + (s - sinks) % ring),
//   - keys s >= pos0: the fresh k, v rows of this call (row s - pos0 of qkv).
// Query t sees key s iff s <= t and (no window or t - s < window or s < sinks) and s is
// not hidden (an intervention: hide_lo <= s < hide_hi and s != t):
//   out[t, h] = sum_s softmax_s(q[t, h] . k[s, kvh] / sqrt(dh)) v[s, kvh],  kvh = h / (Hq / Hkv),
// with q, k heads of dh and v heads (so each output head) of dv.
// The prefill kernel (any T >= 1; decode steps use attention_split.wgsl).
//
// Tiled path (WIDE = false, dh = dv <= 64), flash-attention style.
//   Rows: with G = Hq / Hkv, the T * G (position, query head) pairs of KV head kvh are
//   numbered i = t * G + h % G. Workgroup (kvh, b) owns the BQ = 32 rows [32 b, 32 b + 32):
//   about 32 / G consecutive positions of all G heads that read the same K/V.
//   Keys: the union of its rows' visible keys, n in all: the sinks [0, n_a) below the
//   first row's window, then [lo, last position] (lo = the first row's window start), so
//   key tiles wholly outside the causal / window range are never visited.
//   Tiles: BK = KPT * SPLITS keys (32 for dh <= 32, 16 for dh <= 64). The WG = 32 * SPLITS
//   threads stage a tile's K and V in workgroup memory (kv_s: rows of 8 vec4, R =
//   ceil(DH4 / 8) rows per key, K in rows [0, 32), V in [32, 64): 8 KiB) from registers,
//   and load the next tile into registers (at most 4 vec4 per thread) while this one is
//   scored, so global latency hides behind the math.
//   Threads: li = 32 j + r is split j of row r. It holds q (pre-scaled by log2(e) / sqrt(dh))
//   and its output acc as DH4 named vec4 registers (struct Head; a dynamically indexed
//   private array would live in local memory, ~4x slower on an H100), and runs an online
//   softmax in the log2 domain over keys [j KPT, j KPT + KPT) of every tile: score s,
//   rescale acc and l by exp2(m - s) only when s > m, then l += exp2(s - m), acc +=
//   exp2(s - m) v. Tiles seen whole by every row skip the per-key visibility test. A warp
//   is one split of 32 rows, so each workgroup-memory read in the key loop is a broadcast.
//   Merge: the SPLITS partial states of a row meet in workgroup memory (common max, then
//   SPLITS - 1 rounds of sums into split 0), and split 0 writes the row.
//   Work per workgroup: 32 n (2 dh) multiply-adds and 32 n (2 DH4) vec4 broadcast reads
//   for 2 n dh floats read from global memory (each K/V element serves 32 rows).
//   Overrides (ops/attention.rs): DH4 = ceil(dh / 4), SPLITS (8), KPT = BK / SPLITS,
//   WG = 32 * SPLITS.
//   Dispatch grid: (Hkv, ceil(T * G / 32), 1).
//
// Wide path (WIDE = true, any dh, dv <= 256, WG = 64): one workgroup per (head, query
// row) looping over tiles of 64 keys with an online softmax; each thread scores one key of
// a tile, then owns output dims d = lid + 64 r < dv (r < 4).
// Dispatch grid: (Hq, T, 1). Both grids are folded past the device limit.
//
// Each path sizes only its own workgroup arrays through overrides (the other path's shrink
// to one element), so the wide path keeps the occupancy of a 1.5 KiB workgroup.

struct Params {
    t: u32,          // T: query rows
    stride: u32,     // floats per row of qkv
    k_off: u32,      // first column of k in qkv (q starts at column 0)
    v_off: u32,      // first column of v in qkv
    n_heads: u32,    // Hq
    n_kv_heads: u32, // Hkv (Hq % Hkv == 0)
    head_dim: u32,   // dh <= 256 (<= 64 on the tiled path)
    window: u32,     // sliding window (the layer's or an imposed one), 0 = full causal
    sinks: u32,      // sink tokens (with a window)
    ring: u32,       // cache rows after the sinks of a ring cache; 0 = a flat cache
    out_stride: u32, // floats per row of out
    scale: f32,      // 1 / sqrt(dh)
    v_head_dim: u32, // dv <= 256 (= dh on the tiled path)
    hide_lo: u32,    // hidden keys [hide_lo, hide_hi) (an intervention; none: 0, 0)
    hide_hi: u32,
    _pad2: u32,
}

override WIDE: bool = false; // the one-row-per-workgroup path (dh > 64)
override WG: u32 = 256u;     // threads: 32 * SPLITS (tiled) or 64 (wide)
override DH4: u32 = 8u;      // tiled: vec4 per head, ceil(dh / 4) <= 16
override SPLITS: u32 = 8u;   // tiled: threads per row, each with its own keys of a tile (<= 8)
override KPT: u32 = 4u;      // tiled: keys per thread per tile; BK = KPT * SPLITS, BK * R <= 32

const BQ: u32 = 32u;          // tiled: rows per workgroup (TILED_ROWS of ops/attention.rs)
const V_ROW: u32 = 32u;       // tiled: the V tile's first row in kv_s
const TILE: u32 = 64u;        // wide: keys per tile
const NEG_BIG: f32 = -3.0e38;
const LOG2E: f32 = 1.4426950408889634;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pos: array<u32>;         // [1]: pos0
@group(0) @binding(2) var<storage, read> qkv: array<f32>;         // [T, stride]: q | k | v (RoPE applied)
@group(0) @binding(3) var<storage, read> k_cache: array<f32>;     // [rows, Hkv*dh]
@group(0) @binding(4) var<storage, read> v_cache: array<f32>;     // [rows, Hkv*dv]
@group(0) @binding(5) var<storage, read_write> out: array<f32>;   // [T, out_stride]: heads concatenated

// workgroup array lengths: each path's own, one element for the other path's
override KV_N: u32 = select(64u, 1u, WIDE);
override RED_N: u32 = select(256u, 1u, WIDE);
override Q_N: u32 = select(1u, 256u, WIDE);
override TILE_N: u32 = select(1u, 64u, WIDE);
// tiled path (8 KiB + 1.1 KiB)
var<workgroup> kv_s: array<array<vec4<f32>, 8>, KV_N>; // K tile | V tile, R rows per key; then the merge
var<workgroup> red_m: array<f32, RED_N>;               // [SPLITS, BQ] running maxima
var<workgroup> red_l: array<f32, 32>;                  // [BQ] running sums
// wide path (1.5 KiB)
var<workgroup> q_s: array<f32, Q_N>;        // [dh] the query
var<workgroup> score: array<f32, TILE_N>;   // [TILE] scores, then probabilities
var<workgroup> key_pos: array<u32, TILE_N>; // [TILE] absolute key positions

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

// Head size of keys (dh) or values (dv).
fn width(is_v: bool) -> u32 {
    return select(p.head_dim, p.v_head_dim, is_v);
}

// Element d of key (is_v = false) or value (is_v = true) at absolute position s, KV head kvh.
fn kv(s: u32, pos0: u32, kvh: u32, d: u32, is_v: bool) -> f32 {
    let w = width(is_v);
    let col = kvh * w + d;
    if (s >= pos0) {
        let off = select(p.k_off, p.v_off, is_v);
        return qkv[(s - pos0) * p.stride + off + col];
    }
    let idx = slot(s) * (p.n_kv_heads * w) + col;
    if (is_v) {
        return v_cache[idx];
    }
    return k_cache[idx];
}

// Elements d..d+3 of the head starting at qkv[base] (zero past dh).
fn qkv4(base: u32, d: u32) -> vec4<f32> {
    let dh = p.head_dim;
    var x = vec4<f32>(0.0);
    if (d < dh) { x.x = qkv[base + d]; }
    if (d + 1u < dh) { x.y = qkv[base + d + 1u]; }
    if (d + 2u < dh) { x.z = qkv[base + d + 2u]; }
    if (d + 3u < dh) { x.w = qkv[base + d + 3u]; }
    return x;
}

fn k_cache4(base: u32, d: u32) -> vec4<f32> {
    let dh = p.head_dim;
    var x = vec4<f32>(0.0);
    if (d < dh) { x.x = k_cache[base + d]; }
    if (d + 1u < dh) { x.y = k_cache[base + d + 1u]; }
    if (d + 2u < dh) { x.z = k_cache[base + d + 2u]; }
    if (d + 3u < dh) { x.w = k_cache[base + d + 3u]; }
    return x;
}

fn v_cache4(base: u32, d: u32) -> vec4<f32> {
    let dh = p.head_dim;
    var x = vec4<f32>(0.0);
    if (d < dh) { x.x = v_cache[base + d]; }
    if (d + 1u < dh) { x.y = v_cache[base + d + 1u]; }
    if (d + 2u < dh) { x.z = v_cache[base + d + 2u]; }
    if (d + 3u < dh) { x.w = v_cache[base + d + 3u]; }
    return x;
}

// Dims d..d+3 of key (is_v = false) or value (is_v = true) at absolute position s.
fn kv4(s: u32, pos0: u32, kvh: u32, d: u32, is_v: bool) -> vec4<f32> {
    let w = width(is_v);
    let col = kvh * w;
    if (s >= pos0) {
        return qkv4((s - pos0) * p.stride + select(p.k_off, p.v_off, is_v) + col, d);
    }
    let base = slot(s) * (p.n_kv_heads * w) + col;
    if (is_v) {
        return v_cache4(base, d);
    }
    return k_cache4(base, d);
}

fn out4(ob: u32, d: u32, x: vec4<f32>) {
    let dh = p.head_dim;
    if (d < dh) { out[ob + d] = x.x; }
    if (d + 1u < dh) { out[ob + d + 1u] = x.y; }
    if (d + 2u < dh) { out[ob + d + 2u] = x.z; }
    if (d + 3u < dh) { out[ob + d + 3u] = x.w; }
}

// Up to 64 dims of one head in registers as named vec4 (a dynamically indexed private
// array would live in local memory); the fields c{DH4}.. are dead code.
struct Head {
    c0: vec4<f32>,
    c1: vec4<f32>,
    c2: vec4<f32>,
    c3: vec4<f32>,
    c4: vec4<f32>,
    c5: vec4<f32>,
    c6: vec4<f32>,
    c7: vec4<f32>,
    c8: vec4<f32>,
    c9: vec4<f32>,
    c10: vec4<f32>,
    c11: vec4<f32>,
    c12: vec4<f32>,
    c13: vec4<f32>,
    c14: vec4<f32>,
    c15: vec4<f32>,
}

// q . k for the key held in kv_s rows [row, row + R).
fn head_dot(q: ptr<function, Head>, row: u32) -> f32 {
    var d = (*q).c0 * kv_s[row][0];
    if (DH4 > 1u) { d = fma((*q).c1, kv_s[row][1], d); }
    if (DH4 > 2u) { d = fma((*q).c2, kv_s[row][2], d); }
    if (DH4 > 3u) { d = fma((*q).c3, kv_s[row][3], d); }
    if (DH4 > 4u) { d = fma((*q).c4, kv_s[row][4], d); }
    if (DH4 > 5u) { d = fma((*q).c5, kv_s[row][5], d); }
    if (DH4 > 6u) { d = fma((*q).c6, kv_s[row][6], d); }
    if (DH4 > 7u) { d = fma((*q).c7, kv_s[row][7], d); }
    if (DH4 > 8u) { d = fma((*q).c8, kv_s[row + 1u][0], d); }
    if (DH4 > 9u) { d = fma((*q).c9, kv_s[row + 1u][1], d); }
    if (DH4 > 10u) { d = fma((*q).c10, kv_s[row + 1u][2], d); }
    if (DH4 > 11u) { d = fma((*q).c11, kv_s[row + 1u][3], d); }
    if (DH4 > 12u) { d = fma((*q).c12, kv_s[row + 1u][4], d); }
    if (DH4 > 13u) { d = fma((*q).c13, kv_s[row + 1u][5], d); }
    if (DH4 > 14u) { d = fma((*q).c14, kv_s[row + 1u][6], d); }
    if (DH4 > 15u) { d = fma((*q).c15, kv_s[row + 1u][7], d); }
    return (d.x + d.y) + (d.z + d.w);
}

// acc += w * (the value held in kv_s rows [row, row + R)).
fn head_fma(acc: ptr<function, Head>, w: f32, row: u32) {
    let ww = vec4<f32>(w);
    (*acc).c0 = fma(ww, kv_s[row][0], (*acc).c0);
    if (DH4 > 1u) { (*acc).c1 = fma(ww, kv_s[row][1], (*acc).c1); }
    if (DH4 > 2u) { (*acc).c2 = fma(ww, kv_s[row][2], (*acc).c2); }
    if (DH4 > 3u) { (*acc).c3 = fma(ww, kv_s[row][3], (*acc).c3); }
    if (DH4 > 4u) { (*acc).c4 = fma(ww, kv_s[row][4], (*acc).c4); }
    if (DH4 > 5u) { (*acc).c5 = fma(ww, kv_s[row][5], (*acc).c5); }
    if (DH4 > 6u) { (*acc).c6 = fma(ww, kv_s[row][6], (*acc).c6); }
    if (DH4 > 7u) { (*acc).c7 = fma(ww, kv_s[row][7], (*acc).c7); }
    if (DH4 > 8u) { (*acc).c8 = fma(ww, kv_s[row + 1u][0], (*acc).c8); }
    if (DH4 > 9u) { (*acc).c9 = fma(ww, kv_s[row + 1u][1], (*acc).c9); }
    if (DH4 > 10u) { (*acc).c10 = fma(ww, kv_s[row + 1u][2], (*acc).c10); }
    if (DH4 > 11u) { (*acc).c11 = fma(ww, kv_s[row + 1u][3], (*acc).c11); }
    if (DH4 > 12u) { (*acc).c12 = fma(ww, kv_s[row + 1u][4], (*acc).c12); }
    if (DH4 > 13u) { (*acc).c13 = fma(ww, kv_s[row + 1u][5], (*acc).c13); }
    if (DH4 > 14u) { (*acc).c14 = fma(ww, kv_s[row + 1u][6], (*acc).c14); }
    if (DH4 > 15u) { (*acc).c15 = fma(ww, kv_s[row + 1u][7], (*acc).c15); }
}

fn head_scale(acc: ptr<function, Head>, f: f32) {
    (*acc).c0 *= f;
    if (DH4 > 1u) { (*acc).c1 *= f; }
    if (DH4 > 2u) { (*acc).c2 *= f; }
    if (DH4 > 3u) { (*acc).c3 *= f; }
    if (DH4 > 4u) { (*acc).c4 *= f; }
    if (DH4 > 5u) { (*acc).c5 *= f; }
    if (DH4 > 6u) { (*acc).c6 *= f; }
    if (DH4 > 7u) { (*acc).c7 *= f; }
    if (DH4 > 8u) { (*acc).c8 *= f; }
    if (DH4 > 9u) { (*acc).c9 *= f; }
    if (DH4 > 10u) { (*acc).c10 *= f; }
    if (DH4 > 11u) { (*acc).c11 *= f; }
    if (DH4 > 12u) { (*acc).c12 *= f; }
    if (DH4 > 13u) { (*acc).c13 *= f; }
    if (DH4 > 14u) { (*acc).c14 *= f; }
    if (DH4 > 15u) { (*acc).c15 *= f; }
}

// acc += kv_s rows [row, row + R).
fn head_add_shared(acc: ptr<function, Head>, row: u32) {
    (*acc).c0 += kv_s[row][0];
    if (DH4 > 1u) { (*acc).c1 += kv_s[row][1]; }
    if (DH4 > 2u) { (*acc).c2 += kv_s[row][2]; }
    if (DH4 > 3u) { (*acc).c3 += kv_s[row][3]; }
    if (DH4 > 4u) { (*acc).c4 += kv_s[row][4]; }
    if (DH4 > 5u) { (*acc).c5 += kv_s[row][5]; }
    if (DH4 > 6u) { (*acc).c6 += kv_s[row][6]; }
    if (DH4 > 7u) { (*acc).c7 += kv_s[row][7]; }
    if (DH4 > 8u) { (*acc).c8 += kv_s[row + 1u][0]; }
    if (DH4 > 9u) { (*acc).c9 += kv_s[row + 1u][1]; }
    if (DH4 > 10u) { (*acc).c10 += kv_s[row + 1u][2]; }
    if (DH4 > 11u) { (*acc).c11 += kv_s[row + 1u][3]; }
    if (DH4 > 12u) { (*acc).c12 += kv_s[row + 1u][4]; }
    if (DH4 > 13u) { (*acc).c13 += kv_s[row + 1u][5]; }
    if (DH4 > 14u) { (*acc).c14 += kv_s[row + 1u][6]; }
    if (DH4 > 15u) { (*acc).c15 += kv_s[row + 1u][7]; }
}

// kv_s rows [row, row + R) = acc.
fn head_to_shared(acc: ptr<function, Head>, row: u32) {
    kv_s[row][0] = (*acc).c0;
    if (DH4 > 1u) { kv_s[row][1] = (*acc).c1; }
    if (DH4 > 2u) { kv_s[row][2] = (*acc).c2; }
    if (DH4 > 3u) { kv_s[row][3] = (*acc).c3; }
    if (DH4 > 4u) { kv_s[row][4] = (*acc).c4; }
    if (DH4 > 5u) { kv_s[row][5] = (*acc).c5; }
    if (DH4 > 6u) { kv_s[row][6] = (*acc).c6; }
    if (DH4 > 7u) { kv_s[row][7] = (*acc).c7; }
    if (DH4 > 8u) { kv_s[row + 1u][0] = (*acc).c8; }
    if (DH4 > 9u) { kv_s[row + 1u][1] = (*acc).c9; }
    if (DH4 > 10u) { kv_s[row + 1u][2] = (*acc).c10; }
    if (DH4 > 11u) { kv_s[row + 1u][3] = (*acc).c11; }
    if (DH4 > 12u) { kv_s[row + 1u][4] = (*acc).c12; }
    if (DH4 > 13u) { kv_s[row + 1u][5] = (*acc).c13; }
    if (DH4 > 14u) { kv_s[row + 1u][6] = (*acc).c14; }
    if (DH4 > 15u) { kv_s[row + 1u][7] = (*acc).c15; }
}

// The head at qkv[base ..] times f (zero past dh).
fn head_load(base: u32, f: f32) -> Head {
    var x: Head;
    x.c0 = qkv4(base, 0u) * f;
    if (DH4 > 1u) { x.c1 = qkv4(base, 4u) * f; }
    if (DH4 > 2u) { x.c2 = qkv4(base, 8u) * f; }
    if (DH4 > 3u) { x.c3 = qkv4(base, 12u) * f; }
    if (DH4 > 4u) { x.c4 = qkv4(base, 16u) * f; }
    if (DH4 > 5u) { x.c5 = qkv4(base, 20u) * f; }
    if (DH4 > 6u) { x.c6 = qkv4(base, 24u) * f; }
    if (DH4 > 7u) { x.c7 = qkv4(base, 28u) * f; }
    if (DH4 > 8u) { x.c8 = qkv4(base, 32u) * f; }
    if (DH4 > 9u) { x.c9 = qkv4(base, 36u) * f; }
    if (DH4 > 10u) { x.c10 = qkv4(base, 40u) * f; }
    if (DH4 > 11u) { x.c11 = qkv4(base, 44u) * f; }
    if (DH4 > 12u) { x.c12 = qkv4(base, 48u) * f; }
    if (DH4 > 13u) { x.c13 = qkv4(base, 52u) * f; }
    if (DH4 > 14u) { x.c14 = qkv4(base, 56u) * f; }
    if (DH4 > 15u) { x.c15 = qkv4(base, 60u) * f; }
    return x;
}

// out[ob + d] = acc[d] * f for d < dh.
fn head_store(acc: ptr<function, Head>, ob: u32, f: f32) {
    out4(ob, 0u, (*acc).c0 * f);
    if (DH4 > 1u) { out4(ob, 4u, (*acc).c1 * f); }
    if (DH4 > 2u) { out4(ob, 8u, (*acc).c2 * f); }
    if (DH4 > 3u) { out4(ob, 12u, (*acc).c3 * f); }
    if (DH4 > 4u) { out4(ob, 16u, (*acc).c4 * f); }
    if (DH4 > 5u) { out4(ob, 20u, (*acc).c5 * f); }
    if (DH4 > 6u) { out4(ob, 24u, (*acc).c6 * f); }
    if (DH4 > 7u) { out4(ob, 28u, (*acc).c7 * f); }
    if (DH4 > 8u) { out4(ob, 32u, (*acc).c8 * f); }
    if (DH4 > 9u) { out4(ob, 36u, (*acc).c9 * f); }
    if (DH4 > 10u) { out4(ob, 40u, (*acc).c10 * f); }
    if (DH4 > 11u) { out4(ob, 44u, (*acc).c11 * f); }
    if (DH4 > 12u) { out4(ob, 48u, (*acc).c12 * f); }
    if (DH4 > 13u) { out4(ob, 52u, (*acc).c13 * f); }
    if (DH4 > 14u) { out4(ob, 56u, (*acc).c14 * f); }
    if (DH4 > 15u) { out4(ob, 60u, (*acc).c15 * f); }
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

// Staging job e of the tile starting at block key v0: jobs [0, BK DH4) are K, then as many
// V, each vec4 (e % (BK DH4)) % DH4 of key v0 + (e % (BK DH4)) / DH4 (zero past n or 2 BK DH4).
fn fetch(e: u32, v0: u32, n: u32, n_a: u32, lo: u32, pos0: u32, kvh: u32) -> vec4<f32> {
    let bd = KPT * SPLITS * DH4;
    let is_v = e >= bd;
    let ee = select(e, e - bd, is_v);
    let vi = v0 + ee / DH4;
    if (e >= 2u * bd || vi >= n) {
        return vec4<f32>(0.0);
    }
    return kv4(key_at(vi, n_a, lo), pos0, kvh, 4u * (ee % DH4), is_v);
}

// Stores staging job e in kv_s (K rows [0, 32), V rows [32, 64), R rows per key).
fn put(e: u32, x: vec4<f32>) {
    let bd = KPT * SPLITS * DH4;
    if (e < 2u * bd) {
        let is_v = e >= bd;
        let ee = select(e, e - bd, is_v);
        let c = ee % DH4;
        kv_s[select(0u, V_ROW, is_v) + (ee / DH4) * ((DH4 + 7u) / 8u) + c / 8u][c % 8u] = x;
    }
}

fn tiled(wid: vec2<u32>, li: u32) {
    let dh = p.head_dim;
    let g = p.n_heads / p.n_kv_heads;
    let kvh = wid.x;
    let pos0 = pos[0];
    // this thread: split j of row i = position t, query head h
    let r = li % BQ;
    let j = li / BQ;
    let i = wid.y * BQ + r;
    let live = i < p.t * g;
    let t = min(i / g, p.t - 1u);
    let h = kvh * g + i % g;
    let a = pos0 + t;
    // the block's keys: the sinks [0, n_a) below the first row's window, then [lo, a_last]
    let a_first = pos0 + (wid.y * BQ) / g;
    let a_last = pos0 + min((wid.y * BQ + BQ - 1u) / g, p.t - 1u);
    var lo = 0u;
    var n_a = 0u;
    if (p.window > 0u && a_first + 1u > p.window) {
        lo = a_first + 1u - p.window;
        n_a = min(p.sinks, lo);
    }
    let n = n_a + (a_last - lo + 1u);

    let rk = (DH4 + 7u) / 8u; // kv_s rows per key
    var q = head_load(t * p.stride + h * dh, p.scale * LOG2E);
    var acc: Head;   // zero
    var m = NEG_BIG; // running max of the scores (log2 domain)
    var l = 0.0;     // running sum of exp2(score - m)
    let bk = KPT * SPLITS;
    let k0 = j * KPT; // this thread's keys in a tile: [k0, k0 + KPT)
    // staging jobs li + WG u (u < 4, 2 BK DH4 <= 4 WG): the next tile is loaded into
    // registers while the current one is scored
    var x0 = fetch(li, 0u, n, n_a, lo, pos0, kvh);
    var x1 = fetch(li + WG, 0u, n, n_a, lo, pos0, kvh);
    var x2 = fetch(li + 2u * WG, 0u, n, n_a, lo, pos0, kvh);
    var x3 = fetch(li + 3u * WG, 0u, n, n_a, lo, pos0, kvh);
    for (var v0 = 0u; v0 < n; v0 += bk) {
        workgroupBarrier(); // the previous tile is consumed
        put(li, x0);
        put(li + WG, x1);
        put(li + 2u * WG, x2);
        put(li + 3u * WG, x3);
        workgroupBarrier();
        let v1 = v0 + bk;
        if (v1 < n) {
            x0 = fetch(li, v1, n, n_a, lo, pos0, kvh);
            x1 = fetch(li + WG, v1, n, n_a, lo, pos0, kvh);
            x2 = fetch(li + 2u * WG, v1, n, n_a, lo, pos0, kvh);
            x3 = fetch(li + 3u * WG, v1, n, n_a, lo, pos0, kvh);
        }
        // every key of the tile seen by every row: no per-key test
        let s_lo = key_at(v0, n_a, lo);
        let s_hi = key_at(v1 - 1u, n_a, lo);
        let full = v1 <= n && s_hi <= a_first
            && (p.window == 0u || a_last - s_lo < p.window || s_hi < p.sinks)
            && (s_hi < p.hide_lo || s_lo >= p.hide_hi);
        for (var u = 0u; u < KPT; u++) {
            let kk = k0 + u;
            let vi = v0 + kk;
            if (full || (live && block_sees(a, key_at(vi, n_a, lo), vi, n))) {
                let sc = head_dot(&q, kk * rk);
                if (sc > m) { // rescale only when the max grows
                    let corr = exp2(m - sc);
                    l *= corr;
                    head_scale(&acc, corr);
                    m = sc;
                }
                let pr = exp2(sc - m);
                l += pr;
                head_fma(&acc, pr, V_ROW + kk * rk);
            }
        }
    }
    // merge the SPLITS states of each row: common max, then sums into split 0
    workgroupBarrier();
    red_m[j * BQ + r] = m;
    workgroupBarrier();
    var m_row = NEG_BIG;
    for (var jj = 0u; jj < SPLITS; jj++) {
        m_row = max(m_row, red_m[jj * BQ + r]);
    }
    let f = exp2(m - m_row);
    l *= f;
    head_scale(&acc, f);
    for (var jj = 1u; jj < SPLITS; jj++) {
        if (j == jj) {
            head_to_shared(&acc, r * rk);
            red_l[r] = l;
        }
        workgroupBarrier();
        if (j == 0u) {
            head_add_shared(&acc, r * rk);
            l += red_l[r];
        }
        workgroupBarrier();
    }
    if (j == 0u && live) {
        head_store(&acc, t * p.out_stride + h * dh, 1.0 / l);
    }
}

fn wide(wid: vec2<u32>, li: u32) {
    let h = wid.x;
    let row = wid.y;
    let kvh = h / (p.n_heads / p.n_kv_heads);
    let dh = p.head_dim;
    let dv = p.v_head_dim;
    let pos0 = pos[0];
    let t_abs = pos0 + row;
    for (var d = li; d < dh; d += TILE) {
        q_s[d] = qkv[row * p.stride + h * dh + d];
    }
    // visible keys: sinks [0, n_a) then the window [lo, t_abs]
    var lo = 0u;
    var n_a = 0u;
    if (p.window > 0u && t_abs + 1u > p.window) {
        lo = t_abs + 1u - p.window;
        n_a = min(p.sinks, lo);
    }
    let n = n_a + (t_abs - lo + 1u);
    var m = NEG_BIG;
    var l = 0.0;
    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    workgroupBarrier();
    for (var start = 0u; start < n; start += TILE) {
        let i = start + li;
        var sc = NEG_BIG;
        var s = 0u;
        var hid = false;
        if (i < n) {
            s = select(lo + i - n_a, i, i < n_a);
            hid = hidden(t_abs, s);
            var dot = 0.0;
            for (var d = 0u; d < dh; d++) {
                dot += q_s[d] * kv(s, pos0, kvh, d, false);
            }
            sc = select(dot * p.scale, NEG_BIG, hid);
        }
        score[li] = sc;
        key_pos[li] = s;
        workgroupBarrier();
        let count = min(TILE, n - start);
        var m_tile = NEG_BIG;
        for (var j = 0u; j < count; j++) {
            m_tile = max(m_tile, score[j]);
        }
        let m_new = max(m, m_tile);
        let corr = exp(m - m_new);
        workgroupBarrier();
        if (li < count) {
            // a hidden key weighs 0 (also when every key so far is hidden: m_new = -3e38)
            score[li] = select(exp(sc - m_new), 0.0, hid);
        }
        workgroupBarrier();
        l *= corr;
        for (var r = 0u; r < 4u; r++) {
            acc[r] *= corr;
        }
        for (var j = 0u; j < count; j++) {
            let pj = score[j];
            l += pj;
            for (var r = 0u; r < 4u; r++) {
                let d = li + TILE * r;
                if (d < dv) {
                    acc[r] += pj * kv(key_pos[j], pos0, kvh, d, true);
                }
            }
        }
        m = m_new;
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let d = li + TILE * r;
        if (d < dv) {
            out[row * p.out_stride + h * dv + d] = acc[r] / l;
        }
    }
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    // the logical grid: (Hkv, ceil(T G / BQ)) tiled, (Hq, T) wide; folded past the device
    // limit
    var n_x = p.n_kv_heads;
    var n_y = (p.t * (p.n_heads / p.n_kv_heads) + BQ - 1u) / BQ;
    if (WIDE) {
        n_x = p.n_heads;
        n_y = p.t;
    }
    let wg = wg_index(wid, nwg);
    if (wg >= n_x * n_y) {
        return;
    }
    let g = vec2<u32>(wg % n_x, wg / n_x);
    if (WIDE) {
        wide(g, li);
    } else {
        tiled(g, li);
    }
}
