//! The forward pass as data: the list of dispatches for a chunk of T tokens, top to
//! bottom, mirroring `hybrid_core::cpu::model`. Built once per (T, all_logits) and reused
//! (the position comes from the `pos` buffer, not from the params).

use hybrid_core::{Fusion, ModelConfig};

use super::session::{LayerState, Session};
use super::weights::{AttnBufs, BlockBufs, MambaBufs, MixerBufs};
use crate::dispatch::Dispatch;
use crate::ops::attention::Attention;
use crate::ops::attention_combine::AttentionCombine;
use crate::ops::attention_split::AttentionSplit;
use crate::ops::conv1d::Conv1d;
use crate::ops::embed::Embed;
use crate::ops::kv_store::KvStore;
use crate::ops::matmul::Matmul;
use crate::ops::rmsnorm::RmsNorm;
use crate::ops::rope::Rope;
use crate::ops::ssm_scan::SsmScan;
use crate::ops::swiglu::SwiGlu;
use crate::Result;

impl Session {
    /// Dispatches for T tokens; logits of every row (`all`) or of the last row only.
    pub(crate) fn build_plan(&self, t: usize, all: bool) -> Result<Vec<Dispatch>> {
        let gpu = &self.model.gpu;
        let cfg = &self.model.config;
        let w = &self.model.weights;
        let a = &self.acts;
        let (d, v) = (cfg.d_model, cfg.vocab_size);
        let mut plan = Vec::new();
        plan.push(Embed { t, d, vocab: v }.build(gpu, "embed", &a.tokens, &w.embed, &a.x)?);
        for (i, (b, st)) in w.blocks.iter().zip(&self.layers).enumerate() {
            self.block(&mut plan, cfg, i, b, st, t)?;
        }
        let norm = RmsNorm {
            rows: t,
            cols: d,
            group: d,
            eps: cfg.norm_eps,
            scale: 1.0,
        };
        plan.push(norm.build(gpu, "norm_f", &a.x, &w.norm_f, &a.h)?);
        let head = if all {
            Matmul::new(t, v, d)
        } else {
            Matmul {
                x_off: (t - 1) * d,
                x_stride: t * d,
                ..Matmul::new(1, v, d)
            }
        };
        plan.push(head.build(gpu, "lm_head", &a.h, &w.head, &a.logits)?);
        Ok(plan)
    }

