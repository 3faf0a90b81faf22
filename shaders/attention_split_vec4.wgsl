// attention_split_vec4: the split-K ("flash-decoding") partials of attention_split.wgsl
// (same params, visibility rules and partials [Hq, splits, dv + 2] = o | m | l), for q/k
// and v heads whose sizes and columns are multiples of 4, so that every K and V read is a
// vec4. The n visible keys are cut into used = clamp(ceil(n / min_slice), 1, splits)
// contiguous slices of ceil(n / used) keys (min_slice: 32 on a GPU, 256 on a CPU adapter,
// where a workgroup costs per barrier); the splits past them write neutral partials. Made for long caches: a workgroup serves ALL the heads_per_wg <= 8 query
// heads of one KV head (a GQA group: each K and V row is read once for them) and one
// split; its slice is walked in tiles of KT = 256 keys:
//   1. scores: thread t takes key t of the tile: its K row in vec4 loads (8 in flight)
//      against the queries in workgroup memory (broadcast reads), the scores of heads
//      0..3 (and 4..7) as a vec4 each, q . k / sqrt(dh); -3e38 for a hidden key or past
//      the slice; the key's cache row to row_s;
//   2. tile max per head: 32 threads take 8 keys each, then one thread the 32 maxima
//      (vec4 ops: 4 heads at once); the running max m and the rescale
//      c = exp(m_old - m_new) of each head;
//   3. thread t turns its scores into p = exp(score - m) (0 for -3e38);
//   4. P.V: thread (kg, c) of n_kg = 256 / (dv / 4) key groups and dv / 4 columns reads
//      column vec4 c of the V rows of keys kg, kg + n_kg, ... (a warp reads whole rows:
//      coalesced; 4 rows in flight) and accumulates p * v for every head, after scaling
//      its accumulators (o and l) by c;
// and at the end the key groups' parts are summed per head (workgroup memory) into the
// partial. Dispatch grid: (Hq / heads_per_wg, splits, 1), folded past the device limit.

struct Params {
    stride: u32,       // floats per row of qkv
    k_off: u32,        // first column of k in qkv (q starts at column 0); % 4 == 0
    v_off: u32,        // first column of v in qkv; % 4 == 0
    n_heads: u32,      // Hq
    n_kv_heads: u32,   // Hkv (Hq % Hkv == 0)
    head_dim: u32,     // dh <= 256, % 4 == 0
    window: u32,       // sliding window (the layer's or an imposed one), 0 = full causal
    sinks: u32,        // sink tokens (with a window)
    ring: u32,         // cache rows after the sinks of a ring cache; 0 = a flat cache
    splits: u32,       // splits in the grid (the most a step uses)
    scale: f32,        // 1 / sqrt(dh)
    heads_per_wg: u32, // query heads per workgroup: divides Hq / Hkv, <= 4, or <= 8 with dh <= 128
    v_head_dim: u32,   // dv <= 256, % 4 == 0
    hide_lo: u32,      // hidden keys [hide_lo, hide_hi) (an intervention; none: 0, 0)
    hide_hi: u32,
    min_slice: u32,    // fewest keys per slice (a split count from it, below)
}

const WG: u32 = 256u;
const KT: u32 = 256u; // keys per tile: one per thread in the scores
const NEG_BIG: f32 = -3.0e38;
const FRESH: u32 = 0xffffffffu; // row_s of the key of this call (read from qkv)

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pos: array<u32>;                 // [1]: pos0
@group(0) @binding(2) var<storage, read> qkv: array<vec4<f32>>;           // [1, stride / 4]: q | k | v (RoPE applied)
@group(0) @binding(3) var<storage, read> k_cache: array<vec4<f32>>;       // [rows, Hkv*dh / 4]
@group(0) @binding(4) var<storage, read> v_cache: array<vec4<f32>>;       // [rows, Hkv*dv / 4]
@group(0) @binding(5) var<storage, read_write> part: array<f32>;          // [Hq, splits, dv + 2]: o[dv] | m | l

