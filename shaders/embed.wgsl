// embed: x[t, d] = table[tokens[t], d], the token embedding gather (ids >= V read row V-1;
// the host rejects them before they get here).
// Dispatch grid: (ceil(T * D / 64), 1, 1).

struct Params {
    t: u32,     // T: tokens
    d: u32,     // D: model width
    vocab: u32, // V
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;  // [T]
@group(0) @binding(2) var<storage, read> table: array<f32>;   // [V, D]
@group(0) @binding(3) var<storage, read_write> x: array<f32>; // [T, D]

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let idx = gid.x;
    if (idx >= p.t * p.d) {
        return;
    }
    let row = idx / p.d;
    let id = min(tokens[row], p.vocab - 1u);
    x[idx] = table[id * p.d + idx % p.d];
}
