//! What a session allocates once: the activations of one chunk ([`Acts`], declared by one
//! table from which both the allocation and the memory accounting follow) and the state
//! of every block ([`LayerState`]: KV cache, conv and SSM state).

use hybrid_core::config::{AttnDims, MambaDims};
use hybrid_core::intervene::LayerPlan;
use hybrid_core::{LayerKind, ModelConfig};

use super::weights::GpuWeights;
use crate::ops::attention::CacheLayout;
use crate::ops::attention_split::{max_keys, splits_for};
use crate::ops::ssd::{Ssd, SsdScratch};
use crate::ops::ssm_scan::dt_edit_neutral;
use crate::{Gpu, Result};

/// How [`MemoryReport`](super::MemoryReport) counts a buffer of [`Acts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `activations`: what one chunk computes.
    Activation,
    /// `other`: token ids and the position, the inputs of a call.
    Input,
}

/// What the activations are sized for: a chunk of `cap` tokens and, per kind of layer,
/// the widest one.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sizes {
    /// Tokens per chunk.
    pub cap: usize,
    /// D: residual width.
    pub d: usize,
    /// F: FFN width.
    pub f: usize,
    /// V: vocabulary.
    pub v: usize,
    /// Rows of logits kept ([`logit_rows`]).
    pub logit_rows: usize,
    /// Hq*dh + Hkv*dh + Hkv*dv: a fused q|k|v row.
    pub qkv: usize,
    /// Hq*dv: the attention heads of one row.
    pub q: usize,
    /// Hq * (dv + 2): the split-K partials of one split.
    pub part: usize,
    /// Split-K splits per head of decode attention.
    pub splits: usize,
    /// 2E + 2GN + H: an in_proj row.
    pub in_proj: usize,
    /// E + 2GN: a conv row.
    pub conv: usize,
    /// E: a scan row.
    pub inner: usize,
    /// The chunked scan's scratch for `cap` tokens.
    pub ssd: SsdScratch,
}

/// The attention and Mamba-2 dims of block `i` of `cfg` (both for an intra block).
pub(crate) fn block_dims(cfg: &ModelConfig, i: usize) -> (Option<AttnDims>, Option<MambaDims>) {
    match cfg.layers.get(i) {
        Some(LayerKind::Attention) => (cfg.attn_dims(), None),
        Some(LayerKind::Mamba) => (None, cfg.mamba_dims()),
        Some(LayerKind::Intra) => (cfg.intra_attn_dims(), cfg.intra_mamba_dims()),
        None => (None, None),
    }
}

/// Where each block's KV cache keeps a position: its own window (`windows[i]`, else
/// `attention.window`) with the sinks, or, where an intervention (`plans[i]`; none when
/// `plans` is empty) imposes a wider window on a ring, a ring that wide (a flat cache
/// already holds every key).
pub(crate) fn cache_layouts(cfg: &ModelConfig, plans: &[LayerPlan]) -> Vec<CacheLayout> {
    let sinks = cfg.attention.as_ref().map_or(0, |a| a.sink_tokens);
    (0..cfg.layers.len())
        .map(|i| {
            let own = cfg.layer_window(i);
            let imposed = plans.get(i).and_then(|lp| lp.window);
            let window = match (own, imposed) {
                (Some(w0), Some(w)) => Some(w0.max(w)),
                (own, _) => own,
            };
            CacheLayout { window, sinks }
        })
        .collect()
}

/// Split-K splits per head of decode attention: the grid is sized for the most keys any
/// attention layer can see within `max_context`.
pub(crate) fn decode_splits(
    cfg: &ModelConfig,
    layouts: &[CacheLayout],
    max_context: usize,
) -> usize {
    let keys = layouts
        .iter()
        .zip(&cfg.layers)
        .filter(|(_, k)| matches!(k, LayerKind::Attention | LayerKind::Intra))
        .map(|(l, _)| max_keys(l, max_context))
        .max()
        .unwrap_or(1);
    splits_for(keys)
}

