//! What a one-token matvec fuses beside its product (`EPILOGUE` of shaders/matvec.wgsl),
//! so that the op next to a projection needs no dispatch of its own:
//!
//! - [`Epilogue::RopeKv`]: y is the q|k|v row of an attention layer: RoPE on its q and k
//!   heads (as [`Rope`](super::rope::Rope)) and the k and v rows appended at the cache
//!   slot of `pos` (as [`KvStore`](super::kv_store::KvStore)); in a ring cache (window w,
//!   w rows: [`CacheLayout::ring`]) that slot held key pos - w, which no query from pos
//!   on sees, so the append can run before attention.
//! - [`Epilogue::Conv`]: y is the in_proj row of a Mamba-2 mixer: the conv + SiLU of its
//!   x|B|C channels into `xbc`, the conv state shifted (as [`Conv1d`](super::conv1d::Conv1d)
//!   for one row).
//! - [`Epilogue::Pair`]: a second product of the same x in the same dispatch (matvec_sg
//!   only, whose bindings include its buffers): an intra block's q|k|v row with RopeKv and
//!   its Mamba branch's in_proj row with Conv.
//! - [`Epilogue::Combine`]: a prologue: x is the split-K attention partials, merged as the
//!   matvec stages x (as [`AttentionCombine`](super::attention_combine::AttentionCombine)),
//!   for the o_proj of a session whose attention uses few splits.

use super::attention::CacheLayout;
use super::qkv::QkvLayout;
use super::{ensure, need, u};
use crate::Result;

/// The q|k|v row the RoPE + KV append epilogue reads (columns of y): Hq q heads and Hkv k
/// heads of `head_dim` at 0 and `k_off`, Hkv v heads of `v_head_dim` at `v_off`.
#[derive(Debug, Clone, Copy)]
pub struct RopeKvDims {
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub v_head_dim: usize,
    pub k_off: usize,
    pub v_off: usize,
    /// Dims rotated per head (even, <= head_dim; 0: none).
    pub rot: usize,
    pub theta: f32,
}

/// The K and V caches the q|k|v epilogue appends to: `rows` rows laid out as `layout`.
#[derive(Debug, Clone, Copy)]
pub struct KvCache<'a> {
    pub k: &'a wgpu::Buffer,
    pub v: &'a wgpu::Buffer,
    pub rows: usize,
    pub layout: CacheLayout,
}

/// What the epilogue reads and writes beyond x, w, g and y.
#[derive(Debug, Clone, Copy)]
pub enum Epilogue<'a> {
    None,
    /// RoPE at position pos[0]; with `cache` the append.
    RopeKv {
        dims: RopeKvDims,
        pos: &'a wgpu::Buffer,
        cache: Option<KvCache<'a>>,
    },
    /// conv over the `channels` x|B|C columns from `off`: weight [C, W], bias [C],
    /// state [W-1, C] (read and shifted), out [C].
    Conv {
        off: usize,
        channels: usize,
        width: usize,
        w: &'a wgpu::Buffer,
        b: &'a wgpu::Buffer,
        state: &'a wgpu::Buffer,
        out: &'a wgpu::Buffer,
    },
    /// A second product in the same dispatch (matvec_sg only): the matvec's rows with
    /// `first` (a RopeKv), and the `n2` rows of `w2` (same K, stride, offset and format)
    /// into `y2` with `second` (a Conv); both plain.
    Pair {
        first: &'a Epilogue<'a>,
        w2: &'a wgpu::Buffer,
        y2: &'a wgpu::Buffer,
        n2: usize,
        second: &'a Epilogue<'a>,
    },
    /// Before the product (so a prologue, beside the epilogues for its one switch): x is
    /// the split-K partials [K / part_dim heads, splits, part_dim + 2] of
    /// [`AttentionSplit`](super::attention_split::AttentionSplit), merged while x is
    /// staged (as [`AttentionCombine`](super::attention_combine::AttentionCombine)); at
    /// most [`MAX_COMBINED_SPLITS`] splits, since every workgroup merges them all.
    Combine {
        part_dim: usize,
        splits: usize,
    },
}

