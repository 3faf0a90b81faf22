//! The forward pass as data: the list of dispatches for a chunk of T tokens, top to
//! bottom, mirroring `hybrid_core::cpu::model`. Built once per (T, all_logits) and reused
//! (the position comes from the `pos` buffer, not from the params). The probe plan
//! (`probes`, see `super::probes`) is the same list with probe dispatches inserted.

use hybrid_core::{Fusion, ModelConfig};

use super::probes::{LayerProbeBufs, ProbeBufs};
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
use crate::ops::matvec::{FusedNorm, Matvec};
use crate::ops::rmsnorm::RmsNorm;
use crate::ops::rope::Rope;
use crate::ops::ssd::Ssd;
use crate::ops::swiglu::SwiGlu;
use crate::Result;

/// What a projection reads: `x` as is, or `x` RMS-normalized by `weight` first. With one
/// token the norm is fused into the matvec; with a chunk it is its own dispatch into
/// `scratch`, then the tiled matmul reads that.
#[derive(Clone, Copy)]
pub(crate) struct Src<'a> {
    pub x: &'a wgpu::Buffer,
    pub norm: Option<NormIn<'a>>,
}

/// An RMSNorm in front of a projection.
#[derive(Clone, Copy)]
pub(crate) struct NormIn<'a> {
    pub weight: &'a wgpu::Buffer,
    pub group: usize,
    pub eps: f32,
    /// Where a chunk's normed rows go (`None`: the norm must fuse).
    pub scratch: Option<&'a wgpu::Buffer>,
}

impl<'a> Src<'a> {
    fn plain(x: &'a wgpu::Buffer) -> Self {
        Src { x, norm: None }
    }
    fn normed(x: &'a wgpu::Buffer, weight: &'a wgpu::Buffer, group: usize, eps: f32) -> Self {
        Src {
            x,
            norm: Some(NormIn {
                weight,
                group,
                eps,
                scratch: None,
            }),
        }
    }
    fn with_scratch(mut self, scratch: &'a wgpu::Buffer) -> Self {
        if let Some(n) = &mut self.norm {
            n.scratch = Some(scratch);
        }
        self
    }
}

impl Session {
    /// Dispatches for T tokens; logits of every row (`all`) or of the last row only; with
    /// `probes`, the probe dispatches too (the probe buffers must exist).
    pub(crate) fn build_plan(&self, t: usize, all: bool, probes: bool) -> Result<Vec<Dispatch>> {
        let gpu = &self.model.gpu;
        let cfg = &self.model.config;
        let w = &self.model.weights;
        let a = &self.acts;
        let (d, v) = (cfg.d_model, cfg.vocab_size);
        let mut plan = Vec::new();
        let f16 = self.f16();
        let embed = Embed {
            t,
            d,
            vocab: v,
            f16,
        };
        plan.push(embed.build(gpu, "embed", &a.tokens, &w.embed, &a.x)?);
        for (i, (b, st)) in w.blocks.iter().zip(&self.layers).enumerate() {
            let probe = if probes {
                Some(self.probe_layer(i)?)
            } else {
                None
            };
            self.block(&mut plan, cfg, i, b, st, t, probe)?;
        }
        let src = Src::normed(&a.x, &w.norm_f, d, cfg.norm_eps).with_scratch(&a.h);
        let head = if all {
            Matmul::new(t, v, d)
        } else {
            // only the last row's logits: a matvec on row T - 1
            Matmul {
                x_off: (t - 1) * d,
                ..Matmul::new(1, v, d)
            }
        };
        self.linear(&mut plan, "norm_f + lm_head", src, head, &w.head, &a.logits)?;
        Ok(plan)
    }

    /// Whether the weight matrices are packed f16.
    fn f16(&self) -> bool {
        self.model.weights.format == super::weights::WeightFormat::F16
    }

