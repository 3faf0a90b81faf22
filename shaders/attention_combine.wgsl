// attention_combine: merge the split-K partials of attention_split.wgsl into the output
// row of each head (decode, T = 1):
//   M = max_j m_j,  w_j = exp(m_j - M),  out[h, d] = sum_j w_j o_j[d] / sum_j w_j l_j.
// Neutral partials (m = -3e38, l = 0, o = 0) get weight 0 (or add 0 when every split is
// neutral, which cannot happen: a query always sees itself, so split 0 is never empty).
// One workgroup of 64 threads per head; thread owns dims d = lid + 64 r (dh <= 256).
// Dispatch grid: (Hq, 1, 1).

struct Params {
    n_heads: u32,    // Hq
    head_dim: u32,   // dh <= 256
    splits: u32,     // splits per head in part
    _pad: u32,
}

const TILE: u32 = 64u;
const NEG_BIG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;       // [Hq, splits, dh + 2]: o[dh] | m | l
@group(0) @binding(2) var<storage, read_write> out: array<f32>;  // [1, Hq*dh]: heads concatenated

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let h = wid.x;
    let dh = p.head_dim;
    let w = dh + 2u;
    let base = h * p.splits * w;
    var mx = NEG_BIG;
    for (var j = 0u; j < p.splits; j++) {
        mx = max(mx, part[base + j * w + dh]);
    }
    var l = 0.0;
    for (var j = 0u; j < p.splits; j++) {
        let b = base + j * w;
        l += exp(part[b + dh] - mx) * part[b + dh + 1u];
    }
    for (var r = 0u; r < 4u; r++) {
        let d = li + TILE * r;
        if (d < dh) {
            var o = 0.0;
            for (var j = 0u; j < p.splits; j++) {
                let b = base + j * w;
                o += exp(part[b + dh] - mx) * part[b + d];
            }
            out[h * dh + d] = o / l;
        }
    }
}
