// ssd_chunk_out: step 3 of the chunked Mamba-2 (SSD) scan of a prefill: the outputs of
// chunk c (tokens t0 = cL .. t0 + q, L = 32) of head h, from the chunk's own tokens and the
// carried-in state S_in (ssd_state_pass), plus the gate:
//   y[t, p] = sum_{s <= t} (C_t . B_s) exp(cum[t] - cum[s]) dt_s x[s, p]
//           + exp(cum[t]) (C_t . S_in[p, :]) + D[h] x[t, p],
//   out[t, h, p] = y[t, p] * silu(z[t, h, p]),
// with dt and cum (the within-chunk cumulative dt A) from ssd_chunk_state, B, C of group
// g = h / (H / G).
// One workgroup of 256 threads per (chunk, head); thread lid owns row t = lid / 8 and the
// 4 adjacent columns 4k .. 4k + 3, k = lid % 8 (tiles hold vec4, so one workgroup-memory
// load serves 4 columns). Phase 1 runs over N in slices of 16: C^T, B^T and S_in^T slices
// are staged (rows padded by one vec4 against bank conflicts) and each thread accumulates
// C_t . B_s for its 4 columns s and C_t . S_in[p] for its 4 columns p (and p + 32 when
// P > 32) in registers. Phase 2 reuses the same memory for the masked, decayed [L, L]
// matrix G and the [L, 64] x tile, and each thread sums G[t, s] x[s, p] over s <= t for
// its 4 (or 8) outputs, adds the carry and the skip term, gates and writes 4 adjacent
// floats of y.
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
const L: u32 = 32u;          // chunk length
const MAX_P: u32 = 64u;      // largest head_dim P
const NS: u32 = 16u;         // state columns per phase-1 slice
const LV: u32 = L / 4u + 1u; // vec4 per row of C^T, B^T and G (9, one of padding)
const PV: u32 = MAX_P / 4u + 1u; // vec4 per row of S_in^T (17, one of padding)
const XV: u32 = MAX_P / 4u;  // vec4 per row of the x tile (16)
// Phase 1 layout of `sm` (vec4 units): C^T [NS, LV] | B^T [NS, LV] | S_in^T [NS, PV]  (560).
const C_AT: u32 = 0u;
const B_AT: u32 = NS * LV;      // 144
const S_AT: u32 = 2u * NS * LV; // 288
// Phase 2 layout of `sm`: G [L, LV] | x [L, XV]  (800).
const G_AT: u32 = 0u;
const X_AT: u32 = L * LV;       // 288
const SM_LEN: u32 = X_AT + L * XV; // 800 (phase 2 is the larger)

// Sub-heads per head (gpu/src/ops/ssd.rs `head_split`): a head of P > 64 channels runs as
// HEAD_SPLIT workgroups of P / HEAD_SPLIT (<= 64) channels each, since the scan is
// independent per channel given the head's dt, A, B and C.
override HEAD_SPLIT: u32 = 1u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> proj: array<f32>;       // [T, proj_stride]: z | xBC | dt
@group(0) @binding(2) var<storage, read> xbc: array<f32>;        // [T, E + 2GN] after conv + SiLU
@group(0) @binding(3) var<storage, read> head_p: array<f32>;     // [3, H]: dt_bias | A_log | D
@group(0) @binding(4) var<storage, read> dtc: array<f32>;        // [T, H, 2]: dt | cum
@group(0) @binding(5) var<storage, read> states: array<f32>;     // [n_chunks, H, P, N]: S_in per chunk
@group(0) @binding(6) var<storage, read_write> y: array<f32>;    // [T, E]: gated output

var<workgroup> dt_s: array<f32, L>;          // [L] dt
var<workgroup> cum_s: array<f32, L>;         // [L] cumulative dt A
var<workgroup> sm: array<vec4<f32>, SM_LEN>; // phase 1 / phase 2 tiles (layouts above)

// Element `col` of the row starting at vec4 `row_at` of `sm`.
fn sm_get(row_at: u32, col: u32) -> f32 {
    return sm[row_at + col / 4u][col % 4u];
}

