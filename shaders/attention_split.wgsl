// attention_split: split-K ("flash-decoding") partials of causal GQA attention for one
// query row (decode, T = 1) at absolute position pos0, with the visibility rules of
// attention.wgsl (sliding window + sinks, cache slots incl. the ring, the fresh key of
// this call from qkv). The n visible keys (sinks [0, n_a), then the window [lo, pos0])
// are cut into `used` = clamp(ceil(n / 32), 1, splits) contiguous slices of
// chunk = ceil(n / used) key indices (at most 32 keys while the grid has enough splits);
// split j of the heads of workgroup x runs the online softmax over slice j and writes,
// for each of its query heads,
//   m = max_i score_i,  l = sum_i exp(score_i - m),  o[d] = sum_i exp(score_i - m) v_i[d]
// with score_i = q . k_i / sqrt(dh) (q, k heads of dh; v heads and o of dv). The bounds come from pos on the GPU, so the grid is
// sized once for the most keys a step can see; a split with an empty slice writes the
// neutral partial m = -3e38, l = 0, o = 0 and exits. attention_combine.wgsl merges.
//
// One workgroup of 256 threads per (group of heads_per_wg query heads of one KV head,
// split): the K and V rows of its keys are read once for all those heads. A slice is
// walked in tiles of `tile` keys (a power of two, tile * dm <= 1024 with dm = max(dh, dv):
// 32 keys up to dm = 32, 4 at dm = 256):
//   1. K and V of the tile go from registers to workgroup memory ([tile][dh | 1], odd
//      row stride so the keys of a warp hit distinct banks, and [tile][dv]); thread li
//      holds the elements li + 256 r (r < 4) of the flat [tile][dm] tile (dims past dh
//      hold no key, past dv no value), read coalesced with all 8 loads in flight; the
//      next tile's loads are issued right after, so they run under the math of this one;
//   2. scores: one (head, key) per thread (heads_per_wg * tile <= 256), the q.k dot
//      from workgroup memory (4 partial sums);
//   3. each (head, key) thread takes the tile max of its head (over <= 32 scores in
//      workgroup memory, 4 independent chains) and its probability exp(score - tile max);
//   4. P.V: 256 / (heads_per_wg * dv) threads per output (head, d), each over every
//      kq-th key of the tile (kq of them), with the sum of the probabilities;
//   5. thread o < heads_per_wg * dv sums those parts and folds the tile into its
//      running (m, l, o[d]) with the rescales exp(m_run - m_new), exp(m_tile - m_new).
// Dispatch grid: (Hq / heads_per_wg, splits, 1), folded past the device limit.

struct Params {
    stride: u32,       // floats per row of qkv
    k_off: u32,        // first column of k in qkv (q starts at column 0)
    v_off: u32,        // first column of v in qkv
    n_heads: u32,      // Hq
    n_kv_heads: u32,   // Hkv (Hq % Hkv == 0)
    head_dim: u32,     // dh <= 256
    window: u32,       // sliding window (the layer's or an imposed one), 0 = full causal
    sinks: u32,        // sink tokens (with a window)
    ring: u32,         // cache rows after the sinks of a ring cache; 0 = a flat cache
    splits: u32,       // splits in the grid (the most a step uses)
    scale: f32,        // 1 / sqrt(dh)
    heads_per_wg: u32, // query heads per workgroup: divides Hq / Hkv, <= 8, * max(dh, dv) <= 256
    v_head_dim: u32,   // dv <= 256
    hide_lo: u32,      // hidden keys [hide_lo, hide_hi) (an intervention; none: 0, 0)
    hide_hi: u32,
    min_slice: u32,    // (attention_split_vec4's; slices here have KEYS_PER_SPLIT keys)
}

