// ssm_state_norm (probes): the Mamba-2 recurrence over a chunk on a copy of the SSM state,
// recording the Frobenius norm of each head's state after every token:
//   dt = edit_dt(softplus(dt_raw[t, h] + dt_bias[h])), A = -exp(A_log[h]),
//   S[h, p, :] = exp(dt A) S[h, p, :] + dt x[t, h, p] B[t, g, :],   g = h / (H / G),
//   norm[t, h] = ||S[h]||_F after token t.
// `state` starts as a copy of the session's state (the caller copies it) and ends as the
// state after the chunk; the session's own state is never bound here. One workgroup of
// 64 threads per head: thread li owns elements li, li + 64, ... of S[h] (P * N floats),
// updates them token by token, and the sums of squares meet in a tree reduction.
// Dispatch grid: (H, 1, 1).

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
@group(0) @binding(1) var<storage, read> proj: array<f32>;         // [T, proj_stride]: z | xBC | dt
@group(0) @binding(2) var<storage, read> xbc: array<f32>;          // [T, E + 2GN] after conv + SiLU
@group(0) @binding(3) var<storage, read> head_p: array<f32>;       // [3, H]: dt_bias | A_log | D
@group(0) @binding(4) var<storage, read> dt_edit: array<f32>;       // [3, H]: k | m | freeze row (interventions)
@group(0) @binding(5) var<storage, read_write> state: array<f32>;  // [H, P, N]: the copy
@group(0) @binding(6) var<storage, read_write> norms: array<f32>;  // [T, H]

var<workgroup> red: array<f32, 64>;

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

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let h = wid.x;
    let e = p.heads * p.head_dim;
    let n = p.d_state;
    let size = p.head_dim * n;
    let g = h / (p.heads / p.groups);
    let b_off = e + g * n;
    let a = -exp(head_p[p.heads + h]);
    let s0 = h * size;
    for (var t = 0u; t < p.t; t++) {
        let dt = edit_dt(softplus(proj[t * p.proj_stride + p.dt_off + h] + head_p[h]), h, t);
        let decay = exp(dt * a);
        let row = t * p.xbc_stride;
        var acc = 0.0;
        for (var i = li; i < size; i += WG) {
            let pi = i / n;
            let xp = xbc[row + h * p.head_dim + pi];
            let s = decay * state[s0 + i] + dt * xp * xbc[row + b_off + i % n];
            state[s0 + i] = s;
            acc += s * s;
        }
        red[li] = acc;
        workgroupBarrier();
        for (var w = WG / 2u; w > 0u; w = w / 2u) {
            if (li < w) {
                red[li] += red[li + w];
            }
            workgroupBarrier();
        }
        if (li == 0u) {
            norms[t * p.heads + h] = sqrt(red[0]);
        }
        workgroupBarrier();
    }
}
