//! The prefill attention for q/k heads of up to 128 dims and v heads of up to 256
//! (shaders/attention_tiled.wgsl): the result of [`super::attention::Attention`],
//! flash-attention style. A workgroup owns [`ROWS`] (position, query head) rows of one KV
//! head and streams K/V tiles through workgroup memory once for all of them; each row's
//! head is split over 2 threads (4 for v heads over 128 dims) that hold their parts of q
//! and of the output in registers. The tile size comes from the device's workgroup storage
//! limit; where even the smallest tile does not fit, [`plan`] says so and the caller runs
//! the one-row-per-workgroup path of attention.wgsl.

/// Widest q/k head of this path (each thread's part of q: at most 16 vec4 in registers).
pub const MAX_HEAD_DIM: usize = 128;
/// Widest v head of this path (each thread's part of the output: at most 16 vec4).
pub const MAX_V_HEAD_DIM: usize = 256;
/// Narrowest head of this path where q/k and v heads are equal (narrower ones run the
/// tiled path of attention.wgsl); heads of different sizes take any width here.
pub const MIN_HEAD_DIM: usize = 65;
/// Rows ((position, query head) pairs of one KV head) per workgroup: the shader's BQ.
pub const ROWS: usize = 64;
/// Keys per tile, largest first (the shader's BK, at most its MAX_BK).
const TILE_KEYS: [usize; 2] = [16, 8];

/// Workgroup storage of the shader for `bk` keys per tile, `split` threads per row and
/// `h4` / `v4` vec4 of q / output per thread: the K and V tiles ([bk, split h4] and
/// [bk, split v4] vec4) and the partial scores ([split, bk, ROWS] f32).
fn storage_bytes(bk: usize, split: usize, h4: usize, v4: usize) -> usize {
    16 * bk * split * (h4 + v4) + 4 * split * bk * ROWS
}

/// Override constants (BQ, BK, SPLIT, H4, V4) for q/k heads of `head_dim` and v heads of
/// `v_head_dim` under a workgroup storage limit and an invocation limit; `None` where the
/// heads are outside this path's range or no tile fits.
pub fn plan(
    head_dim: usize,
    v_head_dim: usize,
    max_storage: u32,
    max_invocations: u32,
) -> Option<[(&'static str, f64); 5]> {
    let min = if head_dim == v_head_dim {
        MIN_HEAD_DIM
    } else {
        1
    };
    if !(min..=MAX_HEAD_DIM).contains(&head_dim) || !(1..=MAX_V_HEAD_DIM).contains(&v_head_dim) {
        return None;
    }
    let split: usize = if v_head_dim > 128 { 4 } else { 2 };
    if split * ROWS > max_invocations as usize {
        return None;
    }
    let (h4, v4) = (head_dim.div_ceil(4 * split), v_head_dim.div_ceil(4 * split));
    let bk = TILE_KEYS
        .into_iter()
        .find(|&bk| storage_bytes(bk, split, h4, v4) <= max_storage as usize)?;
    Some([
        ("BQ", ROWS as f64),
        ("BK", bk as f64),
        ("SPLIT", split as f64),
        ("H4", h4 as f64),
        ("V4", v4 as f64),
    ])
}
