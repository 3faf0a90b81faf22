// attention_probs (probes): the softmax weights of causal GQA attention over a chunk run
// from position 0, whose keys are the chunk's own RoPE'd k rows in qkv:
//   probs[h, t, s] = softmax_s(q[t, h] . k[s, kvh] / sqrt(dh)) over the keys s visible to t,
//   and 0 for the others; kvh = h / (Hq / Hkv). Query t sees key s iff s <= t and (no window
//   or t - s < window or s < sinks) (hybrid_core::cpu::attention::visible) and s is not
//   hidden (an intervention: hide_lo <= s < hide_hi, s != t).
// One workgroup of 64 threads per (query row, head): thread li scores keys li, li + 64, ...
// into its own entries of the output row (the row is its scratch), the row's max and then
// its sum meet in workgroup memory (tree reductions), and each thread divides its entries by the sum.
// Dispatch grid: (T, Hq, 1), folded past the device limit.

struct Params {
    t: u32,          // T: query rows = keys (positions 0..T)
    stride: u32,     // floats per row of qkv
    k_off: u32,      // first column of k in qkv (q starts at column 0)
    n_heads: u32,    // Hq
    n_kv_heads: u32, // Hkv (Hq % Hkv == 0)
    head_dim: u32,   // dh
    window: u32,     // sliding window, 0 = full causal attention
    sinks: u32,      // sink tokens (with a window)
    scale: f32,      // 1 / sqrt(dh)
    hide_lo: u32,    // hidden keys [hide_lo, hide_hi) (an intervention; none: 0, 0)
    hide_hi: u32,
    _pad: u32,
}

const WG: u32 = 64u;
const NEG_BIG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;         // [T, stride]: q | k | v (RoPE applied)
@group(0) @binding(2) var<storage, read_write> probs: array<f32>; // [Hq, T, T]

var<workgroup> red: array<f32, 64>;

// Key s is hidden from the query at position a: an intervention's range
// [hide_lo, hide_hi) (empty: 0, 0), never the query's own key.
fn hidden(a: u32, s: u32) -> bool {
    return s >= p.hide_lo && s < p.hide_hi && s != a;
}

fn sees(t: u32, s: u32) -> bool {
    return s <= t && (p.window == 0u || t - s < p.window || s < p.sinks) && !hidden(t, s);
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    // the logical grid (n_x, n_y), folded past the device limit
    let n_x = p.t;
    let n_y = p.n_heads;
    let wg = wg_index(wid, nwg);
    if (wg >= n_x * n_y) {
        return;
    }
    let t = wg % n_x;
    let h = wg / n_x;
    let dh = p.head_dim;
    let kvh = h / (p.n_heads / p.n_kv_heads);
    let q0 = t * p.stride + h * dh;
    let row = (h * p.t + t) * p.t;
    // scores of this thread's keys, and their max
    var m = NEG_BIG;
    for (var s = li; s < p.t; s += WG) {
        var v = 0.0;
        if (sees(t, s)) {
            let k0 = s * p.stride + p.k_off + kvh * dh;
            var dot = 0.0;
            for (var d = 0u; d < dh; d++) {
                dot += qkv[q0 + d] * qkv[k0 + d];
            }
            v = dot * p.scale;
            m = max(m, v);
        }
        probs[row + s] = v;
    }
    red[li] = m;
    workgroupBarrier();
    for (var w = WG / 2u; w > 0u; w = w / 2u) {
        if (li < w) {
            red[li] = max(red[li], red[li + w]);
        }
        workgroupBarrier();
    }
    let m_row = red[0];
    workgroupBarrier();
    // exp(score - max) in place, and the sum
    var l = 0.0;
    for (var s = li; s < p.t; s += WG) {
        if (sees(t, s)) {
            let e = exp(probs[row + s] - m_row);
            probs[row + s] = e;
            l += e;
        }
    }
    red[li] = l;
    workgroupBarrier();
    for (var w = WG / 2u; w > 0u; w = w / 2u) {
        if (li < w) {
            red[li] += red[li + w];
        }
        workgroupBarrier();
    }
    let l_row = red[0];
    for (var s = li; s < p.t; s += WG) {
        if (sees(t, s)) {
            probs[row + s] = probs[row + s] / l_row;
        }
    }
}
