// ssm_probes (probes): dt and Mamba-2's implicit attention over a chunk, from the in_proj
// output and the conv output (hybrid_core::cpu::mamba::implicit_attention):
//   dt[t, h] = edit_dt(softplus(dt_raw[t, h] + dt_bias[h])),  A = -exp(A_log[h]),
//   M[h, t, s] = (C[t, g] . B[s, g]) dt[s, h] exp(sum_{r=s+1..t} dt[r, h] A)  for s <= t, else 0,
//   g = h / (H / G).
// One workgroup of 64 threads per (query row t, head h) walks the keys s <= t in tiles of
// 64 from the top down: thread li takes key s = s0 + li, the tile's dt A values meet in
// workgroup memory, and each thread adds those above its own key to the carry of the
// tiles above (so the exponent is a sum over exactly r = s+1..t, never a difference).
// Row t's workgroups also write dt[t, h].
// Dispatch grid: (T, H, 1), folded past the device limit.

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

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> proj: array<f32>;           // [T, proj_stride]: z | xBC | dt
@group(0) @binding(2) var<storage, read> xbc: array<f32>;            // [T, E + 2GN] after conv + SiLU
@group(0) @binding(3) var<storage, read> head_p: array<f32>;         // [3, H]: dt_bias | A_log | D
@group(0) @binding(4) var<storage, read> dt_edit: array<f32>;         // [3, H]: k | m | freeze row (interventions)
@group(0) @binding(5) var<storage, read_write> dt_out: array<f32>;   // [T, H]
@group(0) @binding(6) var<storage, read_write> implicit: array<f32>; // [H, T, T]

var<workgroup> xs: array<f32, 64>; // dt A of the tile's keys (0 past t)

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

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    // the logical grid (n_x, n_y), folded past the device limit
    let n_x = p.t;
    let n_y = p.heads;
    let wg = wg_index(wid, nwg);
    if (wg >= n_x * n_y) {
        return;
    }
    let t = wg % n_x;
    let h = wg / n_x;
    let e = p.heads * p.head_dim;
    let n = p.d_state;
    let g = h / (p.heads / p.groups);
    let b_off = e + g * n;
    let c_off = e + p.groups * n + g * n;
    let a = -exp(head_p[p.heads + h]);
    let row = (h * p.t + t) * p.t;
    let c_row = t * p.xbc_stride + c_off;
    var carry = 0.0; // sum of dt A over the keys of the tiles above this one, up to t
    for (var k = t / WG + 1u; k > 0u; k--) {
        let s = (k - 1u) * WG + li;
        var dts = 0.0;
        if (s <= t) {
            dts = edit_dt(softplus(proj[s * p.proj_stride + p.dt_off + h] + head_p[h]), h, s);
        }
        xs[li] = dts * a;
        workgroupBarrier();
        var above = 0.0; // keys of this tile after s
        for (var j = li + 1u; j < WG; j++) {
            above += xs[j];
        }
        var total = 0.0;
        for (var j = 0u; j < WG; j++) {
            total += xs[j];
        }
        workgroupBarrier();
        if (s <= t) {
            let b_row = s * p.xbc_stride + b_off;
            var cb = 0.0;
            for (var j = 0u; j < n; j++) {
                cb += xbc[c_row + j] * xbc[b_row + j];
            }
            implicit[row + s] = cb * dts * exp(carry + above);
            if (s == t) {
                dt_out[t * p.heads + h] = dts;
            }
        }
        carry += total;
    }
    for (var s = t + 1u + li; s < p.t; s += WG) {
        implicit[row + s] = 0.0;
    }
}