impl Sizes {
    /// The sizes of `cfg` with chunks of `cap` tokens, `splits` splits.
    pub fn of(cfg: &ModelConfig, cap: usize, splits: usize) -> Self {
        let mut s = Sizes {
            cap,
            d: cfg.d_model,
            f: cfg.d_ffn,
            v: cfg.vocab_size,
            logit_rows: logit_rows(cap, cfg.vocab_size),
            splits,
            ..Default::default()
        };
        for i in 0..cfg.layers.len() {
            let (a, m) = block_dims(cfg, i);
            if let Some(a) = a {
                s.qkv = s.qkv.max(a.q_dim() + a.kv_row());
                s.q = s.q.max(a.o_dim());
                s.part = s.part.max(a.n_heads * (a.v_head_dim + 2));
            }
            if let Some(m) = m {
                s.in_proj = s.in_proj.max(m.in_proj_dim());
                s.conv = s.conv.max(m.conv_dim());
                s.inner = s.inner.max(m.d_inner());
                // chunked-scan scratch, the largest over the Mamba layers
                let x = Ssd { t: cap, dims: m }.scratch();
                s.ssd.states = s.ssd.states.max(x.states);
                s.ssd.dtc = s.ssd.dtc.max(x.dtc);
            }
        }
        s
    }
}

/// Most bytes of logits a session holds: 64 MiB.
pub(crate) const LOGITS_BYTES: usize = 64 << 20;

/// Rows of logits a session with chunks of `cap` tokens keeps for a vocabulary of `v`:
/// a prefill needs one row (the last token's), `prefill_all` one per token, so it runs in
/// chunks of at most this many tokens: `cap`, down to what fits [`LOGITS_BYTES`] (64 rows
/// of a 256K vocabulary; [4096, 100K] f32 would be 1.5 GiB).
pub(crate) fn logit_rows(cap: usize, v: usize) -> usize {
    cap.min(LOGITS_BYTES / (4 * v.max(1))).max(1)
}