var<workgroup> q_s: array<vec4<f32>, 256>;  // [4 or 8 heads][dh / 4] queries (0 past heads_per_wg)
var<workgroup> s_lo: array<vec4<f32>, KT>;  // [KT] scores, then p, of heads 0..3; at the end [n_kg][dv / 4] o parts
var<workgroup> s_hi: array<vec4<f32>, KT>;  // [KT] the same of heads 4..7
var<workgroup> row_s: array<u32, KT>;       // [KT] cache row of each key (FRESH: qkv)
var<workgroup> red_s: array<vec4<f32>, 64>; // [lo 32 | hi 32] max parts
var<workgroup> l_s: array<f32, WG>;         // [n_kg] l parts
var<workgroup> m_s: array<vec4<f32>, 2>;    // running max (heads 0..3, 4..7)
var<workgroup> c_s: array<vec4<f32>, 2>;    // this tile's rescale exp(m_old - m_new)

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

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

// vec4 i of a K row: of qkv for the fresh key, else of the cache.
fn kload(fresh: bool, i: u32) -> vec4<f32> {
    if (fresh) {
        return qkv[i];
    }
    return k_cache[i];
}

// The dots with k of the 4 heads h.. of q_s from vec4 b (head stride n4); 0 for the
// heads past heads_per_wg (a uniform branch: no work for a smaller group).
fn qdot(b: u32, n4: u32, h: u32, k: vec4<f32>) -> vec4<f32> {
    var r = vec4<f32>(dot(q_s[b], k), 0.0, 0.0, 0.0);
    if (p.heads_per_wg > h + 1u) {
        r.y = dot(q_s[b + n4], k);
    }
    if (p.heads_per_wg > h + 2u) {
        r.z = dot(q_s[b + 2u * n4], k);
    }
    if (p.heads_per_wg > h + 3u) {
        r.w = dot(q_s[b + 3u * n4], k);
    }
    return r;
}

// vec4 c of the V row of a key (row_s entry r) of KV head column vcol4.
fn v4(r: u32, c: u32, vcol4: u32) -> vec4<f32> {
    if (r == FRESH) {
        return qkv[p.v_off / 4u + vcol4 + c];
    }
    return v_cache[r * (p.n_kv_heads * p.v_head_dim / 4u) + vcol4 + c];
}