/// Most splits a matvec merges in its prologue (a session for a short context: at 16, 512
/// keys; a longer one runs attention_combine on its own).
pub const MAX_COMBINED_SPLITS: usize = 16;

/// The epilogue's part of the shader's params, in its field order (head_dim, rot, k_off,
/// v_off, k_dim, v_dim, theta, store, conv_off, channels, width, part_dim, splits, sinks,
/// ring, n2).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct EpilogueParams {
    pub code: u32,
    pub head_dim: u32,
    pub rot: u32,
    pub k_off: u32,
    pub v_off: u32,
    pub k_dim: u32,
    pub v_dim: u32,
    pub theta: f32,
    pub store: u32,
    pub conv_off: u32,
    pub channels: u32,
    pub width: u32,
    pub part_dim: u32,
    pub splits: u32,
    pub sinks: u32,
    pub ring: u32,
    pub n2: u32,
}

/// What an epilogue needs to know of its matvec (ops/matvec.rs builds it; a struct of its
/// own so that this module does not import matvec.rs, which imports it).
#[derive(Debug, Clone, Copy)]
pub(super) struct Product {
    /// Outputs N and reduction length K.
    pub n: usize,
    pub k: usize,
    /// First column of x read.
    pub x_off: usize,
    /// y from column 0, no GLU, no accumulation.
    pub plain: bool,
    /// K fits the matvec's staged x (`matvec::MAX_K`).
    pub staged: bool,
}

impl Epilogue<'_> {
    /// Check it against the matvec `mv` (x, y its buffers) and give its params. RopeKv
    /// and Conv need a plain product (y from column 0, no GLU, no accumulation).
    pub(super) fn params(
        &self,
        label: &str,
        mv: &Product,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
    ) -> Result<EpilogueParams> {
        let base = EpilogueParams::default();
        let n = mv.n;
        let plain = mv.plain;
        if let Epilogue::RopeKv { .. } | Epilogue::Conv { .. } | Epilogue::Pair { .. } = self {
            ensure(plain, label, || {
                "an epilogue needs a plain product (y from 0, no GLU, no accumulation)".into()
            })?;
        }
        match *self {
            Epilogue::None => Ok(base),
            Epilogue::Pair {
                first,
                y2,
                n2,
                second,
                ..
            } => {
                ensure(
                    matches!(first, Epilogue::RopeKv { .. })
                        && matches!(second, Epilogue::Conv { .. })
                        && n2 > 0,
                    label,
                    || "a pair is a RopeKv product and a Conv product of n2 > 0 rows".into(),
                )?;
                let a = first.params(label, mv, x, y)?;
                let b = second.params(label, &Product { n: n2, ..*mv }, x, y2)?;
                Ok(EpilogueParams {
                    code: 4,
                    conv_off: b.conv_off,
                    channels: b.channels,
                    width: b.width,
                    n2: u(label, n2)?,
                    ..a
                })
            }
            Epilogue::Combine { part_dim, splits } => {
                let k = mv.k;
                ensure(
                    part_dim > 0
                        && k.is_multiple_of(part_dim)
                        && mv.staged
                        && mv.x_off == 0
                        && (1..=MAX_COMBINED_SPLITS).contains(&splits),
                    label,
                    || {
                        format!(
                            "combine needs K = heads * {part_dim} within the staged x, x from 0 and \
                             1..={MAX_COMBINED_SPLITS} splits (got {splits}): {mv:?}"
                        )
                    },
                )?;
                need(label, x, k / part_dim * splits * (part_dim + 2), "partials")?;
                Ok(EpilogueParams {
                    code: 3,
                    part_dim: u(label, part_dim)?,
                    splits: u(label, splits)?,
                    ..base
                })
            }
            Epilogue::RopeKv { dims, pos, cache } => {
                let d = dims;
                let layout = QkvLayout {
                    rows: 1,
                    stride: n,
                    q_heads: d.n_heads,
                    kv_heads: d.n_kv_heads,
                    head_dim: d.head_dim,
                    v_head_dim: d.v_head_dim,
                    k_off: d.k_off,
                    v_off: Some(d.v_off),
                    cache_rows: cache.map(|c| c.rows),
                };
                layout.check(label, &d, y, cache.map(|c| (c.k, c.v)))?;
                // the slot of any position lies inside a ring cache
                let ring = cache.map_or(0, |c| c.layout.ring());
                let sinks = cache.map_or(0, |c| c.layout.sinks);
                if let Some(c) = cache.filter(|c| c.layout.window.is_some()) {
                    ensure(sinks + ring <= c.rows, label, || {
                        format!(
                            "a ring of {sinks} + {ring} rows exceeds the {} cache rows",
                            c.rows
                        )
                    })?;
                }
                need(label, pos, 1, "pos")?;
                ensure(
                    d.head_dim.is_multiple_of(2)
                        && d.rot.is_multiple_of(2)
                        && d.rot <= d.head_dim
                        && d.k_off == d.n_heads * d.head_dim,
                    label,
                    || format!("RoPE needs even dims, rot <= dh and k right after q: {d:?}"),
                )?;
                Ok(EpilogueParams {
                    code: 1,
                    head_dim: u(label, d.head_dim)?,
                    rot: u(label, d.rot)?,
                    k_off: u(label, d.k_off)?,
                    v_off: u(label, d.v_off)?,
                    k_dim: u(label, layout.k_dim())?,
                    v_dim: u(label, layout.v_dim())?,
                    theta: d.theta,
                    store: u32::from(cache.is_some()),
                    sinks: u(label, sinks)?,
                    ring: u(label, ring)?,
                    ..base
                })
            }
            Epilogue::Conv {
                off,
                channels,
                width,
                w,
                b,
                state,
                out,
            } => {
                ensure(channels > 0 && off + channels <= n, label, || {
                    format!("conv channels {off}..{} exceed {n} outputs", off + channels)
                })?;
                ensure(
                    (1..=super::conv1d::MAX_WIDTH).contains(&width),
                    label,
                    || format!("conv width {width} not in 1..={}", super::conv1d::MAX_WIDTH),
                )?;
                need(label, w, channels * width, "conv weight")?;
                need(label, b, channels, "conv bias")?;
                need(label, state, (width - 1) * channels, "conv state")?;
                need(label, out, channels, "conv out")?;
                Ok(EpilogueParams {
                    code: 2,
                    conv_off: u(label, off)?,
                    channels: u(label, channels)?,
                    width: u(label, width)?,
                    ..base
                })
            }
        }
    }
}

