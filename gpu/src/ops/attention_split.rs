//! Split-K ("flash-decoding") attention for one query row (decode, T = 1): online-softmax
//! partials per (head, split) over contiguous slices of the visible keys
//! (shaders/attention_split.wgsl); [`AttentionCombine`](super::attention_combine) merges
//! them. Same visibility rules as [`Attention`](super::attention::Attention).
//!
//! The grid is sized once for the most keys a step can see (`max_keys`); the shader reads
//! the position from the `pos` buffer, uses `clamp(ceil(n / 256), 1, splits)` slices of
//! the n visible keys, and the splits beyond those write neutral partials (m = -3e38,
//! l = 0, o = 0).

use super::attention::CacheLayout;
use super::{ensure, need, u};
use crate::dispatch::Dispatch;
use crate::{Gpu, Kernel, Result};

/// Most splits per head (grid y).
pub const MAX_SPLITS: usize = 64;
/// Keys per split the shader aims for (a split covers at least 64 keys once n >= 64).
pub const KEYS_PER_SPLIT: usize = 256;

/// Mirrors `Params` of attention_split.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct AttentionSplitParams {
    pub stride: u32,
    pub k_off: u32,
    pub v_off: u32,
    pub n_heads: u32,
    pub n_kv_heads: u32,
    pub head_dim: u32,
    pub window: u32,
    pub sinks: u32,
    pub ring: u32,
    pub splits: u32,
    pub scale: f32,
    pub _pad: u32,
}

/// Splits in the grid for at most `max_keys` visible keys:
/// clamp(ceil(max_keys / 256), 1, 64).
pub fn splits_for(max_keys: usize) -> usize {
    max_keys.div_ceil(KEYS_PER_SPLIT).clamp(1, MAX_SPLITS)
}

/// Most keys one query can see in a context of `max_context` tokens: all of them without
/// a window, else at most sinks + window.
pub fn max_keys(layout: &CacheLayout, max_context: usize) -> usize {
    match layout.window {
        None => max_context,
        Some(w) => layout.sinks + w,
    }
    .max(1)
}

/// q, k, v in qkv [1, stride] (q at column 0) -> partials [Hq, splits, dh + 2].
#[derive(Debug, Clone, Copy)]
pub struct AttentionSplit {
    pub stride: usize,
    pub k_off: usize,
    pub v_off: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub layout: CacheLayout,
    /// Rows of the cache buffers.
    pub cache_rows: usize,
    /// Splits per head in the grid and in the partials buffer ([`splits_for`]).
    pub splits: usize,
}

impl AttentionSplit {
    /// Floats of the partials buffer: Hq * splits * (dh + 2).
    pub fn partials_len(&self) -> usize {
        self.n_heads * self.splits * (self.head_dim + 2)
    }

    /// Check shapes and build the dispatch.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        pos: &wgpu::Buffer,
        qkv: &wgpu::Buffer,
        k_cache: &wgpu::Buffer,
        v_cache: &wgpu::Buffer,
        partials: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let s = *self;
        ensure(s.head_dim <= 256 && s.head_dim > 0, label, || {
            format!("head_dim {} > 256", s.head_dim)
        })?;
        ensure(
            s.n_kv_heads > 0 && s.n_heads.is_multiple_of(s.n_kv_heads),
            label,
            || "Hq % Hkv != 0".into(),
        )?;
        ensure((1..=MAX_SPLITS).contains(&s.splits), label, || {
            format!("splits {} not in 1..={MAX_SPLITS}", s.splits)
        })?;
        let kvd = s.n_kv_heads * s.head_dim;
        ensure(
            s.n_heads * s.head_dim <= s.k_off
                && s.k_off + kvd <= s.stride
                && s.v_off + kvd <= s.stride,
            label,
            || format!("q/k/v exceed the row: {s:?}"),
        )?;
        need(label, pos, 1, "pos")?;
        need(label, qkv, s.stride, "qkv")?;
        need(label, k_cache, s.cache_rows * kvd, "k cache")?;
        need(label, v_cache, s.cache_rows * kvd, "v cache")?;
        need(label, partials, s.partials_len(), "partials")?;
        let params = AttentionSplitParams {
            stride: u(label, s.stride)?,
            k_off: u(label, s.k_off)?,
            v_off: u(label, s.v_off)?,
            n_heads: u(label, s.n_heads)?,
            n_kv_heads: u(label, s.n_kv_heads)?,
            head_dim: u(label, s.head_dim)?,
            window: u(label, s.layout.window.unwrap_or(0))?,
            sinks: u(label, s.layout.sinks)?,
            ring: u(label, s.layout.ring())?,
            splits: u(label, s.splits)?,
            scale: 1.0 / (s.head_dim as f32).sqrt(),
            _pad: 0,
        };
        let grid = [u(label, s.n_heads)?, u(label, s.splits)?, 1];
        Dispatch::new(
            gpu,
            label,
            Kernel::AttentionSplit,
            &[],
            &params,
            &[pos, qkv, k_cache, v_cache],
            &[partials],
            grid,
        )
    }
}