// Head g's o (parts of the key groups in s_lo, l parts in l_s) into its partial at b.
fn flush(g: u32, a: vec4<f32>, l: f32, li: u32, kg: u32, c: u32, n_kg: u32, b: u32) {
    let dv4 = p.v_head_dim / 4u;
    s_lo[li] = a;
    if (c == 0u) {
        l_s[kg] = l;
    }
    workgroupBarrier();
    if (li < dv4) {
        var o = vec4<f32>(0.0);
        for (var k = 0u; k < n_kg; k++) {
            o += s_lo[k * dv4 + li];
        }
        part[b + 4u * li] = o.x;
        part[b + 4u * li + 1u] = o.y;
        part[b + 4u * li + 2u] = o.z;
        part[b + 4u * li + 3u] = o.w;
    }
    if (li == 0u) {
        var ls = 0.0;
        for (var k = 0u; k < n_kg; k++) {
            ls += l_s[k];
        }
        part[b + p.v_head_dim] = m_s[g / 4u][g % 4u];
        part[b + p.v_head_dim + 1u] = ls;
    }
    workgroupBarrier();
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
    let dh4 = p.head_dim / 4u;
    let dv = p.v_head_dim;
    let dv4 = dv / 4u;
    let hpw = p.heads_per_wg;
    let hi = hpw > 4u;
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
    let n = n_a + (pos0 - lo + 1u);
    let used = clamp((n + p.min_slice - 1u) / p.min_slice, 1u, p.splits);
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
    // the queries, zero past the workgroup's heads (4 or 8 head slots)
    let n_q4 = select(4u, 8u, hi) * dh4;
    if (li < n_q4) {
        var q = vec4<f32>(0.0);
        if (li < hpw * dh4) {
            q = qkv[h0 * dh4 + li];
        }
        q_s[li] = q;
    }
    if (li < 2u) {
        m_s[li] = vec4<f32>(NEG_BIG);
    }
    let kd4 = p.n_kv_heads * dh4; // vec4 per K cache row
    let kcol4 = kvh * dh4;
    let vcol4 = kvh * dv4;
    // step 4: key group and column of this thread
    let n_kg = WG / dv4;
    let kg = li / dv4;
    let c = li - kg * dv4;
    let pv = kg < n_kg;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0);
    var l_lo = vec4<f32>(0.0);
    var l_hi = vec4<f32>(0.0);
    workgroupBarrier();
    for (var start = i0; start < i1; start += KT) {
        let cnt = min(KT, i1 - start);
        // 1. scores of key li
        var sl = vec4<f32>(NEG_BIG);
        var sh = vec4<f32>(NEG_BIG);
        var row = FRESH;
        if (li < cnt) {
            let i = start + li;
            let s = select(lo + i - n_a, i, i < n_a);
            let fresh = s >= pos0;
            var kb = p.k_off / 4u + kcol4;
            if (!fresh) {
                row = slot(s);
                kb = row * kd4 + kcol4;
            }
            var al = vec4<f32>(0.0);
            var ah = vec4<f32>(0.0);
            var d = 0u;
            for (; d + 8u <= dh4; d += 8u) {
                let k0 = kload(fresh, kb + d);
                let k1 = kload(fresh, kb + d + 1u);
                let k2 = kload(fresh, kb + d + 2u);
                let k3 = kload(fresh, kb + d + 3u);
                let k4 = kload(fresh, kb + d + 4u);
                let k5 = kload(fresh, kb + d + 5u);
                let k6 = kload(fresh, kb + d + 6u);
                let k7 = kload(fresh, kb + d + 7u);
                al += ((qdot(d, dh4, 0u, k0) + qdot(d + 1u, dh4, 0u, k1))
                    + (qdot(d + 2u, dh4, 0u, k2) + qdot(d + 3u, dh4, 0u, k3)))
                    + ((qdot(d + 4u, dh4, 0u, k4) + qdot(d + 5u, dh4, 0u, k5))
                    + (qdot(d + 6u, dh4, 0u, k6) + qdot(d + 7u, dh4, 0u, k7)));
                if (hi) {
                    let b = 4u * dh4 + d;
                    ah += ((qdot(b, dh4, 4u, k0) + qdot(b + 1u, dh4, 4u, k1))
                        + (qdot(b + 2u, dh4, 4u, k2) + qdot(b + 3u, dh4, 4u, k3)))
                        + ((qdot(b + 4u, dh4, 4u, k4) + qdot(b + 5u, dh4, 4u, k5))
                        + (qdot(b + 6u, dh4, 4u, k6) + qdot(b + 7u, dh4, 4u, k7)));
                }
            }
            for (; d < dh4; d++) {
                let k0 = kload(fresh, kb + d);
                al += qdot(d, dh4, 0u, k0);
                if (hi) {
                    ah += qdot(4u * dh4 + d, dh4, 4u, k0);
                }
            }
            if (!hidden(pos0, s)) {
                sl = al * p.scale;
                sh = ah * p.scale;
            }
        }
        s_lo[li] = sl;
        s_hi[li] = sh;
        row_s[li] = row;
        workgroupBarrier();
        // 2. tile max per head, the running max and this tile's rescale
        if (li < 32u || (hi && li < 64u)) {
            let b = li & 31u;
            var mx = vec4<f32>(NEG_BIG);
            for (var t = b; t < KT; t += 32u) {
                mx = max(mx, select(s_lo[t], s_hi[t], li >= 32u));
            }
            red_s[li] = mx;
        }
        workgroupBarrier();
        if (li == 0u || (hi && li == 32u)) {
            var m0 = red_s[li];
            var m1 = red_s[li + 1u];
            for (var k = 2u; k < 32u; k += 2u) {
                m0 = max(m0, red_s[li + k]);
                m1 = max(m1, red_s[li + k + 1u]);
            }
            let half = li / 32u;
            let m_old = m_s[half];
            let m_new = max(m_old, max(m0, m1));
            c_s[half] = exp(m_old - m_new);
            m_s[half] = m_new;
        }
        workgroupBarrier();
        // 3. probabilities of key li (0 past the slice and for hidden keys)
        s_lo[li] = select(exp(sl - m_s[0]), vec4<f32>(0.0), sl <= vec4<f32>(NEG_BIG));
        if (hi) {
            s_hi[li] = select(exp(sh - m_s[1]), vec4<f32>(0.0), sh <= vec4<f32>(NEG_BIG));
        }
        workgroupBarrier();
        // 4. P.V over keys kg, kg + n_kg, ... of the tile, after the rescale
        if (pv) {
            let cl = c_s[0];
            a0 *= cl.x;
            a1 *= cl.y;
            a2 *= cl.z;
            a3 *= cl.w;
            l_lo *= cl;
            let ch = c_s[1];
            if (hi) {
                a4 *= ch.x;
                a5 *= ch.y;
                a6 *= ch.z;
                a7 *= ch.w;
                l_hi *= ch;
            }
            var t = kg;
            for (; t < cnt; t += 4u * n_kg) {
                // 4 keys in flight; past cnt the last key again, with p = 0
                let t1 = min(t + n_kg, cnt - 1u);
                let t2 = min(t + 2u * n_kg, cnt - 1u);
                let t3 = min(t + 3u * n_kg, cnt - 1u);
                let v0 = v4(row_s[t], c, vcol4);
                let v1 = v4(row_s[t1], c, vcol4);
                let v2 = v4(row_s[t2], c, vcol4);
                let v3 = v4(row_s[t3], c, vcol4);
                let p0 = s_lo[t];
                let p1 = select(vec4<f32>(0.0), s_lo[t1], t + n_kg < cnt);
                let p2 = select(vec4<f32>(0.0), s_lo[t2], t + 2u * n_kg < cnt);
                let p3 = select(vec4<f32>(0.0), s_lo[t3], t + 3u * n_kg < cnt);
                a0 += (p0.x * v0 + p1.x * v1) + (p2.x * v2 + p3.x * v3);
                if (hpw > 1u) {
                    a1 += (p0.y * v0 + p1.y * v1) + (p2.y * v2 + p3.y * v3);
                }
                if (hpw > 2u) {
                    a2 += (p0.z * v0 + p1.z * v1) + (p2.z * v2 + p3.z * v3);
                }
                if (hpw > 3u) {
                    a3 += (p0.w * v0 + p1.w * v1) + (p2.w * v2 + p3.w * v3);
                }
                l_lo += (p0 + p1) + (p2 + p3);
                if (hi) {
                    let q0 = s_hi[t];
                    let q1 = select(vec4<f32>(0.0), s_hi[t1], t + n_kg < cnt);
                    let q2 = select(vec4<f32>(0.0), s_hi[t2], t + 2u * n_kg < cnt);
                    let q3 = select(vec4<f32>(0.0), s_hi[t3], t + 3u * n_kg < cnt);
                    a4 += (q0.x * v0 + q1.x * v1) + (q2.x * v2 + q3.x * v3);
                    a5 += (q0.y * v0 + q1.y * v1) + (q2.y * v2 + q3.y * v3);
                    a6 += (q0.z * v0 + q1.z * v1) + (q2.z * v2 + q3.z * v3);
                    a7 += (q0.w * v0 + q1.w * v1) + (q2.w * v2 + q3.w * v3);
                    l_hi += (q0 + q1) + (q2 + q3);
                }
            }
        }
        workgroupBarrier();
    }
    // the key groups' parts of each head into its partial
    let w = dv + 2u;
    let b0 = (h0 * p.splits + j) * w;
    let bh = p.splits * w; // to the next head
    flush(0u, a0, l_lo.x, li, kg, c, n_kg, b0);
    if (hpw > 1u) {
        flush(1u, a1, l_lo.y, li, kg, c, n_kg, b0 + bh);
    }
    if (hpw > 2u) {
        flush(2u, a2, l_lo.z, li, kg, c, n_kg, b0 + 2u * bh);
    }
    if (hpw > 3u) {
        flush(3u, a3, l_lo.w, li, kg, c, n_kg, b0 + 3u * bh);
    }
    if (hpw > 4u) {
        flush(4u, a4, l_hi.x, li, kg, c, n_kg, b0 + 4u * bh);
    }
    if (hpw > 5u) {
        flush(5u, a5, l_hi.y, li, kg, c, n_kg, b0 + 5u * bh);
    }
    if (hpw > 6u) {
        flush(6u, a6, l_hi.z, li, kg, c, n_kg, b0 + 6u * bh);
    }
    if (hpw > 7u) {
        flush(7u, a7, l_hi.w, li, kg, c, n_kg, b0 + 7u * bh);
    }
}