const WG: u32 = 256u;
// MAX_HEADS and MAX_Q equal MAX_HEADS_PER_WG and MAX_WG_QUERY, KEYS_PER_SPLIT its namesake,
// of gpu/src/ops/attention_split.rs (gpu/tests/contract.rs holds them equal).
const MAX_HEADS: u32 = 8u; // heads_per_wg <= MAX_HEADS
const MAX_Q: u32 = 256u;   // heads_per_wg * max(dh, dv) <= MAX_Q
const KEYS_PER_SPLIT: u32 = 32u;
const MAX_TILE: u32 = 32u;
const V_BUF: u32 = 1024u; // tile * max(dh, dv) <= V_BUF = 4 * WG: 4 elements per thread
const NEG_BIG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pos: array<u32>;          // [1]: pos0
@group(0) @binding(2) var<storage, read> qkv: array<f32>;          // [1, stride]: q | k | v (RoPE applied)
@group(0) @binding(3) var<storage, read> k_cache: array<f32>;      // [rows, Hkv*dh]
@group(0) @binding(4) var<storage, read> v_cache: array<f32>;      // [rows, Hkv*dv]
@group(0) @binding(5) var<storage, read_write> part: array<f32>;   // [Hq, splits, dv + 2]: o[dv] | m | l

var<workgroup> q_s: array<f32, MAX_Q>;       // [heads_per_wg][dh] the queries
var<workgroup> k_s: array<f32, 1056>;        // [tile][dh | 1] keys of the tile
var<workgroup> v_s: array<f32, 1024>;        // [tile][dv] values of the tile
var<workgroup> sc_s: array<f32, 256>;        // [heads_per_wg][tile] scores
var<workgroup> p_s: array<f32, 256>;         // [heads_per_wg][tile] exp(score - tile max)
var<workgroup> mt_s: array<f32, MAX_HEADS>;  // [heads_per_wg] tile max
var<workgroup> pv_s: array<vec2<f32>, 256>;  // [kq][heads_per_wg * dv] (P.V, sum P) parts

// Where the visible keys are: sinks [0, n_a), then the window from lo; pos0 is this call's.
struct Keys {
    lo: u32,
    n_a: u32,
    pos0: u32,
    col0: u32, // column of this KV head in a K cache row / in k of qkv
    kvd: u32,  // floats per K cache row (Hkv*dh)
    vcol0: u32, // column of this KV head in a V cache row / in v of qkv
    vd: u32,    // floats per V cache row (Hkv*dv)
}

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

// (k, v)[d] of key start + t of the visible keys (0 past dh for k, past dv for v); past
// the tile's cnt keys (t >= cnt, not stored) the last key's, so that every load is in
// bounds and none is skipped.
fn fetch(ks: Keys, start: u32, cnt: u32, t: u32, d: u32) -> vec2<f32> {
    let i = start + min(t, cnt - 1u);
    let s = select(ks.lo + i - ks.n_a, i, i < ks.n_a);
    let dk = min(d, p.head_dim - 1u);
    let dv = min(d, p.v_head_dim - 1u);
    var x: vec2<f32>;
    if (s >= ks.pos0) {
        x = vec2<f32>(qkv[p.k_off + ks.col0 + dk], qkv[p.v_off + ks.vcol0 + dv]);
    } else {
        let r = slot(s);
        x = vec2<f32>(k_cache[r * ks.kvd + ks.col0 + dk], v_cache[r * ks.vd + ks.vcol0 + dv]);
    }
    return select(vec2<f32>(0.0), x, vec2<bool>(d < p.head_dim, d < p.v_head_dim));
}