/// Declares [`Acts`] from one table of `field: kind, label, |sizes| floats;` rows: the
/// struct, its allocation and its byte count by [`Kind`] all follow from the table, so a
/// new activation buffer is one row.
macro_rules! acts {
    ($( $(#[$doc:meta])* $field:ident: $kind:ident, $label:literal, |$s:ident| $floats:expr; )*) => {
        /// Activations for one chunk of `cap` tokens. Shapes are per row; widths are the
        /// largest over the layers.
        #[derive(Debug)]
        pub(crate) struct Acts {
            $( $(#[$doc])* pub $field: wgpu::Buffer, )*
        }

        impl Acts {
            /// Allocate every buffer of the table, in its order (COPY_SRC: any of them
            /// can be read back).
            pub(crate) fn new(gpu: &Gpu, sizes: &Sizes) -> Result<Self> {
                Ok(Acts {
                    $( $field: {
                        let $s = sizes;
                        let bytes = (($floats) * 4) as u64;
                        gpu.storage($label, bytes, wgpu::BufferUsages::COPY_SRC)?
                    }, )*
                })
            }

            /// (label, kind, bytes) of every buffer [`Acts::new`] allocates for `sizes`,
            /// without allocating (memory estimates).
            pub(crate) fn planned(sizes: &Sizes) -> Vec<(&'static str, Kind, u64)> {
                vec![$( ($label, Kind::$kind, {
                    let $s = sizes;
                    ((($floats) * 4) as u64).max(4).next_multiple_of(4)
                }), )*]
            }

            /// Bytes of the buffers the table counts as `kind`.
            pub(crate) fn bytes(&self, kind: Kind) -> u64 {
                let mut n = 0;
                $( if Kind::$kind == kind { n += self.$field.size(); } )*
                n
            }
        }
    };
}

acts! {
    /// [cap] u32 token ids (row 0 also receives `step_argmax`'s token).
    tokens: Input, "tokens", |s| s.cap;
    /// [4] u32: pos0 of the current call.
    pos: Input, "pos", |_s| 4;
    /// [cap, D] residual stream.
    x: Activation, "x (residual)", |s| s.cap * s.d;
    /// [cap, D] normed residual.
    h: Activation, "h (normed)", |s| s.cap * s.d;
    /// [cap, Hq*dh + Hkv*dh + Hkv*dv] fused q|k|v.
    qkv: Activation, "qkv", |s| s.cap * s.qkv;
    /// [cap, Hq*dv] attention heads.
    att: Activation, "attention heads", |s| s.cap * s.q;
    /// [cap, Hq*dv] normed attention branch (intra).
    att_n: Activation, "attention heads normed", |s| s.cap * s.q;
    /// [Hq, splits, dv + 2] split-K attention partials of a decode step (o | m | l).
    att_part: Activation, "attention split partials", |s| (s.splits * s.part).max(1);
    /// [cap, 2E + 2GN + H] in_proj output.
    proj: Activation, "in_proj out", |s| s.cap * s.in_proj;
    /// [cap, E + 2GN] conv output.
    xbc: Activation, "conv out", |s| s.cap * s.conv;
    /// [cap, E] gated scan output.
    y: Activation, "scan out", |s| s.cap * s.inner;
    /// [cap, E] normed scan output.
    yn: Activation, "scan out normed", |s| s.cap * s.inner;
    /// [ceil(cap / 32), H, P, N] chunked-scan scratch: per-chunk states (ops::ssd).
    ssd_states: Activation, "chunked scan states", |s| s.ssd.states;
    /// [cap, H, 2] chunked-scan scratch: dt | within-chunk cumulative dt A (ops::ssd).
    ssd_dtc: Activation, "chunked scan dt | cum", |s| s.ssd.dtc;
    /// [cap, 2F] gate|up.
    gu: Activation, "gate|up", |s| s.cap * 2 * s.f;
    /// [cap, F] SwiGLU activation.
    act: Activation, "swiglu", |s| s.cap * s.f;
    /// [logit_rows, V] logits.
    logits: Activation, "logits", |s| s.logit_rows * s.v;
    /// [groups, MAX_K, 2] top-k candidates of each slice of the logits (ops::topk).
    topk_slices: Activation, "top-k of slices", |s| crate::ops::topk::scratch_words(s.v);
    /// [MAX_K, 2] the top-k (id, logit) of the last row.
    topk: Activation, "top-k", |_s| 2 * crate::ops::topk::MAX_K;
}

/// Per-block state buffers.
#[derive(Debug)]
pub(crate) struct LayerState {
    /// Where this block's KV cache keeps a position (its own window).
    pub layout: CacheLayout,
    /// K [rows, Hkv*dh] and V [rows, Hkv*dv] caches and their row count.
    pub kv: Option<(wgpu::Buffer, wgpu::Buffer, usize)>,
    /// Conv state [W-1, C] and SSM state [H, P, N].
    pub ssm: Option<(wgpu::Buffer, wgpu::Buffer)>,
    /// With the SSM state: the dt edits of the interventions [3, H] (k | m | freeze row,
    /// `ops::ssm_scan::dt_edit_neutral` until the session writes others).
    pub dt_edit: Option<wgpu::Buffer>,
}

impl LayerState {
    /// The state of every block of `w`: a KV cache with the rows its layout
    /// (`layouts[i]`) needs for `max_context` tokens where there is attention, conv and
    /// SSM state where there is a Mamba mixer.
    pub fn alloc(
        gpu: &Gpu,
        w: &GpuWeights,
        layouts: &[CacheLayout],
        max_context: usize,
    ) -> Result<Vec<Self>> {
        let mut layers = Vec::with_capacity(w.blocks.len());
        for (i, b) in w.blocks.iter().enumerate() {
            let (a, m) = b.mixer.dims();
            let layout = layouts.get(i).copied().unwrap_or(CacheLayout {
                window: None,
                sinks: 0,
            });
            let kv = match a {
                Some(a) => {
                    let rows = layout.rows(max_context).max(1);
                    let none = wgpu::BufferUsages::empty();
                    let k_bytes = (rows * a.k_dim() * 4) as u64;
                    let v_bytes = (rows * a.v_dim() * 4) as u64;
                    let k = gpu.storage(&format!("layers.{i} k cache"), k_bytes, none)?;
                    let v = gpu.storage(&format!("layers.{i} v cache"), v_bytes, none)?;
                    Some((k, v, rows))
                }
                None => None,
            };
            let dt_edit = match m {
                Some(m) => {
                    Some(gpu.upload(&format!("layers.{i} dt edit"), &dt_edit_neutral(m.n_heads))?)
                }
                None => None,
            };
            let ssm = match m {
                Some(m) => Some((
                    gpu.storage(
                        &format!("layers.{i} conv state"),
                        (m.conv_state_len() * 4) as u64,
                        wgpu::BufferUsages::empty(),
                    )?,
                    // COPY_SRC: probes run the recurrence on a copy of it
                    gpu.storage(
                        &format!("layers.{i} ssm state"),
                        (m.ssm_state_len() * 4) as u64,
                        wgpu::BufferUsages::COPY_SRC,
                    )?,
                )),
                None => None,
            };
            layers.push(LayerState {
                layout,
                kv,
                ssm,
                dt_edit,
            });
        }
        Ok(layers)
    }

    /// Zero the conv and SSM state (the KV cache needs no clearing: rows are written
    /// before they are read).
    pub fn clear(&self, enc: &mut wgpu::CommandEncoder) {
        if let Some((conv, ssm)) = &self.ssm {
            enc.clear_buffer(conv, 0, None);
            enc.clear_buffer(ssm, 0, None);
        }
    }
}
