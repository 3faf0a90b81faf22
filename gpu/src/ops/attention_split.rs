//! Split-K ("flash-decoding") attention for one query row (decode, T = 1): online-softmax
//! partials per (head, split) over contiguous slices of the visible keys
//! (shaders/attention_split.wgsl); [`AttentionCombine`](super::attention_combine) merges
//! them. Same visibility rules as [`Attention`](super::attention::Attention).
//!
//! The grid is sized once for the most keys a step can see (`max_keys`); the shader reads
//! the position from the `pos` buffer, uses `clamp(ceil(n / 32), 1, splits)` slices of
//! the n visible keys (32 keys each while the grid has enough splits), and the splits
//! beyond those write neutral partials (m = -3e38, l = 0, o = 0).
//!
//! A workgroup serves [`heads_per_wg`] query heads of one KV head (their K and V rows
//! are read once) and one split: grid (Hq / heads_per_wg, splits). Two kernels: where
//! the head sizes and the q|k|v columns are multiples of 4 (every config of assets/),
//! shaders/attention_split_vec4.wgsl (vec4 K/V reads, up to 8 query heads of a GQA group
//! per workgroup, 256-key tiles: made for long caches); else attention_split.wgsl. The
//! planner takes the vec4 kernel only for heads of [`VEC4_MIN_HEAD_DIM`]+ floats
//! ([`vec4_pays`]): for the playground's heads of 32 it is the slower one.

use super::attention::{CacheLayout, KeyView};
use super::qkv::QkvLayout;
use super::{ensure, need, u};
use crate::dispatch::{fold, Dispatch};
use crate::{Gpu, Kernel, Result};

/// Most splits per head (grid y; attention_combine.wgsl could merge up to 1024). On an
/// H100 at 16K keys, 64-1024 splits cost about the same in attention_split (the slices
/// of more than 32 keys are walked in 32-key tiles, the next one's loads in flight under
/// the current one's math) while the merge gets dearer with more; 128 keeps 32-key
/// slices up to 4096 keys.
pub const MAX_SPLITS: usize = 128;
/// Keys per split the shader aims for (`KEYS_PER_SPLIT` of attention_split.wgsl): a
/// slice has at most 32 keys while n <= 32 * splits, else ceil(n / splits).
pub const KEYS_PER_SPLIT: usize = 32;
/// Fewest keys per slice on a CPU adapter: one 256-key tile of attention_split_vec4.
pub const CPU_MIN_SLICE: usize = 256;
/// Smallest head (the larger of dh and dv) for which the planner takes
/// attention_split_vec4. On an H200 (docs/BENCHMARKS.md, session 9), each dispatch alone,
/// at 128 to 32K keys: heads of 32 (playground-transformer, groups of 2) 16.8 us vec4
/// against 9.3 us attention_split; heads of 128 (paper-transformer, groups of 4) 24.5
/// against 27 us, paper-intra 24 against 41 us, and at 32K the vec4 kernel is what takes
/// the 1B Transformer's step from 8.2 to 2.8 ms. Heads of 64 were not measured.
pub const VEC4_MIN_HEAD_DIM: usize = 64;
/// Most query heads per workgroup (`m_s` of attention_split.wgsl).
pub const MAX_HEADS_PER_WG: usize = 8;
/// Most floats of the queries of one workgroup (`q_s`): heads_per_wg * dh.
pub const MAX_WG_QUERY: usize = 256;

crate::params::params! {
    /// Mirrors `Params` of attention_split.wgsl.
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
        pub heads_per_wg: u32,
        pub v_head_dim: u32,
        pub hide_lo: u32,
        pub hide_hi: u32,
        pub min_slice: u32,
    }
}

/// Query heads per workgroup for `group` query heads per KV head of dim `head_dim`: the
/// largest divisor of `group` with at most [`MAX_HEADS_PER_WG`] heads and
/// heads * head_dim <= [`MAX_WG_QUERY`] (1 when head_dim > 128).
pub fn heads_per_wg(group: usize, head_dim: usize) -> usize {
    (1..=group.min(MAX_HEADS_PER_WG))
        .rev()
        .find(|&k| group.is_multiple_of(k) && k * head_dim <= MAX_WG_QUERY)
        .unwrap_or(1)
}

/// Query heads per workgroup of attention_split_vec4.wgsl for `group` query heads per KV
/// head of q/k dim `head_dim`: the largest divisor of `group` of at most 4, or of at most
/// [`MAX_HEADS_PER_WG`] where head_dim <= 128 (its query slots: 4 of 256 floats or 8 of
/// 128).
pub fn heads_per_wg_vec4(group: usize, head_dim: usize) -> usize {
    let most = if head_dim <= 128 { MAX_HEADS_PER_WG } else { 4 };
    (1..=group.min(most))
        .rev()
        .find(|&k| group.is_multiple_of(k))
        .unwrap_or(1)
}

/// The fewest keys per slice on `gpu`: [`KEYS_PER_SPLIT`] on a GPU (many small slices fill
/// its cores), [`CPU_MIN_SLICE`] on a CPU adapter (lavapipe, SwiftShader: a workgroup
/// costs there per barrier, not per key, so fewer, longer slices).
pub fn min_slice_for(gpu: &Gpu) -> usize {
    if gpu.info.device_type == wgpu::DeviceType::Cpu {
        CPU_MIN_SLICE
    } else {
        KEYS_PER_SPLIT
    }
}

