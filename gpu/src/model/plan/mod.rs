//! The forward pass as data: [`Planner::plan`] returns the list of dispatches for a chunk
//! of T tokens, top to bottom, mirroring `hybrid_core::cpu::model`. The session builds a
//! plan once per (T, all logits) and reuses it (the position comes from the `pos` buffer,
//! not from the params).
//!
//! The planner has its own input (the weights, the session's buffers, the cache layout)
//! and knows nothing of `Session`. With probe buffers ([`Planner::probes`]) the same
//! builder inserts the probe dispatches right after the ops whose activations they read
//! (`probe.rs`); without them it never binds a probe buffer.
//!
//! - `mod.rs`: [`Planner`], [`Phase`] (the one decode-vs-prefill choice), embed and head.
//! - `linear.rs`: projections, with the RMSNorm in front fused or not.
//! - `block.rs`: a block (mixer norm, mixer, FFN); `intra.rs`: the intra mixer's fusion.
//! - `mixer.rs`: the attention and Mamba-2 mixers; `probe.rs`: the probe hooks.
//!
//! Interventions (`hybrid_core::intervene`) enter through [`Planner::iv`], one `LayerPlan`
//! per block: a skipped mixer or FFN loses its residual add (the mixer still runs, so its
//! state stays as without), an intra branch's factor folds into its projection's alpha and
//! a dropped branch norm drops the norm in front of it, and an imposed window or hidden
//! keys go into the attention params ([`key_view`]). The dt edits and freezes are in each
//! Mamba block's `dt_edit` buffer and resets happen between submissions: the session
//! writes both (`session/intervene.rs`), so they need no plan of their own.

mod block;
mod intra;
mod linear;
mod mixer;
mod probe;

use hybrid_core::intervene::LayerPlan;
use hybrid_core::ModelConfig;

use super::acts::{Acts, LayerState};
use super::probes::ProbeBufs;
use super::weights::GpuWeights;
use crate::dispatch::Dispatch;
use crate::ops::attention::KeyView;
use crate::ops::embed::Embed;
use crate::ops::matmul::Matmul;
use crate::ops::matvec::Matvec;
use crate::{Gpu, GpuError, Result};
use linear::Src;

/// Which kernels a forward uses, chosen here and nowhere else, by the rows a product or
/// a chunk has:
///
/// | | `Decode` (one row) | `Prefill` (T > 1 rows) |
/// |---|---|---|
/// | projections | matvec, the RMSNorm before it fused in where it fits | RMSNorm dispatch, tiled matmul |
/// | FFN | norm + gate\|up + SwiGLU in one matvec, down | norm, gate\|up, SwiGLU, down |
/// | attention | split-K partials + merge | tiled attention |
/// | Mamba-2 scan | recurrence (ssm_scan) | chunked SSD (ssm_scan where P > 64) |
///
/// The LM head of a prefill that wants only the last row's logits is a one-row product,
/// hence a matvec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Decode,
    Prefill,
}

impl Phase {
    /// `Decode` for one row, `Prefill` for more.
    pub fn of(rows: usize) -> Self {
        if rows == 1 {
            Phase::Decode
        } else {
            Phase::Prefill
        }
    }

    /// Whether an RMSNorm over groups of `group` of `k` channels runs inside the matvec
    /// that reads it (decode, and the shader can hold the row) rather than on its own.
    pub fn fuses_norm(self, k: usize, group: usize) -> bool {
        self == Phase::Decode && Matvec::can_norm(k, group)
    }
}

/// Everything a plan reads and writes: the plan builder's whole input.
#[derive(Clone, Copy)]
pub(crate) struct Planner<'a> {
    pub gpu: &'a Gpu,
    pub config: &'a ModelConfig,
    pub weights: &'a GpuWeights,
    /// Activations of one chunk.
    pub acts: &'a Acts,
    /// KV cache (with its layout), conv and SSM state of each block.
    pub layers: &'a [LayerState],
    /// Split-K splits per head of decode attention.
    pub splits: usize,
    /// Probe hooks: with the probe buffers, the plan computes the probes too.
    pub probes: Option<&'a ProbeBufs>,
    /// The interventions: one plan per block (`Interventions::plan`).
    pub iv: &'a [LayerPlan],
}

/// What the attention of a block with plan `lp` sees beyond its own layout: the imposed
/// window and the hidden key ranges, merged into one range; the shaders take one, so
/// disjoint ranges in one block are an error.
pub(crate) fn key_view(lp: &LayerPlan) -> Result<KeyView> {
    let mut ranges = lp.hide.clone();
    ranges.sort_unstable();
    let mut hide: Option<(usize, usize)> = None;
    for (a, b) in ranges {
        hide = match hide {
            None => Some((a, b)),
            Some((lo, hi)) if a <= hi => Some((lo, hi.max(b))),
            Some((lo, hi)) => {
                return Err(GpuError::Unsupported(format!(
                    "the GPU engine hides one key range per layer: {lo}..{hi} and {a}..{b} \
                     do not touch (hide one range, or use the CPU engine)"
                )))
            }
        };
    }
    Ok(KeyView {
        window: lp.window,
        hide,
    })
}

impl Planner<'_> {
    /// Dispatches for T tokens; logits of every row (`all`) or of the last row only.
    pub fn plan(&self, t: usize, all: bool) -> Result<Vec<Dispatch>> {
        let cfg = self.config;
        let w = self.weights;
        let a = self.acts;
        let (d, v) = (cfg.d_model, cfg.vocab_size);
        let mut plan = Vec::new();
        let embed = Embed {
            t,
            d,
            vocab: v,
            format: w.format,
        };
        plan.push(embed.build(self.gpu, "embed", &a.tokens, &w.embed, &a.x)?);
        for (i, (b, st)) in w.blocks.iter().zip(self.layers).enumerate() {
            self.block(&mut plan, i, b, st, t)?;
        }
        let src = Src::normed(&a.x, &w.norm_f, d, cfg.norm_eps).with_scratch(&a.h);
        let head = if all {
            Matmul::new(t, v, d)
        } else {
            // only the last row's logits: a one-row product on row T - 1
            Matmul {
                x_off: (t - 1) * d,
                ..Matmul::new(1, v, d)
            }
        };
        self.linear(&mut plan, "norm_f + lm_head", src, head, &w.head, &a.logits)?;
        Ok(plan)
    }

    /// The interventions of block `i`.
    fn layer_plan(&self, i: usize) -> Result<&LayerPlan> {
        self.iv
            .get(i)
            .ok_or_else(|| GpuError::Unsupported(format!("block {i} has no intervention plan")))
    }
}