impl<'a> Epilogue<'a> {
    /// The inputs after x, w, g (aux, aux_b, and matvec_sg's w_b, conv_w) and the outputs
    /// after y (out_a, out_b, and matvec_sg's y_b, conv_state, conv_out); matvec.wgsl binds
    /// the first two of each. `x` stands in for unused inputs, `spare` for unused outputs
    /// (writable bindings must not alias).
    pub(super) fn buffers(
        &self,
        x: &'a wgpu::Buffer,
        spare: [&'a wgpu::Buffer; 5],
    ) -> ([&'a wgpu::Buffer; 4], [&'a wgpu::Buffer; 5]) {
        let [s0, s1, s2, s3, s4] = spare;
        match *self {
            Epilogue::None | Epilogue::Combine { .. } => ([x; 4], spare),
            Epilogue::RopeKv { pos, cache, .. } => {
                let [k, v] = cache.map_or([s0, s1], |c| [c.k, c.v]);
                ([pos, x, x, x], [k, v, s2, s3, s4])
            }
            Epilogue::Conv {
                w, b, state, out, ..
            } => ([w, b, x, x], [state, out, s2, s3, s4]),
            Epilogue::Pair {
                first,
                w2,
                y2,
                second,
                ..
            } => {
                let ([pos, ..], [k, v, ..]) = first.buffers(x, spare);
                let ([cw, cb, ..], [state, out, ..]) = second.buffers(x, spare);
                ([pos, cb, w2, cw], [k, v, y2, state, out])
            }
        }
    }
}
