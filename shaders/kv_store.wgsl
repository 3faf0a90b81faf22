// kv_store: append the k, v rows of this call (positions s = pos0 + t) to the KV cache,
// keeping only rows a later query can see: all of them without a window; with window w
// and `sinks` sink tokens, s < sinks or s + w > pos0 + T, at slot(s) = s (no window or a
// sink) or sinks + (s - sinks) % ring (a ring of w rows: CacheLayout::ring).
// Runs after attention (which reads the fresh rows from qkv, so a ring slot is overwritten
// only once no query of this call needs its old key). One thread per (t, channel), the
// channels of the wider of the k row (Hkv*dh) and the v row (Hkv*dv).
// Dispatch grid: (ceil(T * max(Hkv*dh, Hkv*dv) / 64), 1, 1), folded past the device limit.

struct Params {
    t: u32,      // T: rows
    stride: u32, // floats per row of qkv
    k_off: u32,  // first column of k in qkv
    v_off: u32,  // first column of v in qkv
    k_dim: u32,  // Hkv * dh
    window: u32, // 0 = no window
    sinks: u32,  // sink tokens
    ring: u32,   // ring rows after the sinks (window w)
    v_dim: u32,  // Hkv * dv
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pos: array<u32>;           // [1]: pos0
@group(0) @binding(2) var<storage, read> qkv: array<f32>;           // [T, stride]
@group(0) @binding(3) var<storage, read_write> k_cache: array<f32>; // [rows, k_dim]
@group(0) @binding(4) var<storage, read_write> v_cache: array<f32>; // [rows, v_dim]

// This workgroup's index in a grid folded by `fold` of gpu/src/dispatch.rs (the idiom of
// its module doc): [x, y, z] workgroups numbered x fastest.
fn wg_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let idx = wg_index(wid, nwg) * 64u + li;
    let width = max(p.k_dim, p.v_dim);
    if (idx >= p.t * width) {
        return;
    }
    let row = idx / width;
    let j = idx % width;
    let pos0 = pos[0];
    let s = pos0 + row;
    var slot = s;
    if (p.window > 0u && s >= p.sinks) {
        if (s + p.window <= pos0 + p.t) {
            return; // no later query sees this key
        }
        slot = p.sinks + (s - p.sinks) % p.ring;
    }
    if (j < p.k_dim) {
        k_cache[slot * p.k_dim + j] = qkv[row * p.stride + p.k_off + j];
    }
    if (j < p.v_dim) {
        v_cache[slot * p.v_dim + j] = qkv[row * p.stride + p.v_off + j];
    }
}
