// ssd_chunk_state: step 1 of the chunked Mamba-2 (SSD) scan of a prefill (shaders
// ssd_chunk_state -> ssd_state_pass -> ssd_chunk_out). Per chunk c of L = 32 tokens
// (the last one partial, q = min(L, T - cL) tokens) and head h:
//   dt_s = edit_dt(softplus(dt_raw[s, h] + dt_bias[h])),  A = -exp(A_log[h]),
//   cum[j] = sum_{s <= j} dt_s A                       (within the chunk),
//   S_c[p, n] = sum_s exp(cum[q-1] - cum[s]) dt_s x[s, h, p] B[s, g, n],  g = h / (H / G):
// the chunk's own end state (what the chunk adds to a zero state). dt and cum go to the
// dtc scratch so that the other two kernels read them instead of recomputing them.
// One workgroup of 256 threads per (chunk, head): W[s, p] = exp(cum[q-1] - cum[s]) dt_s x[s, p]
// is staged once as a [L, 64] tile of vec4 (4 channels per load), B in slices of 32 state
// columns ([L, 32] tile); thread (n = lid % 32, p4 = lid / 32) accumulates the 4 outputs
// p = 4 p4 .. 4 p4 + 3 of the [P, 32] slice, and 4 more at p + 32 when P > 32.
// Needs P / HEAD_SPLIT <= 64 (any N, any H, G).
// Dispatch grid: (n_chunks, H, 1), folded past the device limit.

struct Params {
    t: u32,           // T: rows
    heads: u32,       // H
    head_dim: u32,    // P (<= 64 in the chunked SSD kernels)
    d_state: u32,     // N
    groups: u32,      // G
    proj_stride: u32, // floats per row of the in_proj output (z at column 0)
    dt_off: u32,      // column of dt in the in_proj output (2E + 2GN)
    xbc_stride: u32,  // floats per row of the conv output (x | B | C)
    n_chunks: u32,    // ceil(T / L) in the chunked SSD kernels, else 0 (unused)
}

// L and MAX_P equal SSD_CHUNK and SSD_MAX_HEAD_DIM of gpu/src/ops/ssd.rs (the thread
// mapping is built for them, so they stay consts; gpu/tests/contract.rs holds them equal).
const L: u32 = 32u;         // chunk length
const MAX_P: u32 = 64u;     // largest head_dim P
const PV: u32 = MAX_P / 4u; // vec4 per row of the W tile (16)
const NS: u32 = 32u;        // state columns per slice

// Sub-heads per head (gpu/src/ops/ssd.rs `head_split`): a head of P > 64 channels runs as
// HEAD_SPLIT workgroups of P / HEAD_SPLIT (<= 64) channels each, since the scan is
// independent per channel given the head's dt, A, B and C.
override HEAD_SPLIT: u32 = 1u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> proj: array<f32>;          // [T, proj_stride]: z | xBC | dt
@group(0) @binding(2) var<storage, read> xbc: array<f32>;           // [T, E + 2GN] after conv + SiLU
@group(0) @binding(3) var<storage, read> head_p: array<f32>;        // [3, H]: dt_bias | A_log | D
@group(0) @binding(4) var<storage, read> dt_edit: array<f32>;        // [3, H]: k | m | freeze row (interventions)
@group(0) @binding(5) var<storage, read_write> states: array<f32>;  // [n_chunks, H, P, N]: S_c
@group(0) @binding(6) var<storage, read_write> dtc: array<f32>;     // [T, H, 2]: dt | cum

var<workgroup> dt_s: array<f32, L>;           // [L] dt (0 past the end)
var<workgroup> cum_s: array<f32, L>;          // [L] cumulative dt A
var<workgroup> w_s: array<vec4<f32>, L * PV>; // [L, PV] W[s, 4 v .. 4 v + 3]
var<workgroup> b_s: array<f32, L * NS>;       // [L, NS] B[s, n0 + n]

// dt of head h at chunk row t after the interventions (hybrid_core::intervene), from the
// rows k | m | f of dt_edit that the session writes: the dt edits composed into
// min(k dt, m), then 0 from row f on (a freeze; f = 2^24: none). k = 1, m = +inf and no
// freeze leave dt as it is, bit for bit. Copied into ssm_scan, ssd_chunk_state,
// ssm_probes and ssm_state_norm; gpu/tests/contract.rs holds the copies equal.
fn edit_dt(dt: f32, h: u32, t: u32) -> f32 {
    let e = min(dt * dt_edit[h], dt_edit[p.heads + h]);
    return select(e, 0.0, f32(t) >= dt_edit[2u * p.heads + h]);
}