// Element (t, d) of the flat tile into k_s (d < dh) and v_s (d < dv), for the cnt keys.
fn store(t: u32, d: u32, cnt: u32, kst: u32, x: vec2<f32>) {
    if (t < cnt) {
        if (d < p.head_dim) {
            k_s[t * kst + d] = x.x;
        }
        if (d < p.v_head_dim) {
            v_s[t * p.v_head_dim + d] = x.y;
        }
    }
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    // the logical grid (n_x, n_y), folded past the device limit
    let n_x = p.n_heads / p.heads_per_wg;
    let n_y = p.splits;
    let wg = wg_index(wid, nwg);
    if (wg >= n_x * n_y) {
        return;
    }
    let dh = p.head_dim;
    let dv = p.v_head_dim;
    let dm = max(dh, dv);
    let hpw = p.heads_per_wg;
    let h0 = (wg % n_x) * hpw;
    let j = wg / n_x;
    let pos0 = pos[0];
    // visible keys: sinks [0, n_a) then the window [lo, pos0]
    var lo = 0u;
    var n_a = 0u;
    if (p.window > 0u && pos0 + 1u > p.window) {
        lo = pos0 + 1u - p.window;
        n_a = min(p.sinks, lo);
    }
    let kvh = h0 / (p.n_heads / p.n_kv_heads);
    let ks = Keys(lo, n_a, pos0, kvh * dh, p.n_kv_heads * dh, kvh * dv, p.n_kv_heads * dv);
    let n = n_a + (pos0 - lo + 1u);
    let used = clamp((n + KEYS_PER_SPLIT - 1u) / KEYS_PER_SPLIT, 1u, p.splits);
    let chunk = (n + used - 1u) / used;
    let i0 = min(j * chunk, n);
    let i1 = min(i0 + chunk, n);
    if (i0 >= i1) {
        // empty slice: the neutral partial of each head, and nothing else
        let w = dv + 2u;
        for (var i = li; i < hpw * w; i += WG) {
            let hh = i / w;
            let c = i - hh * w;
            part[((h0 + hh) * p.splits + j) * w + c] = select(0.0, NEG_BIG, c == dv);
        }
        return;
    }
    // keys per tile: a power of two with tile * dm <= V_BUF
    let tile = min(MAX_TILE, 1u << firstLeadingBit(V_BUF / dm));
    let tile_log = firstLeadingBit(tile);
    let kst = dh | 1u; // odd row stride of k_s
    let n_q = hpw * dh; // query floats
    let n_o = hpw * dv; // outputs
    let n_s = hpw * tile;
    // elements of the flat [tile][dm] tile of this thread: e = li + WG r -> (key t_r,
    // dim d_r), stepped without further divisions
    let t0 = li / dm;
    let d0 = li - t0 * dm;
    let st = WG / dm;
    let sd = WG - st * dm;
    let c1 = d0 + sd >= dm;
    let t1 = t0 + st + select(0u, 1u, c1);
    let d1 = select(d0 + sd, d0 + sd - dm, c1);
    let c2 = d1 + sd >= dm;
    let t2 = t1 + st + select(0u, 1u, c2);
    let d2 = select(d1 + sd, d1 + sd - dm, c2);
    let c3 = d2 + sd >= dm;
    let t3 = t2 + st + select(0u, 1u, c3);
    let d3 = select(d2 + sd, d2 + sd - dm, c3);
    // step 2-3: (head, key) of this thread
    let s_hh = li >> tile_log;
    let s_t = li & (tile - 1u);
    // step 4: output and key part of this thread
    let kq = WG / n_o;
    let pv_part = li / n_o;
    let pv_o = li - pv_part * n_o;
    let pv_hh = pv_o / dv;
    let pv_d = pv_o - pv_hh * dv;
    var acc = 0.0;
    var l = 0.0;
    var m_run = NEG_BIG;
    var x0 = vec2<f32>(0.0);
    var x1 = vec2<f32>(0.0);
    var x2 = vec2<f32>(0.0);
    var x3 = vec2<f32>(0.0);
    if (li < n_q) {
        q_s[li] = qkv[h0 * dh + li];
    }
    {
        let cnt = min(tile, i1 - i0);
        x0 = fetch(ks, i0, cnt, t0, d0);
        x1 = fetch(ks, i0, cnt, t1, d1);
        x2 = fetch(ks, i0, cnt, t2, d2);
        x3 = fetch(ks, i0, cnt, t3, d3);
    }
    for (var start = i0; start < i1; start += tile) {
        let cnt = min(tile, i1 - start);
        // 1. the tile to workgroup memory, then the next tile's loads
        store(t0, d0, cnt, kst, x0);
        store(t1, d1, cnt, kst, x1);
        store(t2, d2, cnt, kst, x2);
        store(t3, d3, cnt, kst, x3);
        workgroupBarrier();
        let nxt = start + tile;
        if (nxt < i1) {
            let cn = min(tile, i1 - nxt);
            x0 = fetch(ks, nxt, cn, t0, d0);
            x1 = fetch(ks, nxt, cn, t1, d1);
            x2 = fetch(ks, nxt, cn, t2, d2);
            x3 = fetch(ks, nxt, cn, t3, d3);
        }
        // 2. scores
        var sc = NEG_BIG;
        if (li < n_s) {
            if (s_t < cnt) {
                let qb = s_hh * dh;
                let kb = s_t * kst;
                var s0 = 0.0;
                var s1 = 0.0;
                var s2 = 0.0;
                var s3 = 0.0;
                var dd = 0u;
                for (; dd + 4u <= dh; dd += 4u) {
                    s0 += q_s[qb + dd] * k_s[kb + dd];
                    s1 += q_s[qb + dd + 1u] * k_s[kb + dd + 1u];
                    s2 += q_s[qb + dd + 2u] * k_s[kb + dd + 2u];
                    s3 += q_s[qb + dd + 3u] * k_s[kb + dd + 3u];
                }
                for (; dd < dh; dd++) {
                    s0 += q_s[qb + dd] * k_s[kb + dd];
                }
                sc = ((s0 + s1) + (s2 + s3)) * p.scale;
                // a hidden key (absolute position of visible key start + s_t) scores -3e38
                let i = start + s_t;
                if (hidden(pos0, select(ks.lo + i - ks.n_a, i, i < ks.n_a))) {
                    sc = NEG_BIG;
                }
            }
            sc_s[li] = sc;
        }
        workgroupBarrier();
        // 3. tile max per head, probabilities
        if (li < n_s) {
            // 4 independent chains over the tile (past cnt: -3e38)
            let sb = s_hh << tile_log;
            var m0 = sc_s[sb];
            var m1 = NEG_BIG;
            var m2 = NEG_BIG;
            var m3 = NEG_BIG;
            var t = 1u;
            for (; t + 3u < cnt; t += 4u) {
                m0 = max(m0, sc_s[sb + t]);
                m1 = max(m1, sc_s[sb + t + 1u]);
                m2 = max(m2, sc_s[sb + t + 2u]);
                m3 = max(m3, sc_s[sb + t + 3u]);
            }
            for (; t < cnt; t++) {
                m0 = max(m0, sc_s[sb + t]);
            }
            let m_t = max(max(m0, m1), max(m2, m3));
            // keys past cnt and hidden keys weigh 0 (also in a tile of hidden keys only)
            p_s[li] = select(exp(sc - m_t), 0.0, sc <= NEG_BIG);
            if (s_t == 0u) {
                mt_s[s_hh] = m_t;
            }
        }
        workgroupBarrier();
        // 4. P.V parts
        if (pv_part < kq) {
            let pb = pv_hh << tile_log;
            var a0 = 0.0;
            var a1 = 0.0;
            var l0 = 0.0;
            var l1 = 0.0;
            var t = pv_part;
            for (; t + kq < cnt; t += 2u * kq) {
                let p0 = p_s[pb + t];
                let p1 = p_s[pb + t + kq];
                a0 += p0 * v_s[t * dv + pv_d];
                a1 += p1 * v_s[(t + kq) * dv + pv_d];
                l0 += p0;
                l1 += p1;
            }
            if (t < cnt) {
                let p0 = p_s[pb + t];
                a0 += p0 * v_s[t * dv + pv_d];
                l0 += p0;
            }
            pv_s[li] = vec2<f32>(a0 + a1, l0 + l1);
        }
        workgroupBarrier();
        // 5. fold the tile into the running softmax of output li
        if (li < n_o) {
            var al = pv_s[li];
            for (var k = 1u; k < kq; k++) {
                al += pv_s[k * n_o + li];
            }
            let m_t = mt_s[pv_hh];
            let m_new = max(m_run, m_t);
            let c_run = exp(m_run - m_new);
            let c_t = exp(m_t - m_new);
            acc = acc * c_run + al.x * c_t;
            l = l * c_run + al.y * c_t;
            m_run = m_new;
        }
    }
    if (li < n_o) {
        let base = ((h0 + pv_hh) * p.splits + j) * (dv + 2u);
        part[base + pv_d] = acc;
        if (pv_d == 0u) {
            part[base + dv] = m_run;
            part[base + dv + 1u] = l;
        }
    }
}