    /// One block: x += mixer(rms(x) * mixer_norm); x += ffn(rms(x) * ffn_norm).
    fn block(
        &self,
        plan: &mut Vec<Dispatch>,
        cfg: &ModelConfig,
        i: usize,
        b: &BlockBufs,
        st: &LayerState,
        t: usize,
    ) -> Result<()> {
        let gpu = &self.model.gpu;
        let a = &self.acts;
        let (d, f, eps) = (cfg.d_model, cfg.d_ffn, cfg.norm_eps);
        let norm = RmsNorm {
            rows: t,
            cols: d,
            group: d,
            eps,
            scale: 1.0,
        };
        let p = format!("layers.{i}");
        plan.push(norm.build(gpu, &format!("{p} mixer_norm"), &a.x, &b.mixer_norm, &a.h)?);
        match &b.mixer {
            MixerBufs::Attention(at) => {
                self.attention(plan, &p, at, st, t)?;
                let qd = at.dims.q_dim();
                if let Some(o) = &at.o {
                    plan.push(Matmul::new(t, d, qd).accumulate(1.0).build(
                        gpu,
                        &format!("{p} o_proj + residual"),
                        &a.att,
                        o,
                        &a.x,
                    )?);
                }
            }
            MixerBufs::Mamba(m) => {
                self.mamba(plan, &p, m, st, t)?;
                let e = m.dims.d_inner();
                if let Some(nw) = &m.norm {
                    let gn = RmsNorm {
                        rows: t,
                        cols: e,
                        group: e / m.dims.n_groups,
                        eps,
                        scale: 1.0,
                    };
                    plan.push(gn.build(gpu, &format!("{p} gated norm"), &a.y, nw, &a.yn)?);
                }
                if let Some(o) = &m.out {
                    let src = if m.norm.is_some() { &a.yn } else { &a.y };
                    plan.push(Matmul::new(t, d, e).accumulate(1.0).build(
                        gpu,
                        &format!("{p} out_proj + residual"),
                        src,
                        o,
                        &a.x,
                    )?);
                }
            }
            MixerBufs::Intra(ib) => {
                self.attention(plan, &format!("{p} attn"), &ib.attn, st, t)?;
                self.mamba(plan, &format!("{p} ssm"), &ib.ssm, st, t)?;
                let (qa, eb) = (ib.attn.dims.q_dim(), ib.ssm.dims.d_inner());
                let mut att = &a.att;
                let mut ssm = &a.y;
                if let Some(nw) = &ib.attn_norm {
                    let n = RmsNorm {
                        rows: t,
                        cols: qa,
                        group: ib.attn.dims.head_dim,
                        eps,
                        scale: 1.0,
                    };
                    plan.push(n.build(gpu, &format!("{p} attn_norm"), &a.att, nw, &a.att_n)?);
                    att = &a.att_n;
                }
                if let Some(nw) = &ib.ssm_norm {
                    let n = RmsNorm {
                        rows: t,
                        cols: eb,
                        group: ib.ssm.dims.head_dim,
                        eps,
                        scale: 1.0,
                    };
                    plan.push(n.build(gpu, &format!("{p} ssm_norm"), &a.y, nw, &a.yn)?);
                    ssm = &a.yn;
                }
                // Branch scalars and the subtract sign fold into the projections' alpha.
                let sign = if ib.fusion == Fusion::Subtract {
                    -1.0
                } else {
                    1.0
                };
                let (alpha_a, alpha_s) = (ib.attn_scale, sign * ib.ssm_scale);
                let (ma, ms) = match (&ib.joint, ib.fusion) {
                    // [D, Ha*dh + E_b]: each branch through its block of columns
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
                    (Some(j), _) => ((Matmul::new(t, d, qa), j), (Matmul::new(t, d, eb), j)),
                    (None, _) => match (&ib.attn.o, &ib.ssm.out) {
                        (Some(o), Some(so)) => {
                            ((Matmul::new(t, d, qa), o), (Matmul::new(t, d, eb), so))
                        }
                        _ => {
                            return Err(crate::GpuError::Unsupported(format!(
                                "{p}: intra block without output projections"
                            )))
                        }
                    },
                };
                plan.push(ma.0.accumulate(alpha_a).build(
                    gpu,
                    &format!("{p} attn out + residual"),
                    att,
                    ma.1,
                    &a.x,
                )?);
                plan.push(ms.0.accumulate(alpha_s).build(
                    gpu,
                    &format!("{p} ssm out + residual"),
                    ssm,
                    ms.1,
                    &a.x,
                )?);
            }
        }
        plan.push(norm.build(gpu, &format!("{p} ffn_norm"), &a.x, &b.ffn_norm, &a.h)?);
        plan.push(Matmul::new(t, 2 * f, d).build(
            gpu,
            &format!("{p} gate|up"),
            &a.h,
            &b.gate_up,
            &a.gu,
        )?);
        plan.push(SwiGlu { t, f }.build(gpu, &format!("{p} swiglu"), &a.gu, &a.act)?);
        plan.push(Matmul::new(t, d, f).accumulate(1.0).build(
            gpu,
            &format!("{p} down + residual"),
            &a.act,
            &b.down,
            &a.x,
        )?);
        Ok(())
    }