// softplus without branches (so the loads around it stay in one block), as the CPU
// engine's: v for v > 20 (PyTorch's threshold), else log1p(e^v) with Kahan's trick,
// accurate when e^v is tiny. Copied into ssm_scan, ssd_chunk_state, ssm_probes and
// ssm_state_norm (WGSL has no includes); gpu/tests/contract.rs holds the copies equal.
fn softplus(v: f32) -> f32 {
    let u = exp(min(v, 20.0));
    let w = 1.0 + u;
    let r = select(log(w) * u / (w - 1.0), u, w == 1.0);
    return select(r, v, v > 20.0);
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // the logical grid (n_x, n_y), folded past the device limit
    let n_x = p.n_chunks;
    let n_y = p.heads * HEAD_SPLIT;
    let wg = wg_index(wid, nwg);
    if (wg >= n_x * n_y) {
        return;
    }
    let c = wg % n_x;
    let h = wg / n_x / HEAD_SPLIT;   // the head
    let sub = wg / n_x % HEAD_SPLIT; // which slice of its channels
    let t0 = c * L;
    let q = min(L, p.t - t0);
    let hd = p.head_dim / HEAD_SPLIT; // channels of this slice
    let e = p.heads * p.head_dim;
    let n = p.d_state;
    let g = h / (p.heads / p.groups);
    let b_off = e + g * n;

    // dt per token; the cumulative sum in token order (as the CPU's scan_chunked).
    if (lid < L) {
        var dt = 0.0;
        if (lid < q) {
            let raw = proj[(t0 + lid) * p.proj_stride + p.dt_off + h];
            dt = edit_dt(softplus(raw + head_p[h]), h, t0 + lid);
        }
        dt_s[lid] = dt;
    }
    workgroupBarrier();
    if (lid == 0u) {
        let a = -exp(head_p[p.heads + h]);
        var acc = 0.0;
        for (var j = 0u; j < L; j++) {
            acc += dt_s[j] * a;
            cum_s[j] = acc;
        }
    }
    workgroupBarrier();
    if (lid < q && sub == 0u) {
        let o = ((t0 + lid) * p.heads + h) * 2u;
        dtc[o] = dt_s[lid];
        dtc[o + 1u] = cum_s[lid];
    }
    // cum is flat past the end, so cum[L-1] = cum[q-1].
    let last = cum_s[L - 1u];
    let x0 = h * p.head_dim + sub * hd;
    for (var i = lid; i < L * PV; i += 256u) {
        let s = i / PV;
        let p0 = 4u * (i % PV);
        var v = vec4<f32>(0.0);
        if (s < q && p0 < hd) {
            let wgt = exp(last - cum_s[s]) * dt_s[s];
            let row = (t0 + s) * p.xbc_stride + x0;
            for (var k = 0u; k < 4u; k++) {
                if (p0 + k < hd) {
                    v[k] = wgt * xbc[row + p0 + k];
                }
            }
        }
        w_s[i] = v;
    }

    let wide = hd > 32u; // the upper 32 channels exist
    let nl = lid % NS;
    let p4 = lid / NS;
    let out0 = ((c * p.heads + h) * p.head_dim + sub * hd) * n;
    for (var n0 = 0u; n0 < n; n0 += NS) {
        workgroupBarrier();
        for (var i = lid; i < L * NS; i += 256u) {
            let s = i / NS;
            let nn = n0 + i % NS;
            var v = 0.0;
            if (s < q && nn < n) {
                v = xbc[(t0 + s) * p.xbc_stride + b_off + nn];
            }
            b_s[i] = v;
        }
        workgroupBarrier();
        // channels 4 p4 + k in lo, 32 + 4 p4 + k in hi
        var lo = vec4<f32>(0.0);
        var hi = vec4<f32>(0.0);
        for (var s = 0u; s < q; s++) {
            let bv = b_s[s * NS + nl];
            lo += w_s[s * PV + p4] * bv;
            if (wide) {
                hi += w_s[s * PV + 8u + p4] * bv;
            }
        }
        let col = n0 + nl;
        if (col < n) {
            for (var k = 0u; k < 4u; k++) {
                let pp = 4u * p4 + k;
                if (pp < hd) {
                    states[out0 + pp * n + col] = lo[k];
                }
                if (pp + 32u < hd) {
                    states[out0 + (pp + 32u) * n + col] = hi[k];
                }
            }
        }
    }
}
