// matvec_sg: matvec.wgsl with its reductions on subgroup shuffles (where the adapter has
// subgroups; native only), everything else the same (gpu/tests/contract.rs holds the
// shared functions equal). The sums of a row's 32 lanes and of a norm group's team:
// butterflies of subgroupShuffleXor within a subgroup (any power-of-two size; those
// below 32, lavapipe's 8, add their subgroups' sums through workgroup memory), one or two
// barriers where the tree of matvec.wgsl takes six.
//
// matvec (the decode, T = 1, form of matmul), with the RMSNorm before it and the SwiGLU
// gate after it fused in, so a decode step needs no separate norm or gate dispatches:
//   xn[k] = x[x_off + k]                                              (NORM_GROUP = 0)
//   xn[k] = x[x_off + k] * g[k] / sqrt(mean_{k' in group(k)} x[x_off + k']^2 + eps)
//                                               (NORM_GROUP = group size: fused RMSNorm)
//   a_n = sum_k xn[k] * w[n, w_off + k],  b_n = the same with row N + n  (GLU only)
//   v_n = alpha * a_n, or alpha * silu(a_n) * b_n with GLU (SwiGLU on a gate|up weight)
//   y[y_off + n] = v_n, or y[y_off + n] += v_n with ACCUMULATE (fused residual add)
// and, for one token, an epilogue on y (EPILOGUE):
//   1 (rope_kv): y is a q|k|v row: RoPE on its q and k heads (as rope.wgsl at position
//     pos), then with `store` k and v appended at cache row slot(pos) (kv_store.wgsl): pos,
//     or in a ring of w rows after the sinks sinks + (pos - sinks) % w, the slot of key
//     pos - w, which no query from pos on sees (so the append runs before attention)
//   2 (conv): y is an in_proj row z|xBC|dt: each x|B|C channel c takes its conv + SiLU
//     over its W-1 state rows and this token, xbc[c] = silu(b[c] + sum_k w[c, k] ext[k])
//     (as conv1d.wgsl), and its state shifts by one row (the thread of row n owns it)
//   4 (pair, matvec_sg.wgsl only): two products of one x in one grid: workgroups
//     [0, ceil(N / 8)) the rows of w into y with rope_kv (the q|k|v row), the others the
//     N2 rows of w_b into y_b with conv (the in_proj row of an intra block's Mamba branch)
//   3 (combine, before the product): x is the split-K partials [Hq, splits, dv + 2] of
//     attention_split.wgsl, merged as attention_combine.wgsl does while x is staged:
//     xn[h dv + d] = sum_j e_j o_j[d] / sum_j e_j l_j, e_j = exp(m_j - max_j' m_j')
// A workgroup of 256 threads computes ROWS = 8 outputs: 32 threads per row stride over K
// (consecutive threads read consecutive weights), then a tree reduction per row. x
// (normalized when NORM_GROUP > 0) is staged once in workgroup memory for all 8 rows
// when K <= MAX_K; 11 KiB of workgroup memory. A longer x is read from memory, and
// normalized as it is read (its groups' 1 / rms first, each workgroup on its own).
// Dispatch grid: (G, 1, 1) with G = ceil(N / 8), folded past the device limit; rows of
// workgroup i = wg_index(wid, nwg) are the logical rows 8 i .. 8 i + 7 (`row_of`: the
// output rows, with rope_kv the two halves of each rotated pair side by side).

