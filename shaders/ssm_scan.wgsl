// ssm_scan: the Mamba-2 (SSD) recurrence plus the gate, token by token (prefill and decode):
//   dt = edit_dt(softplus(dt_raw + dt_bias[h])), A = -exp(A_log[h]),
//   S[h, p, :] = exp(dt A) S[h, p, :] + dt x[t, h, p] B[t, g, :],
//   y[t, h, p] = (S[h, p, :] . C[t, g, :] + D[h] x[t, h, p]) * silu(z[t, h, p]),  g = h / (H / G).
// A workgroup of CH * 16 = 64 threads owns CH = 4 channels (h, p) (flat index over H * P);
// 16 lanes per channel split its state row S[h, p, :] (N floats, kept in the state
// buffer): lane k owns entries k + 16 i and updates them 4 at a time (12 loads in flight),
// adding its part of S . C; a tree over the 16 lanes in workgroup memory gives y. The tokens run in
// order. A decode step (T = 1) with N <= 64 takes a path without loops, so that every
// load of the step is issued at once.
// Dispatch grid: (ceil(H * P / CH), 1, 1), folded past the device limit.

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

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> proj: array<f32>;        // [T, proj_stride]: z | xBC | dt
@group(0) @binding(2) var<storage, read> xbc: array<f32>;         // [T, E + 2GN] after conv + SiLU
@group(0) @binding(3) var<storage, read> head_p: array<f32>;      // [3, H]: dt_bias | A_log | D
@group(0) @binding(4) var<storage, read> dt_edit: array<f32>;      // [3, H]: k | m | freeze row (interventions)
@group(0) @binding(5) var<storage, read_write> state: array<f32>; // [H, P, N]
@group(0) @binding(6) var<storage, read_write> y: array<f32>;     // [T, E]: gated output

const LANES: u32 = 16u; // threads per channel
// Channels per workgroup (4), set from gpu/src/ops/ssm_scan.rs (CHANNELS_PER_WG); no
// default, so Rust is its one source.
override CH: u32;
override RED_N: u32 = CH * LANES; // sizes `red` (a named override, as attention.wgsl's)

var<workgroup> red: array<f32, RED_N>; // [CH][LANES] partial S . C

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

// The entries j0 + LANES u (u < 4) of the state row at s0 for token row `row`:
// S = decay S + dx B, stored when `live`; returns their part of S . C. Entries past N
// load entry `own` (this lane's first, or any entry when the lane has none) and are
// dropped.
fn update4(s0: u32, row: u32, b_off: u32, c_off: u32, j0: u32, own: u32, n: u32,
           decay: f32, dx: f32, live: bool) -> f32 {
    let jv = vec4<u32>(j0, j0 + LANES, j0 + 2u * LANES, j0 + 3u * LANES);
    let ok = jv < vec4<u32>(n);
    let jc = select(vec4<u32>(own), jv, ok);
    let sv = vec4<f32>(state[s0 + jc.x], state[s0 + jc.y], state[s0 + jc.z], state[s0 + jc.w]);
    let bv = vec4<f32>(
        xbc[row + b_off + jc.x],
        xbc[row + b_off + jc.y],
        xbc[row + b_off + jc.z],
        xbc[row + b_off + jc.w],
    );
    let cv = vec4<f32>(
        xbc[row + c_off + jc.x],
        xbc[row + c_off + jc.y],
        xbc[row + c_off + jc.z],
        xbc[row + c_off + jc.w],
    );
    let sn = decay * sv + dx * bv;
    if (live) {
        if (ok.x) {
            state[s0 + jv.x] = sn.x;
        }
        if (ok.y) {
            state[s0 + jv.y] = sn.y;
        }
        if (ok.z) {
            state[s0 + jv.z] = sn.z;
        }
        if (ok.w) {
            state[s0 + jv.w] = sn.w;
        }
    }
    return dot(select(vec4<f32>(0.0), sn * cv, ok), vec4<f32>(1.0));
}

// Sum of red over the 16 lanes of each channel into lane 0's slot. Lane 0 then reads
// only its own slot, which no other lane writes: the next token's stores need no barrier.
fn lane_sum(li: u32, lane: u32) {
    workgroupBarrier();
    for (var off = LANES / 2u; off > 0u; off >>= 1u) {
        if (lane < off) {
            red[li] += red[li + off];
        }
        workgroupBarrier();
    }
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(CH * LANES, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let e = p.heads * p.head_dim;
    let lane = li % LANES;
    let idx = wg_index(wid, nwg) * CH + li / LANES; // channel h * P + p
    let live = idx < e;
    let ic = min(idx, e - 1u); // past the end: load channel e - 1, store nothing
    let h = ic / p.head_dim;
    let g = h / (p.heads / p.groups);
    let n = p.d_state;
    let b_off = e + g * n;
    let c_off = e + p.groups * n + g * n;
    let s0 = ic * n;
    let own = min(lane, n - 1u);
    if (p.t == 1u && n <= 4u * LANES) {
        // decode: one token, one update4 per lane, no loops before the tree
        let dt = edit_dt(softplus(proj[p.dt_off + h] + head_p[h]), h, 0u);
        let decay = exp(-dt * exp(head_p[p.heads + h]));
        let xv = xbc[ic];
        let z = proj[ic];
        let d_skip = head_p[2u * p.heads + h];
        red[li] = update4(s0, 0u, b_off, c_off, lane, own, n, decay, dt * xv, live);
        lane_sum(li, lane);
        if (live && lane == 0u) {
            y[ic] = (red[li] + d_skip * xv) * (z / (1.0 + exp(-z)));
        }
        return;
    }
    let a = -exp(head_p[p.heads + h]);
    let d_skip = head_p[2u * p.heads + h];
    for (var t = 0u; t < p.t; t++) {
        let dt = edit_dt(softplus(proj[t * p.proj_stride + p.dt_off + h] + head_p[h]), h, t);
        let decay = exp(dt * a);
        let row = t * p.xbc_stride;
        let xv = xbc[row + ic];
        let dx = dt * xv;
        var acc = 0.0;
        for (var j0 = lane; j0 < n; j0 += 4u * LANES) {
            acc += update4(s0, row, b_off, c_off, j0, j0, n, decay, dx, live);
        }
        red[li] = acc;
        lane_sum(li, lane);
        if (live && lane == 0u) {
            let z = proj[t * p.proj_stride + ic];
            y[t * e + ic] = (red[li] + d_skip * xv) * (z / (1.0 + exp(-z)));
        }
    }
}
