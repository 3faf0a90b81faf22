//! Causal GQA attention with optional sliding window + sinks, against the KV cache and the
//! fresh rows of this call (shaders/attention.wgsl): the prefill kernel (any T >= 1).
//! head_dim = v_head_dim <= 64 runs the tiled (flash-attention style) path: 32 (position,
//! head) rows of one KV head per workgroup, K/V tiles staged in workgroup memory; other
//! heads with dh <= 128 and dv <= 256 (dv = dh from 65, or dv != dh) run
//! attention_tiled.wgsl (ops/attention_tiled.rs) where the device's workgroup storage holds
//! its tiles; the others run the one-row-per-workgroup path of the same shader. Where the
//! device has f16 cooperative matrices (tensor cores, [`crate::caps::Caps::coop_f16`]) and
//! the heads are multiples of 16 from 64 to 256, attention without sinks or hidden keys
//! runs attention_coop.wgsl (ops/attention_coop.rs) instead of all but the dh = dv <= 64
//! tiled path.

use super::qkv::QkvLayout;
use super::{attention_coop, attention_tiled};
use super::{ensure, need, u};
use crate::dispatch::{fold, Dispatch};
use crate::{Gpu, Kernel, Result};

/// Widest head of the tiled path (its q and output live in registers as vec4).
pub const TILED_MAX_HEAD_DIM: usize = 64;
/// Rows ((position, query head) pairs of one KV head) per workgroup of the tiled path.
pub const TILED_ROWS: usize = 32;
/// Threads per row of the tiled path, each with its own keys of every tile.
pub const TILED_SPLITS: usize = 8;

/// Override constants of the tiled path for `head_dim`: DH4 = ceil(dh / 4) vec4 per head,
/// R = ceil(DH4 / 8) rows of 8 vec4 per staged key, tiles of BK = 32 / R keys (K and V
/// 4 KiB each), KPT = BK / SPLITS keys per thread and tile, WG = 32 * SPLITS threads
/// ([`TILED_ROWS`] is the shader's BQ).
fn tiled_constants(head_dim: usize) -> [(&'static str, f64); 5] {
    let dh4 = head_dim.div_ceil(4);
    let bk = 32 / dh4.div_ceil(8);
    [
        ("WIDE", 0.0),
        ("WG", (TILED_ROWS * TILED_SPLITS) as f64),
        ("DH4", dh4 as f64),
        ("SPLITS", TILED_SPLITS as f64),
        ("KPT", (bk / TILED_SPLITS) as f64),
    ]
}

crate::params::params! {
    /// Mirrors `Params` of attention.wgsl.
    pub struct AttentionParams {
        pub t: u32,
        pub stride: u32,
        pub k_off: u32,
        pub v_off: u32,
        pub n_heads: u32,
        pub n_kv_heads: u32,
        pub head_dim: u32,
        pub window: u32,
        pub sinks: u32,
        pub ring: u32,
        pub out_stride: u32,
        pub scale: f32,
        pub v_head_dim: u32,
        pub hide_lo: u32,
        pub hide_hi: u32,
        pub _pad2: u32,
    }
}

/// What a query sees beyond causality and the cache layout (interventions,
/// `hybrid_core::intervene`): a window imposed in place of the layout's own (the cache must
/// hold its keys: a flat cache, or a ring at least as wide), and one hidden key range
/// [from, to) (a query still sees its own key). `KeyView::default()` changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyView {
    pub window: Option<usize>,
    pub hide: Option<(usize, usize)>,
}

impl KeyView {
    /// The shaders' `window` (0: full causal): the imposed window, else the layout's.
    pub fn window(&self, layout: &CacheLayout) -> usize {
        self.window.or(layout.window).unwrap_or(0)
    }

    /// The shaders' [hide_lo, hide_hi) (empty: [0, 0)), positions past u32 clamped.
    pub fn hide(&self) -> (u32, u32) {
        let c = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        self.hide.map_or((0, 0), |(a, b)| (c(a), c(b)))
    }
}

/// Where the KV cache keeps position s: s, or with a window a ring after the sinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLayout {
    /// Sliding window (None = full causal).
    pub window: Option<usize>,
    /// Sink tokens (with a window).
    pub sinks: usize,
}

impl CacheLayout {
    /// Ring rows after the sinks: the window w (at least 1); 0 without a window (a flat
    /// cache: the shaders' `slot` tests it). A later query sees at most w - 1 of the keys
    /// before it; the one row more is the slot of key s - w, which no query from s on sees,
    /// so a decode step appends key s there before its attention (in the q|k|v matvec).
    pub fn ring(&self) -> usize {
        self.window.map_or(0, |w| w.max(1))
    }
    /// Rows the cache needs for a context of `max_ctx` tokens: all of them without a
    /// window, else `sinks + ring()` (what a later query can still see, and the slot the
    /// next key goes to).
    pub fn rows(&self, max_ctx: usize) -> usize {
        match self.window {
            None => max_ctx,
            Some(_) => self.sinks + self.ring(),
        }
    }
}