struct Params {
    n: u32,        // N: outputs
    k: u32,        // K: reduction length
    x_off: u32,    // first element of x read
    w_stride: u32, // floats per row of w
    w_off: u32,    // first column of w read
    y_off: u32,    // first element of y written
    alpha: f32,    // scale of the product (branch scalars, signs)
    eps: f32,      // RMSNorm epsilon (NORM_GROUP > 0)
    // EPILOGUE = 1 (rope_kv): heads of dh at column 0 (q) and k_off (k) tile 0..k_off+k_dim
    head_dim: u32, // dh (even)
    rot: u32,      // R: dims rotated per head (even, <= dh; 0 = none)
    k_off: u32,    // first column of k (Hq*dh)
    v_off: u32,    // first column of v
    k_dim: u32,    // Hkv*dh
    v_dim: u32,    // Hkv*dv
    theta: f32,    // rope_theta
    store: u32,    // 1: append k and v at cache row slot(pos)
    // EPILOGUE = 2 (conv)
    conv_off: u32, // first column of x|B|C (E)
    channels: u32, // C = E + 2GN
    width: u32,    // W
    // EPILOGUE = 3 (combine)
    part_dim: u32, // dv: o of a partial
    splits: u32,   // partials per head
    // EPILOGUE = 1 with store: the cache's layout (as attention.wgsl's slot)
    sinks: u32,    // sink rows of a ring cache
    ring: u32,     // ring rows after the sinks (window w); 0 = a flat cache
    // EPILOGUE = 4 (pair)
    n2: u32,       // N2: rows of the second product
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// Add into y instead of overwriting it (fused residual add).
override ACCUMULATE: bool = false;
// Channels per RMS-normalized group of x; 0 = x is used as is. K / NORM_GROUP <= 256.
override NORM_GROUP: u32 = 0u;
// y[n] = silu(row n . x) * (row N + n . x): the SwiGLU of a fused gate|up weight.
override GLU: bool = false;
// How the weights are stored (weight_format.rs): 0 = f32 (each u32 is an f32's bits),
// 1 = packed f16 pairs, 2 = packed bf16 pairs (element i is half i % 2 of word i / 2);
// read as f32 either way.
override W_FORMAT: u32 = 0u;
// 0 = none, 1 = rope_kv, 2 = conv, 3 = combine, 4 = pair (see the top).
override EPILOGUE: u32 = 0u;

// MAX_K and ROWS equal their namesakes in gpu/src/ops/matvec.rs
// (gpu/tests/contract.rs holds them equal).
const WG: u32 = 256u;
const LANES: u32 = 32u; // threads per output row
const ROWS: u32 = 8u; // WG / LANES
const MAX_K: u32 = 2048u; // longer K: x is read from global memory

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;       // [x_off + K]
@group(0) @binding(2) var<storage, read> w: array<u32>;       // [N (2N with GLU), w_stride] f32, f16 or bf16 (W_FORMAT)
@group(0) @binding(3) var<storage, read> g: array<f32>;       // [K] norm weight (unused if NORM_GROUP = 0)
// The epilogue's buffers (unused by EPILOGUE = 0):
@group(0) @binding(4) var<storage, read> aux: array<u32>;     // rope_kv: [1] pos; conv: [C, W] conv weight (f32 bits)
@group(0) @binding(5) var<storage, read> aux_b: array<f32>;   // conv: [C] conv bias
// The pair's second product (unused by EPILOGUE < 4): its weights and conv weight
@group(0) @binding(6) var<storage, read> w_b: array<u32>;     // [N2, w_stride], as w
@group(0) @binding(7) var<storage, read> conv_w: array<u32>;  // [C, W] conv weight (f32 bits)
@group(0) @binding(8) var<storage, read_write> y: array<f32>; // [y_off + N]
@group(0) @binding(9) var<storage, read_write> out_a: array<f32>; // rope_kv: [rows, k_dim] K cache; conv: [W-1, C] state, oldest first
@group(0) @binding(10) var<storage, read_write> out_b: array<f32>; // rope_kv: [rows, v_dim] V cache; conv: [C] xbc
// The pair's second product: its output (the in_proj row), conv state and x|B|C out
@group(0) @binding(11) var<storage, read_write> y_b: array<f32>;        // [N2]
@group(0) @binding(12) var<storage, read_write> conv_state: array<f32>; // [W-1, C]
@group(0) @binding(13) var<storage, read_write> conv_out: array<f32>;   // [C] xbc

var<workgroup> xs: array<f32, MAX_K>;  // [K] x, normalized
var<workgroup> red_a: array<f32, WG>;  // partial sums of a (and the norm's sums of squares)
var<workgroup> red_b: array<f32, WG>;  // partial sums of b (GLU)
var<workgroup> rinv: array<f32, WG>;   // [K / NORM_GROUP] 1 / rms per group
// Whether this workgroup runs the pair's second product (workgroup-uniform, set by main).
var<private> second: bool;

// The shared code's reads and writes of the bindings: the pair's second product reads w_b
// and writes y_b, and its conv epilogue has buffers of its own (the first's rope_kv takes
// aux, out_a and out_b).
fn w_word(i: u32) -> u32 {
    if (EPILOGUE == 4u && second) {
        return w_b[i];
    }
    return w[i];
}
fn conv_weight(i: u32) -> f32 {
    if (EPILOGUE == 4u) {
        return bitcast<f32>(conv_w[i]);
    }
    return bitcast<f32>(aux[i]);
}
fn state_at(i: u32) -> f32 {
    if (EPILOGUE == 4u) {
        return conv_state[i];
    }
    return out_a[i];
}
fn set_state(i: u32, v: f32) {
    if (EPILOGUE == 4u) {
        conv_state[i] = v;
    } else {
        out_a[i] = v;
    }
}
fn set_xbc(c: u32, v: f32) {
    if (EPILOGUE == 4u) {
        conv_out[c] = v;
    } else {
        out_b[c] = v;
    }
}
fn y_at(n: u32) -> f32 {
    if (EPILOGUE == 4u && second) {
        return y_b[n];
    }
    return y[p.y_off + n];
}
fn set_y(n: u32, v: f32) {
    if (EPILOGUE == 4u && second) {
        y_b[n] = v;
    } else {
        y[p.y_off + n] = v;
    }
}
var<private> sg_size: u32;              // the subgroup size (a power of two)

// Element i of the weights as f32 (W_FORMAT), through `w_word`.
fn weight(i: u32) -> f32 {
    if (W_FORMAT == 0u) {
        return bitcast<f32>(w_word(i));
    }
    let two = unpack_pair(w_word(i / 2u));
    return select(two.x, two.y, (i & 1u) == 1u);
}

// 1 / rms of each group of xs into rinv: groups are spread over the workgroup, a
// power-of-two team of threads per group, `round`s of up to 256 / team groups.
fn group_rms(li: u32, staged: bool) {
    let size = max(NORM_GROUP, 1u); // (NORM_GROUP = 0 never calls this)
    let ng = p.k / size;
    var team = 1u;
    while (team * 2u * ng <= WG) {
        team *= 2u;
    }
    let per_round = WG / team;
    let inner = min(team, sg_size); // threads of a team in one subgroup
    for (var g0 = 0u; g0 < ng; g0 += per_round) {
        let gi = g0 + li / team;
        let j = li % team;
        var s = 0.0;
        if (gi < ng) {
            for (var c = j; c < size; c += team) {
                let v = xraw(gi * size + c, staged);
                s += v * v;
            }
        }
        for (var o = inner / 2u; o > 0u; o = o / 2u) {
            s += subgroupShuffleXor(s, o);
        }
        if (li % inner == 0u) {
            red_a[li] = s;
        }
        workgroupBarrier();
        if (j == 0u && gi < ng) {
            for (var q = inner; q < team; q += inner) {
                s += red_a[li + q];
            }
            rinv[gi] = 1.0 / sqrt(s / f32(size) + p.eps);
        }
        workgroupBarrier();
    }
}

// Element k of x as staged (normalized), or from memory (as is).
fn xraw(k: u32, staged: bool) -> f32 {
    if (staged) {
        return xs[k];
    }
    return x[p.x_off + k];
}

// Element k of the (normalized) input: x longer than MAX_K is normalized as it is read.
fn xin(k: u32, staged: bool) -> f32 {
    if (staged) {
        return xs[k];
    }
    var v = x[p.x_off + k];
    if (NORM_GROUP > 0u) {
        v *= rinv[k / max(NORM_GROUP, 1u)] * g[k];
    }
    return v;
}

// w[row + k + LANES j], j < 4 (0 past K): a thread's first four weights of a row.
fn first4(live: bool, row: u32, k: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    if (live) {
        if (k < p.k) { v.x = weight(row + k); }
        if (k + LANES < p.k) { v.y = weight(row + k + LANES); }
        if (k + 2u * LANES < p.k) { v.z = weight(row + k + 2u * LANES); }
        if (k + 3u * LANES < p.k) { v.w = weight(row + k + 3u * LANES); }
    }
    return v;
}

// 16-bit weights two to a word (W_FORMAT > 0), rows starting on a word, K even: a
// thread reads whole words (two weights), so a row's 32 lanes read 128 consecutive bytes.
fn paired() -> bool {
    return W_FORMAT != 0u && p.w_stride % 2u == 0u && p.w_off % 2u == 0u && p.k % 2u == 0u;
}

// The two weights packed in a word (f16 or bf16).
fn unpack_pair(v: u32) -> vec2<f32> {
    if (W_FORMAT == 1u) {
        return unpack2x16float(v);
    }
    return vec2<f32>(bitcast<f32>(v << 16u), bitcast<f32>(v & 0xffff0000u));
}

// The two weights of word `word` of w.
fn pair(word: u32) -> vec2<f32> {
    return unpack_pair(w_word(word));
}

// paired: words row / 2 + j + LANES i, i < 4, of a row of K / 2 words (0 past them): a
// thread's first four words.
fn first4w(live: bool, row: u32, j: u32) -> vec4<u32> {
    var v = vec4<u32>(0u);
    let base = row / 2u;
    let kw = p.k / 2u;
    if (live) {
        if (j < kw) { v.x = w_word(base + j); }
        if (j + LANES < kw) { v.y = w_word(base + j + LANES); }
        if (j + 2u * LANES < kw) { v.z = w_word(base + j + 2u * LANES); }
        if (j + 3u * LANES < kw) { v.w = w_word(base + j + 3u * LANES); }
    }
    return v;
}

// The two inputs of word j of a row.
fn xpair(j: u32, staged: bool) -> vec2<f32> {
    return vec2<f32>(xin(2u * j, staged), xin(2u * j + 1u, staged));
}

// The dot of word `word` (as packed weights) with the inputs of word j (0 past K / 2).
fn dot_word(word: u32, j: u32, staged: bool) -> f32 {
    if (j >= p.k / 2u) {
        return 0.0;
    }
    return dot(unpack_pair(word), xpair(j, staged));
}

// paired: this thread's partial sums of rows ra and rb (GLU) from word `lane` on, its
// first four words of each prefetched (fa, fb); four words in flight.
fn dot_pairs(live: bool, ra: u32, rb: u32, lane: u32, staged: bool, fa: vec4<u32>,
             fb: vec4<u32>) -> vec2<f32> {
    var a = 0.0;
    var b = 0.0;
    if (!live) {
        return vec2<f32>(0.0);
    }
    for (var i = 0u; i < 4u; i++) {
        let j = lane + i * LANES;
        a += dot_word(fa[i], j, staged);
        if (GLU) {
            b += dot_word(fb[i], j, staged);
        }
    }
    let kw = p.k / 2u;
    let wa0 = ra / 2u;
    let wb0 = rb / 2u;
    var j = lane + 4u * LANES;
    for (; j + 3u * LANES < kw; j += 4u * LANES) {
        let x0 = xpair(j, staged);
        let x1 = xpair(j + LANES, staged);
        let x2 = xpair(j + 2u * LANES, staged);
        let x3 = xpair(j + 3u * LANES, staged);
        a += dot(pair(wa0 + j), x0) + dot(pair(wa0 + j + LANES), x1)
            + dot(pair(wa0 + j + 2u * LANES), x2) + dot(pair(wa0 + j + 3u * LANES), x3);
        if (GLU) {
            b += dot(pair(wb0 + j), x0) + dot(pair(wb0 + j + LANES), x1)
                + dot(pair(wb0 + j + 2u * LANES), x2) + dot(pair(wb0 + j + 3u * LANES), x3);
        }
    }
    for (; j < kw; j += LANES) {
        let xv = xpair(j, staged);
        a += dot(pair(wa0 + j), xv);
        if (GLU) {
            b += dot(pair(wb0 + j), xv);
        }
    }
    return vec2<f32>(a, b);
}

// The inputs matching `first4` (0 past K).
fn xin4(k: u32, staged: bool) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    if (k < p.k) { v.x = xin(k, staged); }
    if (k + LANES < p.k) { v.y = xin(k + LANES, staged); }
    if (k + 2u * LANES < p.k) { v.z = xin(k + 2u * LANES, staged); }
    if (k + 3u * LANES < p.k) { v.w = xin(k + 3u * LANES, staged); }
    return v;
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

// Rows of this workgroup's product: N, or N2 for the pair's second.
fn rows_n() -> u32 {
    return select(p.n, p.n2, second);
}

// 2 pi split so that k * TAU_HI is exact for k < 2^16 (Cody-Waite range reduction).
const TAU_HI: f32 = 6.28125;
const TAU_LO: f32 = 0.0019353071795864769;

// (cos, sin) of the angle t * theta^(-2i/R), reduced mod 2 pi first.
fn rope_cs(t: u32, i: u32, rot: u32, theta: f32) -> vec2<f32> {
    let freq = pow(theta, -2.0 * f32(i) / f32(rot));
    let angle = f32(t) * freq;
    let turns = round(angle / (TAU_HI + TAU_LO));
    let r = (angle - turns * TAU_HI) - turns * TAU_LO;
    return vec2<f32>(cos(r), sin(r));
}

// Whether logical row l is a rotated dim of a q or k head (rope_kv): its pair is l ^ 1.
fn rotated(l: u32) -> bool {
    return (EPILOGUE == 1u || (EPILOGUE == 4u && !second)) && l < p.k_off + p.k_dim
        && l % p.head_dim < p.rot;
}

// The output row of logical row l: l, but for rotated dims (rope_kv) the pair
// (i, i + R/2) of a head at logical rows (2i, 2i + 1), so both halves meet in one workgroup.
fn row_of(l: u32) -> u32 {
    if (!rotated(l)) {
        return l;
    }
    let j = l % p.head_dim;
    return l - j + j / 2u + (j % 2u) * (p.rot / 2u);
}

// rope_kv: the value v of row n (logical l) rotated with its pair's (summed at
// red_a[li ^ LANES]), then appended to the cache with `store`.
fn rope_kv(l: u32, n: u32, li: u32, v: f32) -> f32 {
    let t = aux[0];
    var o = v;
    if (rotated(l)) {
        let j = l % p.head_dim;
        let cs = rope_cs(t, j / 2u, p.rot, p.theta);
        let other = red_a[li ^ LANES] * p.alpha;
        // (a, b) <- (a cos - b sin, b cos + a sin)
        o = select(v * cs.x + other * cs.y, v * cs.x - other * cs.y, j % 2u == 0u);
    }
    if (p.store == 1u) {
        var slot = t;
        if (p.ring > 0u && t >= p.sinks) {
            slot = p.sinks + (t - p.sinks) % p.ring;
        }
        if (n >= p.k_off && n < p.k_off + p.k_dim) {
            out_a[slot * p.k_dim + n - p.k_off] = o;
        }
        if (n >= p.v_off && n < p.v_off + p.v_dim) {
            out_b[slot * p.v_dim + n - p.v_off] = o;
        }
    }
    return o;
}

// combine: element k = h dv + d of the merged attention output, from the partials in x.
fn combined(k: u32) -> f32 {
    let dv = p.part_dim;
    let stride = dv + 2u;
    let base = (k / dv) * p.splits * stride;
    let d = k % dv;
    var m = -3.0e38;
    for (var j = 0u; j < p.splits; j++) {
        m = max(m, x[base + j * stride + dv]);
    }
    var o = 0.0;
    var l = 0.0;
    for (var j = 0u; j < p.splits; j++) {
        let b = base + j * stride;
        let e = exp(x[b + dv] - m);
        o += e * x[b + d];
        l += e * x[b + dv + 1u];
    }
    return o / l;
}

// conv: channel n - conv_off of x|B|C (if row n is one) for this token's value v.
fn conv_step(n: u32, v: f32) {
    if (n < p.conv_off || n >= p.conv_off + p.channels) {
        return;
    }
    let c = n - p.conv_off;
    let wl = p.width - 1u;
    var acc = aux_b[c];
    for (var k = 0u; k < wl; k++) {
        let s = state_at(k * p.channels + c);
        acc += conv_weight(c * p.width + k) * s;
        if (k > 0u) {
            set_state((k - 1u) * p.channels + c, s);
        }
    }
    acc += conv_weight(c * p.width + wl) * v;
    if (wl > 0u) {
        set_state((wl - 1u) * p.channels + c, v);
    }
    set_xbc(c, acc / (1.0 + exp(-acc)));
}

// This thread's partial sums (a, b) of its row's products (logical row l): the first
// weights requested before x is staged and normalized, so that their memory latency
// overlaps that work (a decode matvec is latency bound), then four loads in flight.
fn row_partials(l: u32, li: u32) -> vec2<f32> {
    let lane = li % LANES;
    let live = l < rows_n();
    let n = row_of(l);
    let ra = n * p.w_stride + p.w_off;
    let rb = (n + p.n) * p.w_stride + p.w_off;
    let words = paired();
    var wa = vec4<f32>(0.0);
    var wb = vec4<f32>(0.0);
    var fa = vec4<u32>(0u);
    var fb = vec4<u32>(0u);
    if (words) {
        fa = first4w(live, ra, lane);
        if (GLU) {
            fb = first4w(live, rb, lane);
        }
    } else {
        wa = first4(live, ra, lane);
        if (GLU) {
            wb = first4(live, rb, lane);
        }
    }
    var g0 = 0.0; // the norm weight of this thread's first staged element
    if (NORM_GROUP > 0u && li < p.k) {
        g0 = g[li];
    }
    let staged = p.k <= MAX_K;
    if (staged) {
        for (var k = li; k < p.k; k += WG) {
            if (EPILOGUE == 3u) {
                xs[k] = combined(k);
            } else {
                xs[k] = x[p.x_off + k];
            }
        }
    }
    workgroupBarrier();
    if (NORM_GROUP > 0u) {
        group_rms(li, staged);
    }
    if (NORM_GROUP > 0u && staged) {
        if (li < p.k) {
            xs[li] *= rinv[li / max(NORM_GROUP, 1u)] * g0;
        }
        for (var k = li + WG; k < p.k; k += WG) {
            xs[k] *= rinv[k / max(NORM_GROUP, 1u)] * g[k];
        }
        workgroupBarrier();
    }
    if (words) {
        return dot_pairs(live, ra, rb, lane, staged, fa, fb);
    }
    var a = 0.0;
    var b = 0.0;
    if (live) {
        let x4 = xin4(lane, staged);
        a = dot(x4, wa);
        if (GLU) {
            b = dot(x4, wb);
        }
        var k = lane + 4u * LANES;
        for (; k + 3u * LANES < p.k; k += 4u * LANES) {
            let x0 = xin(k, staged);
            let x1 = xin(k + LANES, staged);
            let x2 = xin(k + 2u * LANES, staged);
            let x3 = xin(k + 3u * LANES, staged);
            let w0 = weight(ra + k);
            let w1 = weight(ra + k + LANES);
            let w2 = weight(ra + k + 2u * LANES);
            let w3 = weight(ra + k + 3u * LANES);
            a += x0 * w0 + x1 * w1 + x2 * w2 + x3 * w3;
            if (GLU) {
                let u0 = weight(rb + k);
                let u1 = weight(rb + k + LANES);
                let u2 = weight(rb + k + 2u * LANES);
                let u3 = weight(rb + k + 3u * LANES);
                b += x0 * u0 + x1 * u1 + x2 * u2 + x3 * u3;
            }
        }
        for (; k < p.k; k += LANES) {
            let xv = xin(k, staged);
            a += xv * weight(ra + k);
            if (GLU) {
                b += xv * weight(rb + k);
            }
        }
    }
    return vec2<f32>(a, b);
}

// Lane 0 of logical row l: y[n] from the row's sums in red_a[li], red_b[li] (GLU,
// alpha, ACCUMULATE, then the epilogue).
fn finish(l: u32, li: u32) {
    if (li % LANES != 0u || l >= rows_n()) {
        return;
    }
    let n = row_of(l);
    var v = red_a[li];
    if (GLU) {
        v = v / (1.0 + exp(-v)) * red_b[li];
    }
    v *= p.alpha;
    if (ACCUMULATE) {
        v += y_at(n);
    }
    if (EPILOGUE == 1u || (EPILOGUE == 4u && !second)) {
        v = rope_kv(l, n, li, v);
    }
    if (EPILOGUE == 2u || (EPILOGUE == 4u && second)) {
        conv_step(n, v);
    }
    set_y(n, v);
}

// The row sums of the partials ab into red_a, red_b at lane 0 of each row: shuffles
// within a subgroup, then (subgroups below 32) its subgroups' sums; rope_kv reads the
// pair's sum, hence the last barrier.
fn reduce_rows(ab: vec2<f32>, li: u32) {
    var s = ab;
    let inner = min(LANES, sg_size); // lanes of a row in one subgroup
    for (var o = inner / 2u; o > 0u; o = o / 2u) {
        s += subgroupShuffleXor(s, o);
    }
    if (li % inner == 0u) {
        red_a[li] = s.x;
        red_b[li] = s.y;
    }
    workgroupBarrier();
    if (li % LANES == 0u) {
        for (var q = inner; q < LANES; q += inner) {
            s += vec2<f32>(red_a[li + q], red_b[li + q]);
        }
        red_a[li] = s.x;
        red_b[li] = s.y;
    }
    if (EPILOGUE == 1u || EPILOGUE == 4u) {
        workgroupBarrier();
    }
}

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32, @builtin(subgroup_size) sgs: u32) {
    sg_size = sgs;
    var wg = wg_index(wid, nwg);
    let first = (p.n + ROWS - 1u) / ROWS; // workgroups of the first product
    if (EPILOGUE == 4u && wg >= first) {
        second = true;
        wg -= first;
    }
    let l = wg * ROWS + li / LANES;
    reduce_rows(row_partials(l, li), li);
    finish(l, li);
}
