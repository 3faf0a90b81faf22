// ssd_state_pass: step 2 of the chunked Mamba-2 (SSD) scan of a prefill. Passes the state
// through the chunks in order, per head h and state entry (p, n):
//   S_in(0) = state[h, p, n]                          (the session's state),
//   S_in(c + 1) = exp(cum_c[last]) S_in(c) + S_c[h, p, n],
// where S_c is chunk c's own end state (ssd_chunk_state) and cum_c[last] the chunk's total
// log decay sum_s dt_s A. Each chunk's carried-in state S_in(c) overwrites S_c in place
// (ssd_chunk_out reads it); S_in(n_chunks) goes back to the session's state.
// One thread per (h, p, n), coalesced over n; the loop over chunks is sequential.
// Dispatch grid: (ceil(H * P * N / 256), 1, 1), folded past the device limit.

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

// Chunk length: SSD_CHUNK of gpu/src/ops/ssd.rs (gpu/tests/contract.rs holds them equal).
const L: u32 = 32u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dtc: array<f32>;           // [T, H, 2]: dt | cum
@group(0) @binding(2) var<storage, read_write> states: array<f32>;  // [n_chunks, H, P, N]: S_c in, S_in(c) out
@group(0) @binding(3) var<storage, read_write> state: array<f32>;   // [H, P, N]: S_in(0) in, final state out

// exp(cum at the last token of chunk c): the chunk's decay of head h.
fn decay_of(c: u32, h: u32) -> f32 {
    let last = min((c + 1u) * L, p.t) - 1u;
    return exp(dtc[(last * p.heads + h) * 2u + 1u]);
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let per_head = p.head_dim * p.d_state;
    let len = p.heads * per_head;
    let idx = wg_index(wid, nwg) * 256u + li;
    if (idx >= len) {
        return;
    }
    let h = idx / per_head;
    var s = state[idx];
    var c = 0u;
    // four chunks at a time: their loads are independent of the running state
    for (; c + 4u <= p.n_chunks; c += 4u) {
        let o = c * len + idx;
        let own = vec4<f32>(states[o], states[o + len], states[o + 2u * len], states[o + 3u * len]);
        let decay = vec4<f32>(decay_of(c, h), decay_of(c + 1u, h), decay_of(c + 2u, h), decay_of(c + 3u, h));
        states[o] = s;
        s = decay.x * s + own.x;
        states[o + len] = s;
        s = decay.y * s + own.y;
        states[o + 2u * len] = s;
        s = decay.z * s + own.z;
        states[o + 3u * len] = s;
        s = decay.w * s + own.w;
    }
    for (; c < p.n_chunks; c++) {
        let o = c * len + idx;
        let own = states[o];
        states[o] = s;
        s = decay_of(c, h) * s + own;
    }
    state[idx] = s;
}