/// q, k, v in qkv [T, stride] (q at column 0) -> out [T, out_stride] (heads concatenated).
#[derive(Debug, Clone, Copy)]
pub struct Attention {
    pub t: usize,
    pub stride: usize,
    pub k_off: usize,
    pub v_off: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    /// dh: q/k head size.
    pub head_dim: usize,
    /// dv: v head size (the width of each head's output).
    pub v_head_dim: usize,
    pub layout: CacheLayout,
    /// An imposed window and hidden keys (interventions).
    pub view: KeyView,
    /// Rows of the cache buffers.
    pub cache_rows: usize,
    pub out_stride: usize,
}

impl Attention {
    /// What it reads of qkv and the caches.
    fn qkv(&self) -> QkvLayout {
        QkvLayout {
            rows: self.t,
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
        out: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let s = *self;
        let dims_ok = |d: usize| (1..=256).contains(&d);
        ensure(
            s.t > 0 && dims_ok(s.head_dim) && dims_ok(s.v_head_dim),
            label,
            || {
                format!(
                    "T = {}, head_dim = {}, v_head_dim = {}: want T >= 1, head sizes in 1..=256",
                    s.t, s.head_dim, s.v_head_dim
                )
            },
        )?;
        s.qkv().check(label, &s, qkv, Some((k_cache, v_cache)))?;
        need(label, pos, 1, "pos")?;
        need(
            label,
            out,
            (s.t - 1) * s.out_stride + s.n_heads * s.v_head_dim,
            "out",
        )?;
        let (hide_lo, hide_hi) = s.view.hide();
        let params = AttentionParams {
            t: u(label, s.t)?,
            stride: u(label, s.stride)?,
            k_off: u(label, s.k_off)?,
            v_off: u(label, s.v_off)?,
            n_heads: u(label, s.n_heads)?,
            n_kv_heads: u(label, s.n_kv_heads)?,
            head_dim: u(label, s.head_dim)?,
            window: u(label, s.view.window(&s.layout))?,
            sinks: u(label, s.layout.sinks)?,
            ring: u(label, s.layout.ring())?,
            out_stride: u(label, s.out_stride)?,
            scale: 1.0 / (s.head_dim as f32).sqrt(),
            v_head_dim: u(label, s.v_head_dim)?,
            hide_lo,
            hide_hi,
            _pad2: 0,
        };
        let tiled = tiled_constants(s.head_dim);
        // attention.wgsl's tiled path holds q and the output in the same registers
        let same = s.v_head_dim == s.head_dim;
        let wide_tiles = attention_tiled::plan(
            s.head_dim,
            s.v_head_dim,
            gpu.limits.max_compute_workgroup_storage_size,
            gpu.limits.max_compute_invocations_per_workgroup,
        );
        // tensor cores: causal or windowed attention without sinks or hidden keys
        let coop = attention_coop::plan(&gpu.caps, &gpu.limits, s.head_dim, s.v_head_dim)
            .filter(|_| s.layout.sinks == 0 && s.view.hide.is_none());
        let g = s.n_heads / s.n_kv_heads;
        let rows = u(label, s.t * g)?;
        // attention.wgsl's tiled path first: at dh = dv <= 64 it is as fast as the tensor
        // cores' two passes (H200: playground heads of 32 went 91 -> 198 ms for a 16K
        // prefill on attention_coop)
        let (kernel, constants, grid): (_, &[(&'static str, f64)], _) =
            if s.head_dim <= TILED_MAX_HEAD_DIM && same {
                let grid = [u(label, s.n_kv_heads)?, rows.div_ceil(TILED_ROWS as u32)];
                (Kernel::Attention, &tiled, grid)
            } else if let Some(c) = &coop {
                let grid = [u(label, s.n_kv_heads)?, rows.div_ceil(c.rows as u32)];
                (Kernel::AttentionCoop, &c.constants, grid)
            } else if let Some(c) = &wide_tiles {
                let grid = [
                    u(label, s.n_kv_heads)?,
                    rows.div_ceil(attention_tiled::ROWS as u32),
                ];
                (Kernel::AttentionTiled, c, grid)
            } else {
                let grid = [u(label, s.n_heads)?, u(label, s.t)?];
                (Kernel::Attention, &[("WIDE", 1.0), ("WG", 64.0)], grid)
            };
        Dispatch::new(
            gpu,
            label,
            kernel,
            constants,
            &params,
            &[pos, qkv, k_cache, v_cache],
            &[out],
            fold(gpu, label, grid)?,
        )
    }
}
