//! The intra block's mixer: attention and Mamba-2 branches on the same normed input, each
//! branch normed, scaled and fused into the residual through its output projection.

use hybrid_core::Fusion;

use super::linear::Src;
use super::mixer::qkv_row;
use super::{Phase, Planner};
use crate::dispatch::Dispatch;
use crate::model::acts::LayerState;
use crate::model::weights::IntraBufs;
use crate::ops::matmul::Matmul;
use crate::ops::matvec::{kernel, MAX_K};
use crate::ops::matvec_epilogue::{Epilogue, MAX_COMBINED_SPLITS};
use crate::Kernel;
use crate::{GpuError, Result};

impl Planner<'_> {
    /// Both branches (`{p} attn`, `{p} ssm`), their probes, then
    /// x += alpha_a out_a(norm(att)) +- alpha_s out_s(norm(y)).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn intra(
        &self,
        plan: &mut Vec<Dispatch>,
        p: &str,
        i: usize,
        ib: &IntraBufs,
        st: &LayerState,
        t: usize,
        mixer_in: Src,
    ) -> Result<()> {
        let a = self.acts;
        let (d, eps) = (self.config.d_model, self.config.norm_eps);
        let lp = self.layer_plan(i)?;
        // one token, few splits, no probes: the attention branch's output projection
        // merges the split-K partials (as an attention block's o_proj)
        let (qa, eb) = (ib.attn.dims.o_dim(), ib.ssm.dims.d_inner());
        let merge_in_o = Phase::of(t) == Phase::Decode
            && self.probes.is_none()
            && !lp.skip_mixer
            && self.splits <= MAX_COMBINED_SPLITS
            && qa <= MAX_K;
        // one token on matvec_sg: the q|k|v and in_proj rows (same normed input) in one
        // matvec, each with its epilogue (RoPE + KV append, conv + SiLU)
        let pair = Phase::of(t) == Phase::Decode && kernel(self.gpu) == Kernel::MatvecSg;
        if pair {
            let (qkv_n, _, _) = qkv_row(ib.attn.dims);
            let first = self.rope_kv(p, &ib.attn, st)?;
            let second = self.conv(p, &ib.ssm, st)?;
            let ep = Epilogue::Pair {
                first: &first,
                w2: &ib.ssm.in_proj,
                y2: &a.proj,
                n2: ib.ssm.dims.in_proj_dim(),
                second: &second,
            };
            let qkv = Matmul::new(t, qkv_n, d);
            let label = format!("{p} attn qkv + rope + kv store | ssm in_proj + conv1d");
            self.linear_with(plan, &label, mixer_in, qkv, [&ib.attn.qkv, &a.qkv], ep)?;
        }
        let src = (!pair).then_some(mixer_in);
        let label = format!("{p} attn");
        self.attention(plan, &label, &ib.attn, st, t, src, lp, merge_in_o)?;
        self.mamba(plan, &format!("{p} ssm"), &ib.ssm, st, t, src)?;
        self.probe_attention(plan, &format!("{p} attn"), &ib.attn, t, i)?;
        self.probe_mamba(plan, &format!("{p} ssm"), &ib.ssm, t, i)?;
        // the attention branch is Ha*dv wide, normed per head of dv
        // a branch norm an intervention drops is not applied
        let att = match ib.attn_norm.as_ref().filter(|_| lp.attn_norm) {
            Some(nw) => {
                Src::normed(&a.att, nw, ib.attn.dims.v_head_dim, eps).with_scratch(&a.att_n)
            }
            None => Src::plain(&a.att),
        };
        let ssm = match ib.ssm_norm.as_ref().filter(|_| lp.ssm_norm) {
            Some(nw) => Src::normed(&a.y, nw, ib.ssm.dims.head_dim, eps).with_scratch(&a.yn),
            None => Src::plain(&a.y),
        };
        // Branch scalars, an intervention's factors and the subtract sign fold into the
        // projections' alpha.
        let scale_a = ib.attn_scale * lp.attn_scale.unwrap_or(1.0);
        let scale_s = ib.ssm_scale * lp.ssm_scale.unwrap_or(1.0);
        let sign = ib.fusion.ssm_sign();
        let (alpha_a, alpha_s) = (scale_a, sign * scale_s);
        let (ma, ms) = match (&ib.joint, ib.fusion) {
            // [D, Ha*dv + E_b]: each branch through its block of columns
            (Some(j), Fusion::Concat) => (
                (
                    Matmul {
                        w_stride: qa + eb,
                        ..Matmul::new(t, d, qa)
                    },
                    j,
                ),
                (
                    Matmul {
                        w_stride: qa + eb,
                        w_off: qa,
                        ..Matmul::new(t, d, eb)
                    },
                    j,
                ),
            ),
            // out_proj(a +- s) = out_proj(a) +- out_proj(s)
            (Some(j), Fusion::Add | Fusion::Subtract) => {
                ((Matmul::new(t, d, qa), j), (Matmul::new(t, d, eb), j))
            }
            (None, Fusion::Add | Fusion::Subtract | Fusion::Concat) => {
                match (&ib.attn.o, &ib.ssm.out) {
                    (Some(o), Some(so)) => {
                        ((Matmul::new(t, d, qa), o), (Matmul::new(t, d, eb), so))
                    }
                    _ => {
                        return Err(GpuError::Unsupported(format!(
                            "{p}: intra block without output projections"
                        )))
                    }
                }
            }
        };
        // a skipped mixer ran (its cache and state are as without) but is not added
        if !lp.skip_mixer {
            let mm = ma.0.accumulate(alpha_a);
            if merge_in_o {
                let ep = Epilogue::Combine {
                    part_dim: ib.attn.dims.v_head_dim,
                    splits: self.splits,
                };
                let src = Src {
                    x: &a.att_part,
                    ..att
                };
                let label = format!("{p} attn combine + out + residual");
                self.linear_with(plan, &label, src, mm, [ma.1, &a.x], ep)?;
            } else {
                let label = format!("{p} attn out + residual");
                self.linear(plan, &label, att, mm, ma.1, &a.x)?;
            }
            let label = format!("{p} ssm out + residual");
            self.linear(plan, &label, ssm, ms.0.accumulate(alpha_s), ms.1, &a.x)?;
        }
        // each contribution on its own, with its scalar but not the sign
        let mm = Matmul {
            alpha: scale_a,
            ..ma.0
        };
        self.probe_branch(plan, p, att, mm, ma.1, i, 0)?;
        let mm = Matmul {
            alpha: scale_s,
            ..ms.0
        };
        self.probe_branch(plan, p, ssm, mm, ms.1, i, 1)
    }
}
