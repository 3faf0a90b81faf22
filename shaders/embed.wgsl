// embed: x[t, d] = w[tokens[t], d], the token embedding gather (ids >= V read row V-1;
// the host rejects them before they get here).
// Dispatch grid: (ceil(T * D / 64), 1, 1), folded past the device limit.

struct Params {
    t: u32,     // T: tokens
    d: u32,     // D: model width
    vocab: u32, // V
    _pad0: u32,
}

// How the weights are stored (weight_format.rs): 0 = f32 (each u32 is an f32's bits),
// 1 = packed f16 pairs, 2 = packed bf16 pairs (element i is half i % 2 of word i / 2);
// read as f32 either way.
override W_FORMAT: u32 = 0u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;  // [T]
@group(0) @binding(2) var<storage, read> w: array<u32>;       // [V, D] the table, f32, f16 or bf16 (W_FORMAT)
@group(0) @binding(3) var<storage, read_write> x: array<f32>; // [T, D]

// Element i of `w` as f32 (W_FORMAT).
fn wt(i: u32) -> f32 {
    if (W_FORMAT == 0u) {
        return bitcast<f32>(w[i]);
    }
    let word = w[i / 2u];
    let odd = (i & 1u) == 1u;
    if (W_FORMAT == 1u) {
        let pair = unpack2x16float(word);
        return select(pair.x, pair.y, odd);
    }
    // bf16: the high 16 bits of an f32
    return bitcast<f32>(select(word << 16u, word & 0xffff0000u, odd));
}

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let idx = wg_index(wid, nwg) * 64u + li;
    if (idx >= p.t * p.d) {
        return;
    }
    let row = idx / p.d;
    let id = min(tokens[row], p.vocab - 1u);
    x[idx] = wt(id * p.d + idx % p.d);
}
