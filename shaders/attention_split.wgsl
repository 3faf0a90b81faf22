// attention_split: split-K ("flash-decoding") partials of causal GQA attention for one
// query row (decode, T = 1) at absolute position pos0, with the visibility rules of
// attention.wgsl (sliding window + sinks, cache slots incl. the ring, the fresh key of
// this call from qkv). The n visible keys (sinks [0, n_a), then the window [lo, pos0])
// are cut into `used` = clamp(ceil(n / 256), 1, splits) contiguous slices of
// chunk = ceil(n / used) key indices; workgroup (h, j) runs the online softmax over
// slice j and writes, for that head and split,
//   m = max_i score_i,  l = sum_i exp(score_i - m),  o[d] = sum_i exp(score_i - m) v_i[d]
// with score_i = q . k_i / sqrt(dh). The bounds come from pos on the GPU, so the grid is
// sized once for the most keys a step can see; a split with an empty slice (j >= used)
// writes the neutral partial m = -3e38, l = 0, o = 0. attention_combine.wgsl merges.
// One workgroup of 64 threads per (head, split): each thread scores one key of a tile of
// 64, then owns output dims d = lid + 64 r (r < 4, dh <= 256).
// Dispatch grid: (Hq, splits, 1).

struct Params {
    stride: u32,     // floats per row of qkv
    k_off: u32,      // first column of k in qkv (q starts at column 0)
    v_off: u32,      // first column of v in qkv
    n_heads: u32,    // Hq
    n_kv_heads: u32, // Hkv (Hq % Hkv == 0)
    head_dim: u32,   // dh <= 256
    window: u32,     // sliding window, 0 = full causal attention
    sinks: u32,      // sink tokens (with a window)
    ring: u32,       // cache rows after the sinks when windowed: max(window - 1, 1)
    splits: u32,     // splits in the grid (the most a step uses)
    scale: f32,      // 1 / sqrt(dh)
    _pad: u32,
}

const TILE: u32 = 64u;
const MIN_PER_SPLIT: u32 = 256u;
const NEG_BIG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pos: array<u32>;          // [1]: pos0
@group(0) @binding(2) var<storage, read> qkv: array<f32>;          // [1, stride]: q | k | v (RoPE applied)
@group(0) @binding(3) var<storage, read> k_cache: array<f32>;      // [rows, Hkv*dh]
@group(0) @binding(4) var<storage, read> v_cache: array<f32>;      // [rows, Hkv*dh]
@group(0) @binding(5) var<storage, read_write> part: array<f32>;   // [Hq, splits, dh + 2]: o[dh] | m | l

var<workgroup> q_s: array<f32, 256>;    // [dh] the query
var<workgroup> score: array<f32, 64>;   // [TILE] scores, then probabilities
var<workgroup> key_pos: array<u32, 64>; // [TILE] absolute key positions

fn slot(s: u32) -> u32 {
    if (p.window == 0u || s < p.sinks) {
        return s;
    }
    return p.sinks + (s - p.sinks) % p.ring;
}

// Element d of key (is_v = false) or value (is_v = true) at absolute position s, KV head kvh.
fn kv(s: u32, pos0: u32, kvh: u32, d: u32, is_v: bool) -> f32 {
    let col = kvh * p.head_dim + d;
    if (s >= pos0) {
        let off = select(p.k_off, p.v_off, is_v);
        return qkv[(s - pos0) * p.stride + off + col];
    }
    let idx = slot(s) * (p.n_kv_heads * p.head_dim) + col;
    if (is_v) {
        return v_cache[idx];
    }
    return k_cache[idx];
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let h = wid.x;
    let j = wid.y;
    let kvh = h / (p.n_heads / p.n_kv_heads);
    let dh = p.head_dim;
    let pos0 = pos[0];
    for (var d = li; d < dh; d += TILE) {
        q_s[d] = qkv[h * dh + d];
    }
    // visible keys: sinks [0, n_a) then the window [lo, pos0]
    var lo = 0u;
    var n_a = 0u;
    if (p.window > 0u && pos0 + 1u > p.window) {
        lo = pos0 + 1u - p.window;
        n_a = min(p.sinks, lo);
    }
    let n = n_a + (pos0 - lo + 1u);
    let used = clamp((n + MIN_PER_SPLIT - 1u) / MIN_PER_SPLIT, 1u, p.splits);
    let chunk = (n + used - 1u) / used;
    let i0 = min(j * chunk, n);
    let i1 = min(i0 + chunk, n);
    var m = NEG_BIG;
    var l = 0.0;
    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    workgroupBarrier();
    for (var start = i0; start < i1; start += TILE) {
        let i = start + li;
        var sc = NEG_BIG;
        var s = 0u;
        if (i < i1) {
            s = select(lo + i - n_a, i, i < n_a);
            var dot = 0.0;
            for (var d = 0u; d < dh; d++) {
                dot += q_s[d] * kv(s, pos0, kvh, d, false);
            }
            sc = dot * p.scale;
        }
        score[li] = sc;
        key_pos[li] = s;
        workgroupBarrier();
        let count = min(TILE, i1 - start);
        var m_tile = NEG_BIG;
        for (var t = 0u; t < count; t++) {
            m_tile = max(m_tile, score[t]);
        }
        let m_new = max(m, m_tile);
        let corr = exp(m - m_new);
        workgroupBarrier();
        if (li < count) {
            score[li] = exp(sc - m_new);
        }
        workgroupBarrier();
        l *= corr;
        for (var r = 0u; r < 4u; r++) {
            acc[r] *= corr;
        }
        for (var t = 0u; t < count; t++) {
            let pt = score[t];
            l += pt;
            for (var r = 0u; r < 4u; r++) {
                let d = li + TILE * r;
                if (d < dh) {
                    acc[r] += pt * kv(key_pos[t], pos0, kvh, d, true);
                }
            }
        }
        m = m_new;
        workgroupBarrier();
    }
    let base = (h * p.splits + j) * (dh + 2u);
    for (var r = 0u; r < 4u; r++) {
        let d = li + TILE * r;
        if (d < dh) {
            part[base + d] = acc[r];
        }
    }
    if (li == 0u) {
        part[base + dh] = m;
        part[base + dh + 1u] = l;
    }
}
