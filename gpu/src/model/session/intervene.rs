//! Interventions on a session (`hybrid_core::intervene`, issue #11). `set_interventions`
//! checks a set against the model and keeps one `LayerPlan` per block for the planner
//! (skips, branch factors and norms, windows, hidden keys: `model/plan/`). What depends on
//! the position is done here, before each submission:
//!
//! - the dt edits of each Mamba block go to its `dt_edit` buffer [3, H] as k | m | f: the
//!   block's `dt` edits composed per head into min(k dt, m), and f = the chunk row from
//!   which a freeze holds (dt = 0), relative to the submission's first token;
//! - a reset before token r zeroes the chosen heads' S at the start of the submission
//!   whose first token is r: [`Session::piece`] cuts a chunk before each reset token inside
//!   it, so the reset is exact (as the CPU engine splits its scan there).
//!
//! The empty set writes the neutral edits (k = 1, m = +inf, no freeze) and has no cuts:
//! the plain run, bit for bit.

use hybrid_core::config::MambaDims;
use hybrid_core::intervene::{DtOp, LayerPlan};
use hybrid_core::{Error as ModelError, Interventions};

use super::{LayerState, Session};
use crate::model::acts::cache_layouts;
use crate::model::plan::key_view;
use crate::ops::ssm_scan::DT_NO_FREEZE;
use crate::Result;

impl Session {
    /// Apply `iv` from the next call on (the empty set restores the plain model). The set
    /// is checked with `iv.plan(config)`; its error is the core's message. Positions are
    /// absolute, so a session keeps one set for all its calls; a reset before the current
    /// position has already passed. A window wider than a layer's own one needs a wider
    /// KV ring: that is only possible at position 0 (the session is rebuilt there).
    pub fn set_interventions(&mut self, iv: &Interventions) -> Result<()> {
        let cfg = &self.model.config;
        let plans = iv.plan(cfg)?;
        for (i, lp) in plans.iter().enumerate() {
            key_view(lp).map_err(|e| ModelError::Intervention(format!("layer {i}: {e}")))?;
        }
        let new_layouts = cache_layouts(cfg, &plans);
        let old_layouts: Vec<_> = self.layers.iter().map(|l| l.layout).collect();
        if new_layouts != old_layouts {
            if self.pos != 0 {
                return Err(ModelError::Intervention(format!(
                    "a window wider than a layer's own one changes its KV cache: set it at \
                     position 0 (the session is at {}; reset it first)",
                    self.pos
                ))
                .into());
            }
            *self = Session::build(self.model.clone(), self.opts, plans)?;
        } else {
            self.iv = plans;
            self.plans.clear();
            self.probe_plans.clear();
        }
        self.write_dt_edits(false);
        self.model.gpu.check()
    }

    /// Tokens of a submission of at most `max` tokens from position `start`: it ends
    /// before the next reset token (so that every reset falls on a first token).
    pub(super) fn piece(&self, start: usize, max: usize) -> usize {
        let end = start + max;
        self.iv
            .iter()
            .flat_map(|lp| &lp.ssm.resets)
            .map(|&(at, _)| at)
            .filter(|&at| at > start && at < end)
            .min()
            .map_or(max, |at| at - start)
    }

    /// The first reset token inside the `t` tokens from the current position, if any
    /// (a probed prefill is one submission: it cannot cut there).
    pub(super) fn reset_inside(&self, t: usize) -> Option<usize> {
        let cut = self.piece(self.pos, t);
        (cut < t).then_some(self.pos + cut)
    }

    /// Before a submission at the current position: write the position-dependent dt edits
    /// (freezes) and, into `enc` ahead of the plan, zero the state of the heads a reset at
    /// this position names.
    pub(super) fn prepare(&self, enc: &mut wgpu::CommandEncoder) {
        self.write_dt_edits(true);
        for (lp, l, m) in self.ssm_blocks() {
            let Some((_, ssm)) = &l.ssm else { continue };
            let per_head = (m.ssm_state_len() / m.n_heads.max(1) * 4) as u64;
            for (_, heads) in lp.ssm.resets.iter().filter(|(at, _)| *at == self.pos) {
                match heads {
                    None => enc.clear_buffer(ssm, 0, None),
                    Some(hs) => {
                        for &h in hs {
                            enc.clear_buffer(ssm, h as u64 * per_head, Some(per_head));
                        }
                    }
                }
            }
        }
    }

    /// (plan, state, Mamba dims) of every block with a Mamba mixer or branch.
    fn ssm_blocks(&self) -> impl Iterator<Item = (&LayerPlan, &LayerState, MambaDims)> {
        let blocks = self.model.weights.blocks.iter();
        (self.iv.iter().zip(&self.layers).zip(blocks))
            .filter_map(|((lp, l), b)| b.mixer.dims().1.map(|m| (lp, l, m)))
    }

    /// Write the `dt_edit` rows of every Mamba block at the current position (only those
    /// with a freeze, which depend on it, when `freezes_only`).
    fn write_dt_edits(&self, freezes_only: bool) {
        for (lp, l, m) in self.ssm_blocks() {
            let Some(buf) = &l.dt_edit else { continue };
            if freezes_only && lp.ssm.freezes.is_empty() {
                continue;
            }
            let rows = dt_edit_rows(lp, m.n_heads, self.pos);
            self.model
                .gpu
                .queue
                .write_buffer(buf, 0, bytemuck::cast_slice(&rows));
        }
    }
}

/// The `dt_edit` rows [3, H] of block plan `lp` for a submission starting at `pos`: per
/// head k and m with min(k dt, m) = the `dt` edits applied in order (a scale k' maps
/// min(k dt, m) to min(k' k dt, k' m), a max m' to min(k dt, min(m, m'))), then the
/// first row a freeze holds (`DT_NO_FREEZE`: none).
fn dt_edit_rows(lp: &LayerPlan, heads: usize, pos: usize) -> Vec<f32> {
    let covers = |hs: &Option<Vec<usize>>, h: usize| hs.as_ref().is_none_or(|v| v.contains(&h));
    let mut rows = vec![0.0; 3 * heads];
    for h in 0..heads {
        let (mut k, mut m) = (1.0f32, f32::INFINITY);
        for (_, op) in lp.ssm.dt.iter().filter(|(hs, _)| covers(hs, h)) {
            match *op {
                DtOp::Scale(s) => {
                    k *= s;
                    if m.is_finite() {
                        m *= s;
                    }
                }
                DtOp::Max(x) => m = m.min(x),
            }
        }
        let from = (lp.ssm.freezes.iter())
            .filter(|(_, hs)| covers(hs, h))
            .map(|&(from, _)| from.saturating_sub(pos))
            .min()
            .map_or(DT_NO_FREEZE, |r| (r as f32).min(DT_NO_FREEZE));
        rows[h] = k;
        rows[heads + h] = m;
        rows[2 * heads + h] = from;
    }
    rows
}