/// Whether the planner takes attention_split_vec4 for heads of `head_dim` (q/k) and
/// `v_head_dim` (v) floats: when the larger is at least [`VEC4_MIN_HEAD_DIM`].
pub fn vec4_pays(head_dim: usize, v_head_dim: usize) -> bool {
    head_dim.max(v_head_dim) >= VEC4_MIN_HEAD_DIM
}

/// Splits in the grid for at most `max_keys` visible keys:
/// clamp(ceil(max_keys / 32), 1, 128).
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

/// q, k, v in qkv [1, stride] (q at column 0) -> partials [Hq, splits, dv + 2].
#[derive(Debug, Clone, Copy)]
pub struct AttentionSplit {
    pub stride: usize,
    pub k_off: usize,
    pub v_off: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    /// dh: q/k head size.
    pub head_dim: usize,
    /// dv: v head size.
    pub v_head_dim: usize,
    pub layout: CacheLayout,
    /// An imposed window and hidden keys (interventions).
    pub view: KeyView,
    /// Rows of the cache buffers.
    pub cache_rows: usize,
    /// Splits per head in the grid and in the partials buffer ([`splits_for`]).
    pub splits: usize,
    /// Fewest keys in a split's slice (attention_split_vec4: the step uses
    /// clamp(ceil(n / min_slice), 1, splits) splits; attention_split's slices have
    /// [`KEYS_PER_SPLIT`]): [`min_slice_for`].
    pub min_slice: usize,
    /// Take attention_split_vec4 where the shapes allow it ([`Self::kernel`]); false:
    /// always attention_split. The planner: [`vec4_pays`].
    pub vec4: bool,
}

impl AttentionSplit {
    /// What it reads of qkv (one row) and the caches.
    fn qkv(&self) -> QkvLayout {
        QkvLayout {
            rows: 1,
            stride: self.stride,
            q_heads: self.n_heads,
            kv_heads: self.n_kv_heads,
            head_dim: self.head_dim,
            v_head_dim: self.v_head_dim,
            k_off: self.k_off,
            v_off: Some(self.v_off),
            cache_rows: Some(self.cache_rows),
        }
    }

    /// The kernel that runs it: attention_split_vec4 where `vec4` is set, dh, dv and the
    /// k and v columns of qkv are multiples of 4 (every read a vec4) and each cache holds
    /// a vec4 (a ring of no rows is one float), else attention_split.
    pub fn kernel(&self, k_cache: &wgpu::Buffer, v_cache: &wgpu::Buffer) -> Kernel {
        let four = |x: usize| x.is_multiple_of(4);
        let dims = [self.head_dim, self.v_head_dim, self.k_off, self.v_off];
        let fits = dims.into_iter().all(four) && k_cache.size().min(v_cache.size()) >= 16;
        if self.vec4 && fits {
            Kernel::AttentionSplitVec4
        } else {
            Kernel::AttentionSplit
        }
    }

    /// Query heads per workgroup of `kernel`.
    fn heads_per_wg(&self, kernel: Kernel) -> usize {
        let group = self.n_heads / self.n_kv_heads.max(1);
        match kernel {
            Kernel::AttentionSplitVec4 => heads_per_wg_vec4(group, self.head_dim),
            // the queries (dh each) and the outputs (dv each) of a workgroup's heads fit
            _ => heads_per_wg(group, self.head_dim.max(self.v_head_dim)),
        }
    }

    /// Floats of the partials buffer: Hq * splits * (dv + 2).
    pub fn partials_len(&self) -> usize {
        self.n_heads * self.splits * (self.v_head_dim + 2)
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
        let dims_ok = |d: usize| (1..=256).contains(&d);
        ensure(dims_ok(s.head_dim) && dims_ok(s.v_head_dim), label, || {
            format!(
                "head_dim {}, v_head_dim {}: want 1..=256",
                s.head_dim, s.v_head_dim
            )
        })?;
        ensure((1..=MAX_SPLITS).contains(&s.splits), label, || {
            format!("splits {} not in 1..={MAX_SPLITS}", s.splits)
        })?;
        ensure(s.min_slice > 0, label, || "min_slice 0".to_string())?;
        s.qkv().check(label, &s, qkv, Some((k_cache, v_cache)))?;
        need(label, pos, 1, "pos")?;
        need(label, partials, s.partials_len(), "partials")?;
        let kernel = s.kernel(k_cache, v_cache);
        let hpw = s.heads_per_wg(kernel);
        let (hide_lo, hide_hi) = s.view.hide();
        let params = AttentionSplitParams {
            stride: u(label, s.stride)?,
            k_off: u(label, s.k_off)?,
            v_off: u(label, s.v_off)?,
            n_heads: u(label, s.n_heads)?,
            n_kv_heads: u(label, s.n_kv_heads)?,
            head_dim: u(label, s.head_dim)?,
            window: u(label, s.view.window(&s.layout))?,
            sinks: u(label, s.layout.sinks)?,
            ring: u(label, s.layout.ring())?,
            splits: u(label, s.splits)?,
            scale: 1.0 / (s.head_dim as f32).sqrt(),
            heads_per_wg: u(label, hpw)?,
            v_head_dim: u(label, s.v_head_dim)?,
            hide_lo,
            hide_hi,
            min_slice: u(label, s.min_slice)?,
        };
        let grid = fold(
            gpu,
            label,
            [u(label, s.n_heads / hpw)?, u(label, s.splits)?],
        )?;
        Dispatch::new(
            gpu,
            label,
            kernel,
            &[],
            &params,
            &[pos, qkv, k_cache, v_cache],
            &[partials],
            grid,
        )
    }
}