    /// q|k|v projection, RoPE, attention into `att`, then the KV cache append.
    fn attention(
        &self,
        plan: &mut Vec<Dispatch>,
        p: &str,
        at: &AttnBufs,
        st: &LayerState,
        t: usize,
    ) -> Result<()> {
        let gpu = &self.model.gpu;
        let a = &self.acts;
        let cfg = &self.model.config;
        let theta = cfg.attention.as_ref().map_or(10000.0, |c| c.rope_theta);
        let dims = at.dims;
        let (qd, kvd) = (dims.q_dim(), dims.kv_dim());
        let stride = qd + 2 * kvd;
        let Some((k_cache, v_cache, rows)) = &st.kv else {
            return Err(crate::GpuError::Unsupported(format!("{p}: no KV cache")));
        };
        plan.push(Matmul::new(t, stride, cfg.d_model).build(
            gpu,
            &format!("{p} qkv"),
            &a.h,
            &at.qkv,
            &a.qkv,
        )?);
        let rope = Rope {
            t,
            stride,
            n_q: dims.n_heads,
            n_k: dims.n_kv_heads,
            k_off: qd,
            head_dim: dims.head_dim,
            theta,
        };
        plan.push(rope.build(gpu, &format!("{p} rope"), &a.pos, &a.qkv)?);
        if t == 1 {
            // decode: split-K partials over slices of the visible keys, then the merge
            let split = AttentionSplit {
                stride,
                k_off: qd,
                v_off: qd + kvd,
                n_heads: dims.n_heads,
                n_kv_heads: dims.n_kv_heads,
                head_dim: dims.head_dim,
                layout: self.layout,
                cache_rows: *rows,
                splits: self.splits,
            };
            plan.push(split.build(
                gpu,
                &format!("{p} attention split"),
                &a.pos,
                &a.qkv,
                k_cache,
                v_cache,
                &a.att_part,
            )?);
            let combine = AttentionCombine {
                n_heads: dims.n_heads,
                head_dim: dims.head_dim,
                splits: self.splits,
            };
            plan.push(combine.build(
                gpu,
                &format!("{p} attention combine"),
                &a.att_part,
                &a.att,
            )?);
        } else {
            let attn = Attention {
                t,
                stride,
                k_off: qd,
                v_off: qd + kvd,
                n_heads: dims.n_heads,
                n_kv_heads: dims.n_kv_heads,
                head_dim: dims.head_dim,
                layout: self.layout,
                cache_rows: *rows,
                out_stride: qd,
            };
            plan.push(attn.build(
                gpu,
                &format!("{p} attention"),
                &a.pos,
                &a.qkv,
                k_cache,
                v_cache,
                &a.att,
            )?);
        }
        let store = KvStore {
            t,
            stride,
            k_off: qd,
            v_off: qd + kvd,
            kv_dim: kvd,
            layout: self.layout,
            cache_rows: *rows,
        };
        plan.push(store.build(
            gpu,
            &format!("{p} kv store"),
            &a.pos,
            &a.qkv,
            k_cache,
            v_cache,
        )?);
        Ok(())
    }

    /// in_proj, conv + SiLU, scan + gate into `y`.
    fn mamba(
        &self,
        plan: &mut Vec<Dispatch>,
        p: &str,
        m: &MambaBufs,
        st: &LayerState,
        t: usize,
    ) -> Result<()> {
        let gpu = &self.model.gpu;
        let a = &self.acts;
        let dims = m.dims;
        let Some((conv_state, ssm_state)) = &st.ssm else {
            return Err(crate::GpuError::Unsupported(format!("{p}: no SSM state")));
        };
        let ipd = dims.in_proj_dim();
        plan.push(Matmul::new(t, ipd, self.model.config.d_model).build(
            gpu,
            &format!("{p} in_proj"),
            &a.h,
            &m.in_proj,
            &a.proj,
        )?);
        let conv = Conv1d {
            t,
            channels: dims.conv_dim(),
            width: dims.conv_width,
            in_stride: ipd,
            in_off: dims.d_inner(),
        };
        plan.push(conv.build(
            gpu,
            &format!("{p} conv1d"),
            &a.proj,
            &m.conv_w,
            &m.conv_b,
            conv_state,
            &a.xbc,
        )?);
        plan.push(SsmScan { t, dims }.build(
            gpu,
            &format!("{p} scan"),
            &a.proj,
            &a.xbc,
            &m.heads,
            ssm_state,
            &a.y,
        )?);
        Ok(())
    }
}
