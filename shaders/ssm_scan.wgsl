// ssm_scan: the Mamba-2 (SSD) recurrence plus the gate, token by token (prefill and decode):
//   dt = softplus(dt_raw + dt_bias[h]), A = -exp(A_log[h]),
//   S[h, p, :] = exp(dt A) S[h, p, :] + dt x[t, h, p] B[t, g, :],
//   y[t, h, p] = (S[h, p, :] . C[t, g, :] + D[h] x[t, h, p]) * silu(z[t, h, p]),  g = h / (H / G).
// One thread per (head, channel) owns one state row S[h, p, :] (N floats, kept in the
// state buffer) and walks the T tokens in order.
// Dispatch grid: (ceil(H * P / 64), 1, 1).

struct Params {
    t: u32,           // T: rows
    heads: u32,       // H
    head_dim: u32,    // P
    d_state: u32,     // N
    groups: u32,      // G
    proj_stride: u32, // floats per row of in_proj output (z at column 0)
    dt_off: u32,      // column of dt in the in_proj output (2E + 2GN)
    xbc_stride: u32,  // floats per row of the conv output (x | B | C)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> proj: array<f32>;        // [T, proj_stride]: z | xBC | dt
@group(0) @binding(2) var<storage, read> xbc: array<f32>;         // [T, E + 2GN] after conv + SiLU
@group(0) @binding(3) var<storage, read> head_p: array<f32>;      // [3, H]: dt_bias | A_log | D
@group(0) @binding(4) var<storage, read_write> state: array<f32>; // [H, P, N]
@group(0) @binding(5) var<storage, read_write> y: array<f32>;     // [T, E]: gated output

fn softplus(v: f32) -> f32 {
    if (v > 20.0) {
        return v;
    }
    // log1p(e^v) with Kahan's trick, accurate when e^v is tiny.
    let u = exp(v);
    let w = 1.0 + u;
    if (w == 1.0) {
        return u;
    }
    return log(w) * u / (w - 1.0);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = p.heads * p.head_dim;
    let idx = gid.x;
    if (idx >= e) {
        return;
    }
    let h = idx / p.head_dim;
    let g = h / (p.heads / p.groups);
    let n = p.d_state;
    let b_off = e + g * n;
    let c_off = e + p.groups * n + g * n;
    let a = -exp(head_p[p.heads + h]);
    let d_skip = head_p[2u * p.heads + h];
    let s0 = idx * n;
    for (var t = 0u; t < p.t; t++) {
        let dt = softplus(proj[t * p.proj_stride + p.dt_off + h] + head_p[h]);
        let decay = exp(dt * a);
        let row = t * p.xbc_stride;
        let xv = xbc[row + idx];
        let dx = dt * xv;
        var acc = 0.0;
        for (var j = 0u; j < n; j++) {
            let s = decay * state[s0 + j] + dx * xbc[row + b_off + j];
            state[s0 + j] = s;
            acc += s * xbc[row + c_off + j];
        }
        let z = proj[t * p.proj_stride + idx];
        y[t * e + idx] = (acc + d_skip * xv) * (z / (1.0 + exp(-z)));
    }
}