    /// `y (+)= alpha * src W^T`, the norm of `src` fused in for one row (see [`Src`]).
    pub(super) fn linear(
        &self,
        plan: &mut Vec<Dispatch>,
        label: &str,
        src: Src,
        mm: Matmul,
        w: &wgpu::Buffer,
        y: &wgpu::Buffer,
    ) -> Result<()> {
        let gpu = &self.model.gpu;
        let mm = Matmul {
            w_f16: self.f16(),
            ..mm
        };
        let Some(nm) = src.norm else {
            plan.push(mm.build(gpu, label, src.x, w, y)?);
            return Ok(());
        };
        if mm.t == 1 && Matvec::can_norm(mm.k, nm.group) {
            let mv = Matvec {
                norm: Some(FusedNorm {
                    group: nm.group,
                    eps: nm.eps,
                }),
                ..Matvec::from(mm)
            };
            plan.push(mv.build(gpu, label, src.x, w, nm.weight, y)?);
            return Ok(());
        }
        // normalize the rows the product reads, then the plain product
        let Some(scratch) = nm.scratch else {
            return Err(crate::GpuError::Unsupported(format!(
                "{label}: the norm cannot fuse and has no scratch buffer"
            )));
        };
        let first_row = mm.x_off / mm.x_stride.max(1);
        let norm = RmsNorm {
            rows: first_row + mm.t,
            cols: mm.k,
            group: nm.group,
            eps: nm.eps,
            scale: 1.0,
        };
        plan.push(norm.build(gpu, &format!("{label}: norm"), src.x, nm.weight, scratch)?);
        plan.push(mm.build(gpu, label, scratch, w, y)?);
        Ok(())
    }

    /// One block: x += mixer(rms(x) * mixer_norm); x += ffn(rms(x) * ffn_norm).
    #[allow(clippy::too_many_arguments)]
    fn block(
        &self,
        plan: &mut Vec<Dispatch>,
        cfg: &ModelConfig,
        i: usize,
        b: &BlockBufs,
        st: &LayerState,
        t: usize,
        probe: Option<(&ProbeBufs, &LayerProbeBufs)>,
    ) -> Result<()> {
        let gpu = &self.model.gpu;
        let a = &self.acts;
        let (d, f, eps) = (cfg.d_model, cfg.d_ffn, cfg.norm_eps);
        let p = format!("layers.{i}");
        // The mixer's projections (two in an intra block) share the normed input: for a
        // chunk it is computed once into `h`, for one token each matvec recomputes it.
        let mixer_in = if t == 1 && Matvec::can_norm(d, d) {
            Src::normed(&a.x, &b.mixer_norm, d, eps)
        } else {
            let norm = RmsNorm {
                rows: t,
                cols: d,
                group: d,
                eps,
                scale: 1.0,
            };
            plan.push(norm.build(gpu, &format!("{p} mixer_norm"), &a.x, &b.mixer_norm, &a.h)?);
            Src::plain(&a.h)
        };
        match &b.mixer {
            MixerBufs::Attention(at) => {
                self.attention(plan, &p, at, st, t, mixer_in)?;
                if let Some((_, lp)) = probe {
                    self.probe_attention(plan, &p, at, t, lp)?;
                }
                let qd = at.dims.q_dim();
                if let Some(o) = &at.o {
                    let mm = Matmul::new(t, d, qd).accumulate(1.0);
                    self.linear(
                        plan,
                        &format!("{p} o_proj + residual"),
                        Src::plain(&a.att),
                        mm,
                        o,
                        &a.x,
                    )?;
                }
            }
            MixerBufs::Mamba(m) => {
                self.mamba(plan, &p, m, st, t, mixer_in)?;
                if let Some((_, lp)) = probe {
                    self.probe_mamba(plan, &p, m, t, lp)?;
                }
                let e = m.dims.d_inner();
                if let Some(o) = &m.out {
                    let src = match &m.norm {
                        Some(nw) => {
                            Src::normed(&a.y, nw, e / m.dims.n_groups, eps).with_scratch(&a.yn)
                        }
                        None => Src::plain(&a.y),
                    };
                    let mm = Matmul::new(t, d, e).accumulate(1.0);
                    self.linear(
                        plan,
                        &format!("{p} gated norm + out_proj + residual"),
                        src,
                        mm,
                        o,
                        &a.x,
                    )?;
                }
            }
            MixerBufs::Intra(ib) => {
                self.attention(plan, &format!("{p} attn"), &ib.attn, st, t, mixer_in)?;
                self.mamba(plan, &format!("{p} ssm"), &ib.ssm, st, t, mixer_in)?;
                if let Some((_, lp)) = probe {
                    self.probe_attention(plan, &format!("{p} attn"), &ib.attn, t, lp)?;
                    self.probe_mamba(plan, &format!("{p} ssm"), &ib.ssm, t, lp)?;
                }
                let (qa, eb) = (ib.attn.dims.q_dim(), ib.ssm.dims.d_inner());
                let att = match &ib.attn_norm {
                    Some(nw) => {
                        Src::normed(&a.att, nw, ib.attn.dims.head_dim, eps).with_scratch(&a.att_n)
                    }
                    None => Src::plain(&a.att),
                };
                let ssm = match &ib.ssm_norm {
                    Some(nw) => {
                        Src::normed(&a.y, nw, ib.ssm.dims.head_dim, eps).with_scratch(&a.yn)
                    }
                    None => Src::plain(&a.y),
                };
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
                let label = format!("{p} attn out + residual");
                self.linear(plan, &label, att, ma.0.accumulate(alpha_a), ma.1, &a.x)?;
                let label = format!("{p} ssm out + residual");
                self.linear(plan, &label, ssm, ms.0.accumulate(alpha_s), ms.1, &a.x)?;
                if let Some((pb, _)) = probe {
                    // each contribution on its own, with its scalar but not the sign
                    let mm = Matmul {
                        alpha: ib.attn_scale,
                        ..ma.0
                    };
                    self.probe_branch(plan, &p, att, mm, ma.1, pb, i, 0)?;
                    let mm = Matmul {
                        alpha: ib.ssm_scale,
                        ..ms.0
                    };
                    self.probe_branch(plan, &p, ssm, mm, ms.1, pb, i, 1)?;
                }
            }
        }
        self.ffn(plan, &p, b, t, d, f, eps)
    }

