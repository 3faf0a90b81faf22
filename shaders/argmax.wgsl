// argmax: out[0] = argmax_i logits[off + i] over i < n, ties to the lowest index (NaNs
// are skipped). One workgroup of 256 threads: strided scan, then a tree reduction.
// Dispatch grid: (1, 1, 1).

struct Params {
    n: u32,   // V: candidates
    off: u32, // first element of the row
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;    // [off + n]
@group(0) @binding(2) var<storage, read_write> out: array<u32>; // [1]: the token id

var<workgroup> best_v: array<f32, 256>;
var<workgroup> best_i: array<u32, 256>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_index) li: u32) {
    var bv = -3.4e38;
    var bi = 0xffffffffu;
    for (var i = li; i < p.n; i += WG) {
        let v = logits[p.off + i];
        if (v > bv || (bi == 0xffffffffu && v == v)) {
            bv = v;
            bi = i;
        }
    }
    best_v[li] = bv;
    best_i[li] = bi;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (li < s) {
            let ov = best_v[li + s];
            let oi = best_i[li + s];
            let mine = best_i[li];
            if (oi != 0xffffffffu && (mine == 0xffffffffu || ov > best_v[li] || (ov == best_v[li] && oi < mine))) {
                best_v[li] = ov;
                best_i[li] = oi;
            }
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        out[0] = select(best_i[0], 0u, best_i[0] == 0xffffffffu);
    }
}
