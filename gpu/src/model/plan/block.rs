//! One block: x += mixer(rms(x) * mixer_norm); x += ffn(rms(x) * ffn_norm).

use super::linear::Src;
use super::{Phase, Planner};
use crate::dispatch::Dispatch;
use crate::model::acts::LayerState;
use crate::model::weights::{BlockBufs, FfnBufs, MixerBufs};
use crate::ops::matmul::Matmul;
use crate::ops::matvec::{FusedNorm, Matvec, MAX_K};
use crate::ops::matvec_epilogue::{Epilogue, MAX_COMBINED_SPLITS};
use crate::ops::relu2::Relu2;
use crate::ops::rmsnorm::RmsNorm;
use crate::ops::swiglu::SwiGlu;
use crate::Result;
use hybrid_core::config::FfnAct;

impl Planner<'_> {
    /// Block `i` with weights `b` and state `st`, for T tokens.
    pub(super) fn block(
        &self,
        plan: &mut Vec<Dispatch>,
        i: usize,
        b: &BlockBufs,
        st: &LayerState,
        t: usize,
    ) -> Result<()> {
        let a = self.acts;
        let (d, eps) = (self.config.d_model, self.config.norm_eps);
        let p = format!("layers.{i}");
        let lp = self.layer_plan(i)?;
        // The mixer's projections (two in an intra block) share the normed input: for a
        // chunk it is computed once into `h`, for one token each matvec recomputes it.
        let mixer_in = if Phase::of(t).fuses_norm(d, d) {
            Src::normed(&a.x, &b.mixer_norm, d, eps)
        } else {
            let norm = RmsNorm {
                rows: t,
                cols: d,
                group: d,
                eps,
                scale: 1.0,
            };
            let label = format!("{p} mixer_norm");
            plan.push(norm.build(self.gpu, &label, &a.x, &b.mixer_norm, &a.h)?);
            Src::plain(&a.h)
        };
        match &b.mixer {
            MixerBufs::Attention(at) => {
                // one token, few splits, no probes: o_proj merges the split-K partials
                let merge_in_o = Phase::of(t) == Phase::Decode
                    && self.probes.is_none()
                    && at.o.is_some()
                    && !lp.skip_mixer
                    && self.splits <= MAX_COMBINED_SPLITS
                    && at.dims.o_dim() <= MAX_K;
                self.attention(plan, &p, at, st, t, Some(mixer_in), lp, merge_in_o)?;
                self.probe_attention(plan, &p, at, t, i)?;
                // a skipped mixer ran (its cache is as without) but is not added
                if let (Some(o), false) = (&at.o, lp.skip_mixer) {
                    let mm = Matmul::new(t, d, at.dims.o_dim()).accumulate(1.0);
                    if merge_in_o {
                        let ep = Epilogue::Combine {
                            part_dim: at.dims.v_head_dim,
                            splits: self.splits,
                        };
                        let label = format!("{p} attention combine + o_proj + residual");
                        let src = Src::plain(&a.att_part);
                        self.linear_with(plan, &label, src, mm, [o, &a.x], ep)?;
                    } else {
                        let label = format!("{p} o_proj + residual");
                        self.linear(plan, &label, Src::plain(&a.att), mm, o, &a.x)?;
                    }
                }
            }
            MixerBufs::Mamba(m) => {
                self.mamba(plan, &p, m, st, t, Some(mixer_in))?;
                self.probe_mamba(plan, &p, m, t, i)?;
                let e = m.dims.d_inner();
                if let (Some(o), false) = (&m.out, lp.skip_mixer) {
                    let src = match &m.norm {
                        Some(nw) => {
                            Src::normed(&a.y, nw, e / m.dims.norm_groups, eps).with_scratch(&a.yn)
                        }
                        None => Src::plain(&a.y),
                    };
                    let mm = Matmul::new(t, d, e).accumulate(1.0);
                    let label = format!("{p} gated norm + out_proj + residual");
                    self.linear(plan, &label, src, mm, o, &a.x)?;
                }
            }
            MixerBufs::Intra(ib) => self.intra(plan, &p, i, ib, st, t, mixer_in)?,
        }
        match (&b.ffn, lp.skip_ffn) {
            (Some(ffn), false) => self.ffn(plan, &p, ffn, t),
            _ => Ok(()),
        }
    }

    /// x += down(silu(gate h) * up h), h = rms(x) * ffn_norm. One token: two matvecs (norm
    /// and SwiGLU fused into the first); a chunk: norm, gate|up, SwiGLU, down. A relu2 FFN
    /// (`ffn_act`): x += down(relu(up h)^2), the activation a dispatch of its own.
    fn ffn(&self, plan: &mut Vec<Dispatch>, p: &str, b: &FfnBufs, t: usize) -> Result<()> {
        let a = self.acts;
        let (d, f, eps) = (self.config.d_model, self.config.d_ffn, self.config.norm_eps);
        let glu = match self.config.ffn_act {
            FfnAct::Swiglu => true,
            FfnAct::Relu2 => false,
        };
        if !glu {
            if Phase::of(t).fuses_norm(d, d) {
                let mv = Matvec {
                    norm: Some(FusedNorm { group: d, eps }),
                    w_format: self.weights.format,
                    ..Matvec::new(f, d)
                };
                let label = format!("{p} ffn_norm + up");
                plan.push(mv.build(self.gpu, &label, &a.x, &b.gate_up, &b.norm, &a.gu)?);
            } else {
                self.ffn_norm(plan, p, b, t)?;
                let label = format!("{p} up");
                let mm = Matmul::new(t, f, d);
                self.linear(plan, &label, Src::plain(&a.h), mm, &b.gate_up, &a.gu)?;
            }
            let label = format!("{p} relu2");
            plan.push(Relu2 { t, f }.build(self.gpu, &label, &a.gu, &a.act)?);
        } else if Phase::of(t).fuses_norm(d, d) {
            let mv = Matvec {
                norm: Some(FusedNorm { group: d, eps }),
                glu: true,
                w_format: self.weights.format,
                ..Matvec::new(f, d)
            };
            let label = format!("{p} ffn_norm + gate|up + swiglu");
            plan.push(mv.build(self.gpu, &label, &a.x, &b.gate_up, &b.norm, &a.act)?);
        } else {
            self.ffn_norm(plan, p, b, t)?;
            let gu = Matmul::new(t, 2 * f, d);
            let label = format!("{p} gate|up");
            self.linear(plan, &label, Src::plain(&a.h), gu, &b.gate_up, &a.gu)?;
            let label = format!("{p} swiglu");
            plan.push(SwiGlu { t, f }.build(self.gpu, &label, &a.gu, &a.act)?);
        }
        let down = Matmul::new(t, d, f).accumulate(1.0);
        let label = format!("{p} down + residual");
        self.linear(plan, &label, Src::plain(&a.act), down, &b.down, &a.x)
    }

    /// h = rms(x) * ffn_norm over a chunk of `t` rows.
    fn ffn_norm(&self, plan: &mut Vec<Dispatch>, p: &str, b: &FfnBufs, t: usize) -> Result<()> {
        let (a, d) = (self.acts, self.config.d_model);
        let norm = RmsNorm {
            rows: t,
            cols: d,
            group: d,
            eps: self.config.norm_eps,
            scale: 1.0,
        };
        let label = format!("{p} ffn_norm");
        plan.push(norm.build(self.gpu, &label, &a.x, &b.norm, &a.h)?);
        Ok(())
    }
}