    /// x += down(silu(gate h) * up h), h = rms(x) * ffn_norm. One token: two matvecs (norm
    /// and SwiGLU fused into the first); a chunk: norm, gate|up, SwiGLU, down.
    #[allow(clippy::too_many_arguments)]
    fn ffn(
        &self,
        plan: &mut Vec<Dispatch>,
        p: &str,
        b: &BlockBufs,
        t: usize,
        d: usize,
        f: usize,
        eps: f32,
    ) -> Result<()> {
        let gpu = &self.model.gpu;
        let a = &self.acts;
        if t == 1 && Matvec::can_norm(d, d) {
            let mv = Matvec {
                norm: Some(FusedNorm { group: d, eps }),
                glu: true,
                w_f16: self.f16(),
                ..Matvec::new(f, d)
            };
            let label = format!("{p} ffn_norm + gate|up + swiglu");
            plan.push(mv.build(gpu, &label, &a.x, &b.gate_up, &b.ffn_norm, &a.act)?);
        } else {
            let norm = RmsNorm {
                rows: t,
                cols: d,
                group: d,
                eps,
                scale: 1.0,
            };
            plan.push(norm.build(gpu, &format!("{p} ffn_norm"), &a.x, &b.ffn_norm, &a.h)?);
            let gu = Matmul {
                w_f16: self.f16(),
                ..Matmul::new(t, 2 * f, d)
            };
            plan.push(gu.build(gpu, &format!("{p} gate|up"), &a.h, &b.gate_up, &a.gu)?);
            plan.push(SwiGlu { t, f }.build(gpu, &format!("{p} swiglu"), &a.gu, &a.act)?);
        }
        let down = Matmul {
            w_f16: self.f16(),
            ..Matmul::new(t, d, f).accumulate(1.0)
        };
        plan.push(down.build(gpu, &format!("{p} down + residual"), &a.act, &b.down, &a.x)?);
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
        src: Src,
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
        let qkv = Matmul::new(t, stride, cfg.d_model);
        self.linear(plan, &format!("{p} qkv"), src, qkv, &at.qkv, &a.qkv)?;
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
        src: Src,
    ) -> Result<()> {
        let gpu = &self.model.gpu;
        let a = &self.acts;
        let dims = m.dims;
        let Some((conv_state, ssm_state)) = &st.ssm else {
            return Err(crate::GpuError::Unsupported(format!("{p}: no SSM state")));
        };
        let ipd = dims.in_proj_dim();
        let in_proj = Matmul::new(t, ipd, self.model.config.d_model);
        self.linear(
            plan,
            &format!("{p} in_proj"),
            src,
            in_proj,
            &m.in_proj,
            &a.proj,
        )?;
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
        // chunked SSD scan for a prefill, ssm_scan for a decode step (T = 1)
        plan.extend(Ssd { t, dims }.build(
            gpu,
            &format!("{p} scan"),
            &a.proj,
            &a.xbc,
            &m.heads,
            ssm_state,
            &a.y,
            &a.ssd_states,
            &a.ssd_dtc,
        )?);
        Ok(())
    }
}
