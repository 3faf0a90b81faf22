// attention_combine: merge the split-K partials of attention_split.wgsl into the output
// row of each head (decode, T = 1):
//   M = max_j m_j,  w_j = exp(m_j - M),  out[h, d] = sum_j w_j o_j[d] / sum_j w_j l_j.
// Neutral partials (m = -3e38, l = 0, o = 0) get weight 0 (or add 0 when every split is
// neutral, which cannot happen: a query always sees itself, so split 0 is never empty).
// One workgroup of 256 threads per head, parallel over the splits (splits <= 1024):
//   1. thread li reads (m_j, l_j) of splits j = li + 256 r (r < 4, all loads in flight)
//      and merges them; a tree merges the (m, l) pairs of the threads
//      (m = max, l = l_a exp(m_a - m) + l_b exp(m_b - m)) and finds the end of the
//      non-neutral splits (nz = 1 + the last j with m_j != -3e38: the neutral ones past
//      it add 0, so their o is not read);
//   2. w_j = exp(m_j - M) -> workgroup memory;
//   3. thread (g, d) = (li / dh, li % dh), g < 256 / dh, sums w_j o_j[d] over
//      j = g, g + 256 / dh, ... < nz (8 loads in flight); the groups are summed per d.
// Dispatch grid: (Hq, 1, 1).

struct Params {
    n_heads: u32,    // Hq
    head_dim: u32,   // dh <= 256
    splits: u32,     // splits per head in part (<= 1024)
    _pad: u32,
}

const WG: u32 = 256u;
const NEG_BIG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;       // [Hq, splits, dh + 2]: o[dh] | m | l
@group(0) @binding(2) var<storage, read_write> out: array<f32>;  // [1, Hq*dh]: heads concatenated

var<workgroup> red_m: array<f32, 256>;
var<workgroup> red_l: array<f32, 256>;
var<workgroup> red_n: array<u32, 256>;
var<workgroup> w_s: array<f32, 1024>; // [splits] weights w_j
var<workgroup> o_s: array<f32, 256>;  // [256 / dh][dh] sums per group of splits

// (m, l) of split j, neutral past the splits.
fn ml(base: u32, w: u32, dh: u32, j: u32) -> vec2<f32> {
    if (j >= p.splits) {
        return vec2<f32>(NEG_BIG, 0.0);
    }
    let b = base + j * w + dh;
    return vec2<f32>(part[b], part[b + 1u]);
}

// (m, l) pairs merged.
fn merge(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let m = max(a.x, b.x);
    return vec2<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let h = wid.x;
    let dh = p.head_dim;
    let w = dh + 2u;
    let base = h * p.splits * w;
    // 1. (m, l) of this thread's splits, then the tree
    let x0 = ml(base, w, dh, li);
    let x1 = ml(base, w, dh, li + WG);
    let x2 = ml(base, w, dh, li + 2u * WG);
    let x3 = ml(base, w, dh, li + 3u * WG);
    var nz = 0u;
    if (x0.x != NEG_BIG) {
        nz = li + 1u;
    }
    if (x1.x != NEG_BIG) {
        nz = li + WG + 1u;
    }
    if (x2.x != NEG_BIG) {
        nz = li + 2u * WG + 1u;
    }
    if (x3.x != NEG_BIG) {
        nz = li + 3u * WG + 1u;
    }
    let xm = merge(merge(x0, x1), merge(x2, x3));
    red_m[li] = xm.x;
    red_l[li] = xm.y;
    red_n[li] = nz;
    workgroupBarrier();
    // threads past the splits hold neutral pairs: the tree covers pow2ceil(min(splits, 256))
    let n_t = min(p.splits, WG);
    let top = select(0u, 1u << firstLeadingBit(n_t - 1u), n_t > 1u);
    for (var off = top; off > 0u; off >>= 1u) {
        if (li < off) {
            let y = merge(
                vec2<f32>(red_m[li], red_l[li]),
                vec2<f32>(red_m[li + off], red_l[li + off]),
            );
            red_m[li] = y.x;
            red_l[li] = y.y;
            red_n[li] = max(red_n[li], red_n[li + off]);
        }
        workgroupBarrier();
    }
    let m_all = red_m[0];
    let l_all = red_l[0];
    let n_used = red_n[0];
    // 2. weights
    w_s[li] = exp(x0.x - m_all);
    w_s[li + WG] = exp(x1.x - m_all);
    w_s[li + 2u * WG] = exp(x2.x - m_all);
    w_s[li + 3u * WG] = exp(x3.x - m_all);
    workgroupBarrier();
    // 3. weighted sum of o over the used splits, groups of splits per dim
    let n_g = WG / dh;
    let g = li / dh;
    let d = li - g * dh;
    var a = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    if (g < n_g) {
        let wstep = n_g * w;
        var jj = g;
        var b = base + g * w + d;
        for (; jj + 7u * n_g < n_used; jj += 8u * n_g) {
            let o0 = part[b];
            let o1 = part[b + wstep];
            let o2 = part[b + 2u * wstep];
            let o3 = part[b + 3u * wstep];
            let o4 = part[b + 4u * wstep];
            let o5 = part[b + 5u * wstep];
            let o6 = part[b + 6u * wstep];
            let o7 = part[b + 7u * wstep];
            a[0] += w_s[jj] * o0;
            a[1] += w_s[jj + n_g] * o1;
            a[2] += w_s[jj + 2u * n_g] * o2;
            a[3] += w_s[jj + 3u * n_g] * o3;
            a[4] += w_s[jj + 4u * n_g] * o4;
            a[5] += w_s[jj + 5u * n_g] * o5;
            a[6] += w_s[jj + 6u * n_g] * o6;
            a[7] += w_s[jj + 7u * n_g] * o7;
            b += 8u * wstep;
        }
        for (; jj < n_used; jj += n_g) {
            a[0] += w_s[jj] * part[b];
            b += wstep;
        }
    }
    o_s[li] = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    workgroupBarrier();
    if (li < dh) {
        var o = 0.0;
        for (var k = 0u; k < n_g; k++) {
            o += o_s[k * dh + li];
        }
        out[h * dh + li] = o / l_all;
    }
}