fn sm_set(row_at: u32, col: u32, v: f32) {
    sm[row_at + col / 4u][col % 4u] = v;
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
    let c_off = e + p.groups * n + g * n;
    let s_base = ((c * p.heads + h) * p.head_dim + sub * hd) * n;
    let wide = hd > 32u; // the upper 32 channels exist
    let p_rows = select(32u, 64u, wide);

    if (lid < q) {
        let o = ((t0 + lid) * p.heads + h) * 2u;
        dt_s[lid] = dtc[o];
        cum_s[lid] = dtc[o + 1u];
    }

    let t = lid / 8u;
    let k = lid % 8u;
    var cb = vec4<f32>(0.0);    // C_t . B_s, s = 4k + i
    var cs_lo = vec4<f32>(0.0); // C_t . S_in[p], p = 4k + i
    var cs_hi = vec4<f32>(0.0); // the same, p = 32 + 4k + i
    for (var n0 = 0u; n0 < n; n0 += NS) {
        workgroupBarrier();
        for (var i = lid; i < L * NS; i += 256u) {
            let r = i / NS;
            let nn = i % NS;
            var cv = 0.0;
            var bv = 0.0;
            if (r < q && n0 + nn < n) {
                let row = (t0 + r) * p.xbc_stride + n0 + nn;
                cv = xbc[row + c_off];
                bv = xbc[row + b_off];
            }
            sm_set(C_AT + nn * LV, r, cv);
            sm_set(B_AT + nn * LV, r, bv);
        }
        for (var i = lid; i < p_rows * NS; i += 256u) {
            let pp = i / NS;
            let nn = i % NS;
            var sv = 0.0;
            if (pp < hd && n0 + nn < n) {
                sv = states[s_base + pp * n + n0 + nn];
            }
            sm_set(S_AT + nn * PV, pp, sv);
        }
        workgroupBarrier();
        for (var nn = 0u; nn < NS; nn++) {
            let cv = sm_get(C_AT + nn * LV, t);
            cb += cv * sm[B_AT + nn * LV + k];
            cs_lo += cv * sm[S_AT + nn * PV + k];
            if (wide) {
                cs_hi += cv * sm[S_AT + nn * PV + 8u + k];
            }
        }
    }
    workgroupBarrier();

    // G[t, s] = (C_t . B_s) exp(cum[t] - cum[s]) dt_s for s <= t < q, else 0.
    var gv = vec4<f32>(0.0);
    for (var i = 0u; i < 4u; i++) {
        let s = 4u * k + i;
        if (s <= t && t < q) {
            gv[i] = cb[i] * exp(cum_s[t] - cum_s[s]) * dt_s[s];
        }
    }
    sm[G_AT + t * LV + k] = gv;
    for (var i = lid; i < L * XV; i += 256u) {
        let r = i / XV;
        let p0 = 4u * (i % XV);
        var xv = vec4<f32>(0.0);
        if (r < q && p0 < hd) {
            let row = (t0 + r) * p.xbc_stride + h * p.head_dim + sub * hd;
            for (var j = 0u; j < 4u; j++) {
                if (p0 + j < hd) {
                    xv[j] = xbc[row + p0 + j];
                }
            }
        }
        sm[X_AT + i] = xv;
    }
    workgroupBarrier();

    if (t >= q) {
        return;
    }
    var lo = vec4<f32>(0.0); // p = 4k + i
    var hi = vec4<f32>(0.0); // p = 32 + 4k + i
    for (var s = 0u; s <= t; s++) {
        let w = sm_get(G_AT + t * LV, s);
        lo += w * sm[X_AT + s * XV + k];
        if (wide) {
            hi += w * sm[X_AT + s * XV + 8u + k];
        }
    }
    let carry = exp(cum_s[t]);
    let d_skip = head_p[2u * p.heads + h];
    let row = t0 + t;
    let col0 = h * p.head_dim + sub * hd; // the slice's first channel in a row of y
    put(row, col0, hd, 4u * k, lo + carry * cs_lo + d_skip * sm[X_AT + t * XV + k]);
    if (wide) {
        put(row, col0, hd, 32u + 4u * k, hi + carry * cs_hi + d_skip * sm[X_AT + t * XV + 8u + k]);
    }
}

// out[row, col0 + p0 + i] = v[i] * silu(z[row, col0 + p0 + i]) for p0 + i < hd (the
// slice's channels; z is at the same column of the in_proj output).
fn put(row: u32, col0: u32, hd: u32, p0: u32, v: vec4<f32>) {
    let zo = row * p.proj_stride + col0 + p0;
    let yo = row * p.heads * p.head_dim + col0 + p0;
    for (var i = 0u; i < 4u; i++) {
        if (p0 + i < hd) {
            let z = proj[zo + i];
            y[yo + i] = v[i] * (z / (1.0 + exp(-z)));
        }
    }
}
