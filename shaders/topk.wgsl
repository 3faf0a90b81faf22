// topk: the k largest finite values of a row with their ids, by value descending, ties to
// the lowest id (the order of hybrid_core::sample::Sampler; NaN and +-inf are skipped, as
// the sampler skips them). Two passes of this kernel: the first (PAIRS = false) reads
// logits[off + i] (id i) and each workgroup writes the top k of its slice of `per`
// elements; the second (PAIRS = true) reads those (id, value) pairs as one slice (in that
// order, equal values stay in id order) and writes the final k.
// A workgroup selects by radix select on an order-preserving u32 key of the value (four
// 8-bit digits, a histogram per digit), keeps the keys above the threshold and the
// lowest-id ones equal to it, then sorts its <= 256 winners (bitonic sort).
// Dispatch grid: (ceil(n / per), 1, 1), folded past the device limit.

struct Params {
    n: u32,   // elements: logits, or (id, value) pairs with PAIRS
    off: u32, // first logit read (PAIRS = false)
    k: u32,   // candidates kept, 1..=WG
    per: u32, // elements per workgroup
}

// The input holds (id, value) pairs (second pass) instead of logits (first pass).
override PAIRS: bool = false;

// WG equals ops::topk::MAX_K (gpu/tests/contract.rs holds them equal).
const WG: u32 = 256u;
const NONE: u32 = 0xffffffffu; // the id of an empty slot

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inp: array<u32>;       // [off + n] f32 bits, or [n, 2] (id, f32 bits)
@group(0) @binding(2) var<storage, read_write> out: array<u32>; // [groups, k, 2] (id, f32 bits); id NONE: empty

var<workgroup> hist: array<atomic<u32>, 256>; // digit histogram of the current level
var<workgroup> sel: array<u32, 3>;            // threshold prefix, still wanted, total kept
var<workgroup> n_above: atomic<u32>;          // keys above the threshold placed so far
var<workgroup> ties: array<u32, 256>;         // per thread: ties at the threshold, then their exclusive prefix
var<workgroup> sk: array<u32, 256>;           // kept keys (0: empty)
var<workgroup> si: array<u32, 256>;           // kept ids

// Order-preserving key of a finite f32 (larger value, larger key; -0 below +0), never 0;
// 0 for NaN and +-inf.
fn key_of(bits: u32) -> u32 {
    if ((bits & 0x7f800000u) == 0x7f800000u) {
        return 0u;
    }
    if ((bits & 0x80000000u) != 0u) {
        return ~bits;
    }
    return bits | 0x80000000u;
}

// The f32 bits of a key (inverse of key_of).
fn bits_of(key: u32) -> u32 {
    if ((key & 0x80000000u) != 0u) {
        return key & 0x7fffffffu;
    }
    return ~key;
}

// (id, key) of element i.
fn elem(i: u32) -> vec2<u32> {
    if (PAIRS) {
        let id = inp[2u * i];
        if (id == NONE) {
            return vec2<u32>(NONE, 0u);
        }
        return vec2<u32>(id, key_of(inp[2u * i + 1u]));
    }
    return vec2<u32>(i, key_of(inp[p.off + i]));
}

// Whether (ka, ia) comes before (kb, ib): larger key first, then lower id.
fn before(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
    return ka > kb || (ka == kb && ia < ib);
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let g = wg_index(wid, nwg);
    let lo = g * p.per;
    if (lo >= p.n) {
        return;
    }
    let hi = min(lo + p.per, p.n);
    // radix select: the threshold key (the k-th largest) digit by digit
    var prefix = 0u;
    var mask = 0u;
    for (var level = 0u; level < 4u; level++) {
        let shift = 24u - 8u * level;
        atomicStore(&hist[li], 0u);
        workgroupBarrier();
        for (var i = lo + li; i < hi; i += WG) {
            let key = elem(i).y;
            if (key != 0u && (key & mask) == prefix) {
                atomicAdd(&hist[(key >> shift) & 255u], 1u);
            }
        }
        workgroupBarrier();
        if (li == 0u) {
            var want = sel[1];
            if (level == 0u) {
                var total = 0u;
                for (var b = 0u; b < 256u; b++) {
                    total += atomicLoad(&hist[b]);
                }
                want = min(p.k, total);
                sel[2] = want;
            }
            var above = 0u;
            var digit = 0u;
            if (want > 0u) {
                for (var b = 255i; b >= 0i; b--) {
                    let c = atomicLoad(&hist[u32(b)]);
                    if (above + c >= want) {
                        digit = u32(b);
                        break;
                    }
                    above += c;
                }
            }
            sel[0] = prefix | (digit << shift);
            sel[1] = want - min(above, want);
        }
        workgroupBarrier();
        prefix = sel[0];
        mask |= 255u << shift;
        workgroupBarrier();
    }
    let threshold = prefix;
    let eq_take = sel[1];
    let kept = sel[2];
    let n_greater = kept - eq_take;
    sk[li] = 0u;
    si[li] = NONE;
    if (li == 0u) {
        atomicStore(&n_above, 0u);
    }
    workgroupBarrier();
    // keys above the threshold, in any order; count the ties in this thread's run
    let run = (hi - lo + WG - 1u) / WG;
    let a = min(lo + li * run, hi);
    let b = min(a + run, hi);
    var n_tie = 0u;
    for (var i = a; i < b; i++) {
        let e = elem(i);
        if (e.y != 0u && e.y > threshold && kept > 0u) {
            let slot = atomicAdd(&n_above, 1u);
            if (slot < WG) {
                sk[slot] = e.y;
                si[slot] = e.x;
            }
        } else if (e.y != 0u && e.y == threshold) {
            n_tie += 1u;
        }
    }
    ties[li] = n_tie;
    workgroupBarrier();
    if (li == 0u) {
        var acc = 0u;
        for (var t = 0u; t < WG; t++) {
            let c = ties[t];
            ties[t] = acc;
            acc += c;
        }
    }
    workgroupBarrier();
    // the ties of lowest position (= lowest id) fill the rest
    var rank = ties[li];
    for (var i = a; i < b; i++) {
        let e = elem(i);
        if (e.y != 0u && e.y == threshold) {
            if (rank < eq_take && n_greater + rank < WG) {
                sk[n_greater + rank] = e.y;
                si[n_greater + rank] = e.x;
            }
            rank += 1u;
        }
    }
    workgroupBarrier();
    // bitonic sort of the WG slots, `before` order (empty slots last)
    for (var size = 2u; size <= WG; size *= 2u) {
        for (var stride = size / 2u; stride > 0u; stride /= 2u) {
            let j = li ^ stride;
            if (j > li) {
                let first = before(sk[li], si[li], sk[j], si[j]);
                if (first == ((li & size) != 0u)) {
                    let k0 = sk[li];
                    let i0 = si[li];
                    sk[li] = sk[j];
                    si[li] = si[j];
                    sk[j] = k0;
                    si[j] = i0;
                }
            }
            workgroupBarrier();
        }
    }
    if (li < p.k) {
        let o = 2u * (g * p.k + li);
        let empty = sk[li] == 0u;
        out[o] = select(si[li], NONE, empty);
        out[o + 1u] = select(bits_of(sk[li]), 0u, empty);
    }
}
