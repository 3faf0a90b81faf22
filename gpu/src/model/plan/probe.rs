//! The probe hooks: with [`Planner::probes`] set, each pushes its probe dispatches at its
//! place in the plan (right after the ops whose activations it reads: a later layer
//! overwrites them); without, each pushes nothing.

use super::linear::Src;
use super::mixer::qkv_row;
use super::{key_view, Planner};
use crate::dispatch::Dispatch;
use crate::model::probes::{LayerProbeBufs, ProbeBufs};
use crate::model::weights::{AttnBufs, MambaBufs};
use crate::ops::attention::CacheLayout;
use crate::ops::attention_probs::AttentionProbs;
use crate::ops::matmul::Matmul;
use crate::ops::row_norm::RowNorm;
use crate::ops::ssm_probes::SsmProbes;
use crate::{GpuError, Result};

impl Planner<'_> {
    /// The probe buffers, and those of block `i` (`None`: a plan without probes).
    fn probe_layer(&self, i: usize) -> Result<Option<(&ProbeBufs, &LayerProbeBufs)>> {
        let Some(pb) = self.probes else {
            return Ok(None);
        };
        match pb.layer(i) {
            Some(lp) => Ok(Some((pb, lp))),
            None => Err(GpuError::Unsupported(
                "probe buffers are not allocated".into(),
            )),
        }
    }

    /// attention_probs of block `i` from the RoPE'd q|k|v (push right after the KV store;
    /// the attention and KV store only read qkv).
    pub(super) fn probe_attention(
        &self,
        plan: &mut Vec<Dispatch>,
        p: &str,
        at: &AttnBufs,
        t: usize,
        i: usize,
    ) -> Result<()> {
        let Some((_, lp)) = self.probe_layer(i)? else {
            return Ok(());
        };
        let Some(out) = &lp.attn_probs else {
            return Err(GpuError::Unsupported(format!("{p}: no attn_probs buffer")));
        };
        let dims = at.dims;
        let (stride, k_off, _) = qkv_row(dims);
        let view = key_view(self.layer_plan(i)?)?;
        let probs = AttentionProbs {
            t,
            stride,
            k_off,
            n_heads: dims.n_heads,
            n_kv_heads: dims.n_kv_heads,
            head_dim: dims.head_dim,
            layout: self.layers.get(i).map_or(
                CacheLayout {
                    window: None,
                    sinks: 0,
                },
                |l| l.layout,
            ),
            view,
        };
        let label = format!("{p} probe attn_probs");
        plan.push(probs.build(self.gpu, &label, &self.acts.qkv, out)?);
        Ok(())
    }

    /// dt, implicit attention and state norms of block `i` from in_proj and conv outputs
    /// (push after the scan; it only reads them).
    pub(super) fn probe_mamba(
        &self,
        plan: &mut Vec<Dispatch>,
        p: &str,
        m: &MambaBufs,
        t: usize,
        i: usize,
    ) -> Result<()> {
        let Some((_, lp)) = self.probe_layer(i)? else {
            return Ok(());
        };
        let (Some(dt), Some(implicit), Some(norms), Some(copy)) =
            (&lp.dt, &lp.implicit, &lp.state_norm, &lp.state_copy)
        else {
            return Err(GpuError::Unsupported(format!("{p}: no SSM probe buffers")));
        };
        let Some(edit) = self.layers.get(i).and_then(|l| l.dt_edit.as_ref()) else {
            return Err(GpuError::Unsupported(format!("{p}: no dt edit buffer")));
        };
        let (gpu, a) = (self.gpu, self.acts);
        let (proj, xbc, heads) = (&a.proj, &a.xbc, &m.heads);
        let op = SsmProbes { t, dims: m.dims };
        let label = format!("{p} probe dt + implicit_attn");
        plan.push(op.build(gpu, &label, proj, xbc, heads, edit, dt, implicit)?);
        let label = format!("{p} probe state_norm");
        plan.push(op.build_state_norm(gpu, &label, proj, xbc, heads, edit, copy, norms)?);
        Ok(())
    }

    /// One intra branch's contribution in D-space, `src W^T` scaled by its branch scalar
    /// (`mm`, not accumulating), into scratch; its row norms into `branch_norms[:, col]`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn probe_branch(
        &self,
        plan: &mut Vec<Dispatch>,
        p: &str,
        src: Src,
        mm: Matmul,
        w: &wgpu::Buffer,
        i: usize,
        col: usize,
    ) -> Result<()> {
        let Some((pb, lp)) = self.probe_layer(i)? else {
            return Ok(());
        };
        let Some(out) = &lp.branch_norms else {
            return Err(GpuError::Unsupported(format!(
                "{p}: no branch_norms buffer"
            )));
        };
        let what = ["attn", "ssm"][col.min(1)];
        let label = format!("{p} probe {what} contribution");
        self.linear(plan, &label, src, mm, w, &pb.contrib)?;
        let norm = RowNorm {
            rows: mm.t,
            cols: mm.n,
            out_stride: 2,
            out_off: col,
        };
        let label = format!("{p} probe {what} branch norm");
        plan.push(norm.build(self.gpu, &label, &pb.contrib, out)?);
        Ok(())
    }
}
