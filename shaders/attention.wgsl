// attention: causal softmax(q k^T / sqrt(dh)) v with GQA and an optional sliding window
// with sink tokens, for T query rows at absolute positions pos0 + t, against
//   - keys s < pos0: the KV cache (slot(s) = s, or with a window sinks + (s - sinks) % ring),
//   - keys s >= pos0: the fresh k, v rows of this call (row s - pos0 of qkv).
// Query t sees key s iff s <= t and (no window or t - s < window or s < sinks). Online
// softmax over tiles of 64 keys: one workgroup of 64 threads per (head, query row); each
// thread scores one key of a tile, then owns output dims d = lid + 64 r (r < 4, dh <= 256).
// The same kernel serves prefill (T rows) and decode (T = 1).
// Dispatch grid: (Hq, T, 1).

struct Params {
    t: u32,          // T: query rows
    stride: u32,     // floats per row of qkv
    k_off: u32,      // first column of k in qkv (q starts at column 0)
    v_off: u32,      // first column of v in qkv
    n_heads: u32,    // Hq
    n_kv_heads: u32, // Hkv (Hq % Hkv == 0)
    head_dim: u32,   // dh <= 256
    window: u32,     // sliding window, 0 = full causal attention
    sinks: u32,      // sink tokens (with a window)
    ring: u32,       // cache rows after the sinks when windowed: max(window - 1, 1)
    out_stride: u32, // floats per row of out
    scale: f32,      // 1 / sqrt(dh)
}

const TILE: u32 = 64u;
const NEG_BIG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pos: array<u32>;         // [1]: pos0
@group(0) @binding(2) var<storage, read> qkv: array<f32>;         // [T, stride]: q | k | v (RoPE applied)
@group(0) @binding(3) var<storage, read> k_cache: array<f32>;     // [rows, Hkv*dh]
@group(0) @binding(4) var<storage, read> v_cache: array<f32>;     // [rows, Hkv*dh]
@group(0) @binding(5) var<storage, read_write> out: array<f32>;   // [T, out_stride]: heads concatenated

var<workgroup> q_s: array<f32, 256>;   // [dh] the query
var<workgroup> score: array<f32, 64>;  // [TILE] scores, then probabilities
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
    let row = wid.y;
    let kvh = h / (p.n_heads / p.n_kv_heads);
    let dh = p.head_dim;
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
        if (i < n) {
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
        let count = min(TILE, n - start);
        var m_tile = NEG_BIG;
        for (var j = 0u; j < count; j++) {
            m_tile = max(m_tile, score[j]);
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
        for (var j = 0u; j < count; j++) {
            let pj = score[j];
            l += pj;
            for (var r = 0u; r < 4u; r++) {
                let d = li + TILE * r;
                if (d < dh) {
                    acc[r] += pj * kv(key_pos[j], pos0, kvh, d, true);
                }
            }
        }
        m = m_new;
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let d = li + TILE * r;
        if (d < dh) {
            out[row * p.out_stride + h * dh + d] = acc[r] / l;
        }
    }
}
