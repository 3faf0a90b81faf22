// conv1d: Mamba-2's causal depthwise conv + SiLU over the x|B|C channels, with conv state:
//   ext = [state (W-1 rows); in rows], out[t, c] = silu(b[c] + sum_{k<W} w[c, k] ext[t + k, c]),
//   then state = the last W-1 rows of ext.
// A workgroup of CH = 64 channels x 4 row lanes covers a block of ROWS = 16 rows (each
// thread 4 rows), all outputs in parallel. Only row block 0 reads the old state (rows
// t < W-1 <= 7 need it): it stages it in workgroup memory first and writes the new state
// last, so no other workgroup touches the state of its channels.
// Dispatch grid: (ceil(C / CH), ceil(T / ROWS), 1), folded past the device limit.

struct Params {
    t: u32,         // T: rows
    channels: u32,  // C = E + 2GN
    width: u32,     // W <= 8
    in_stride: u32, // floats per row of the input (in_proj output)
    in_off: u32,    // first column of x|B|C in the input
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// Set from gpu/src/ops/conv1d.rs (MAX_WIDTH, CHANNELS_PER_WG, ROWS_PER_WG); no defaults,
// so Rust is their one source.
override MAX_W: u32; // widest conv (8)
override CH: u32;    // channels per workgroup (64)
override ROWS: u32;  // rows per workgroup (16)

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inp: array<f32>;         // [T, in_stride]
@group(0) @binding(2) var<storage, read> w: array<f32>;           // [C, W]
@group(0) @binding(3) var<storage, read> b: array<f32>;           // [C]
@group(0) @binding(4) var<storage, read_write> state: array<f32>; // [W-1, C], oldest first
@group(0) @binding(5) var<storage, read_write> out: array<f32>;   // [T, C]

const LANES: u32 = 4u; // row lanes per workgroup
override OLD_N: u32 = (MAX_W - 1u) * CH; // sizes `old` (a named override, as attention.wgsl's)

var<workgroup> old: array<f32, OLD_N>; // [MAX_W - 1][CH]: the old state (row block 0)

// ext[e, c] for channel c (local index cl): the old state for e < W-1, else input row e - (W-1).
fn ext(e: u32, c: u32, cl: u32) -> f32 {
    let wl = p.width - 1u;
    if (e < wl) {
        return old[e * CH + cl];
    }
    return inp[(e - wl) * p.in_stride + p.in_off + c];
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(CH, LANES, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    // the logical grid (n_x, n_y), folded past the device limit
    let n_x = max((p.channels + CH - 1u) / CH, 1u);
    let n_y = max((p.t + ROWS - 1u) / ROWS, 1u);
    let wg = wg_index(wid, nwg);
    if (wg >= n_x * n_y) {
        return;
    }
    let gx = wg % n_x; // channel block
    let gy = wg / n_x; // row block
    let cl = lid.x;
    let c = gx * CH + cl;
    let wl = p.width - 1u;
    let first = gy == 0u;
    if (first && c < p.channels) {
        for (var k = lid.y; k < wl; k += LANES) {
            old[k * CH + cl] = state[k * p.channels + c];
        }
    }
    workgroupBarrier();
    if (c < p.channels) {
        for (var r = lid.y; r < ROWS; r += LANES) {
            let t = gy * ROWS + r;
            if (t < p.t) {
                var acc = b[c];
                for (var k = 0u; k < p.width; k++) {
                    acc += w[c * p.width + k] * ext(t + k, c, cl);
                }
                out[t * p.channels + c] = acc / (1.0 + exp(-acc));
            }
        }
    }
    if (first) {
        workgroupBarrier();
        if (c < p.channels) {
            for (var k = lid.y; k < wl; k += LANES) {
                state[k * p.channels + c] = ext(p.t + k, c, cl);
            }
        }
    }
}
