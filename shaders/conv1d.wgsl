// conv1d: Mamba-2's causal depthwise conv + SiLU over the x|B|C channels, with conv state:
//   ext = [state (W-1 rows); in rows], out[t, c] = silu(b[c] + sum_{k<W} w[c, k] ext[t + k, c]),
//   then state = the last W-1 rows of ext.
// One thread per channel walks the T rows in order (W <= 8), so it owns its state column.
// Dispatch grid: (ceil(C / 64), 1, 1).

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

const MAX_W: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inp: array<f32>;         // [T, in_stride]
@group(0) @binding(2) var<storage, read> w: array<f32>;           // [C, W]
@group(0) @binding(3) var<storage, read> b: array<f32>;           // [C]
@group(0) @binding(4) var<storage, read_write> state: array<f32>; // [W-1, C], oldest first
@group(0) @binding(5) var<storage, read_write> out: array<f32>;   // [T, C]

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    if (c >= p.channels) {
        return;
    }
    let wl = p.width - 1u;
    var hist: array<f32, MAX_W>; // the last W inputs, oldest first
    for (var k = 0u; k < wl; k++) {
        hist[k] = state[k * p.channels + c];
    }
    for (var t = 0u; t < p.t; t++) {
        hist[wl] = inp[t * p.in_stride + p.in_off + c];
        var acc = b[c];
        for (var k = 0u; k < p.width; k++) {
            acc += w[c * p.width + k] * hist[k];
        }
        out[t * p.channels + c] = acc / (1.0 + exp(-acc));
        for (var k = 0u; k < wl; k++) {
            hist[k] = hist[k + 1u];
        }
    }
    for (var k = 0u; k < wl; k++) {
        state[k * p.channels + c] = hist[k];
    }
}
