//! The prefill attention for heads of 65..=128 dims (shaders/attention_tiled.wgsl): the
//! result of [`super::attention::Attention`], flash-attention style. A workgroup owns
//! [`ROWS`] (position, query head) rows of one KV head and streams K/V tiles through
//! workgroup memory once for all of them; each row's head is split in two halves held in
//! registers by two threads. The tile size comes from the device's workgroup storage
//! limit; where even the smallest tile does not fit, [`plan`] says so and the caller runs
//! the one-row-per-workgroup path of attention.wgsl.

/// Widest head of this path (two halves of at most 16 vec4 in registers).
pub const MAX_HEAD_DIM: usize = 128;
/// Narrowest head of this path (narrower ones run the tiled path of attention.wgsl).
pub const MIN_HEAD_DIM: usize = 65;
/// Rows ((position, query head) pairs of one KV head) per workgroup: the shader's BQ.
pub const ROWS: usize = 64;
/// Keys per tile, largest first (the shader's BK, at most its MAX_BK).
const TILE_KEYS: [usize; 2] = [16, 8];

/// Workgroup storage of the shader for `bk` keys per tile and `h4` vec4 per half head:
/// the K and V tiles ([bk, 2 h4] vec4 each) and the partial scores ([2, bk, ROWS] f32).
fn storage_bytes(bk: usize, h4: usize) -> usize {
    2 * bk * 2 * h4 * 16 + 2 * bk * ROWS * 4
}

/// Override constants (BQ, BK, H4) for heads of `head_dim` (= v_head_dim) under a
/// workgroup storage limit and an invocation limit; `None` where the head is outside
/// [MIN_HEAD_DIM, MAX_HEAD_DIM] or no tile fits.
pub fn plan(
    head_dim: usize,
    max_storage: u32,
    max_invocations: u32,
) -> Option<[(&'static str, f64); 3]> {
    if !(MIN_HEAD_DIM..=MAX_HEAD_DIM).contains(&head_dim) || 2 * ROWS > max_invocations as usize {
        return None;
    }
    let h4 = head_dim.div_ceil(8);
    let bk = TILE_KEYS
        .into_iter()
        .find(|&bk| storage_bytes(bk, h4) <= max_storage as usize)?;
    Some([("BQ", ROWS as f64), ("BK", bk as f64), ("H4", h4 as f64)])
}
