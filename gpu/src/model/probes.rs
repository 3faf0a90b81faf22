//! Probes on the GPU: the quantities the views draw (docs/FORMAT.md, "Probes"), with the
//! meaning `hybrid_core::cpu` gives them under `ForwardOptions { probes: true, .. }`, for
//! one chunk run from position 0 ([`Session::prefill_probed`]).
//!
//! The probe plan is the normal plan of T tokens plus, right after the ops whose
//! activations they read (a later layer overwrites them): attention_probs after a layer's
//! q|k|v + RoPE, ssm_probes and ssm_state_norm after its in_proj + conv, and for intra
//! blocks each branch's contribution on its own into a scratch buffer, then its row norm.
//! The state norms run the recurrence on a copy of the session's SSM state (copied in
//! the same submission, before the plan), so the session's state advances only through
//! the normal scan. Probe buffers and their staging are allocated on the first probed call,
//! sized for the session's chunk; normal plans never bind them.

use std::collections::HashMap;

use hybrid_core::{Error as ModelError, LayerProbes, Probes};

use super::plan::Src;
use super::session::Session;
use super::weights::{AttnBufs, MambaBufs, MixerBufs};
use crate::dispatch::{encode, Dispatch};
use crate::ops::attention_probs::AttentionProbs;
use crate::ops::matmul::Matmul;
use crate::ops::row_norm::RowNorm;
use crate::ops::ssm_probes::SsmProbes;
use crate::readback::read_f32;
use crate::{GpuError, Result};

/// Probe outputs of one block, each sized for a chunk of `cap` tokens (a call of T tokens
/// fills the leading [.., T, T] / [T, ..] part); `None` where the block has no such probe.
#[derive(Debug)]
pub(crate) struct LayerProbeBufs {
    attn_heads: usize,
    ssm_heads: usize,
    /// [Hq, cap, cap] softmax weights.
    attn_probs: Option<wgpu::Buffer>,
    /// [H, cap, cap] implicit attention.
    implicit: Option<wgpu::Buffer>,
    /// [cap, H] dt after softplus.
    dt: Option<wgpu::Buffer>,
    /// [cap, H] ||S_h|| after each token.
    state_norm: Option<wgpu::Buffer>,
    /// [H, P, N] the copy of the SSM state the state norms run on.
    state_copy: Option<wgpu::Buffer>,
    /// [cap, 2] norms of the attention and Mamba contributions (intra).
    branch_norms: Option<wgpu::Buffer>,
}

/// Everything probes need, allocated on the first probed call.
#[derive(Debug)]
pub(crate) struct ProbeBufs {
    layers: Vec<LayerProbeBufs>,
    /// [cap, D] one intra branch's contribution in D-space (1 float without intra blocks).
    contrib: wgpu::Buffer,
    /// Every probe of every layer for `cap` tokens, back to back.
    staging: wgpu::Buffer,
    /// Probe plans by T.
    plans: HashMap<usize, Vec<Dispatch>>,
}

impl ProbeBufs {
    fn new(s: &Session) -> Result<Self> {
        let gpu = &s.model.gpu;
        let cfg = &s.model.config;
        let cap = s.opts.chunk;
        let buf = |label: String, floats: usize| {
            gpu.storage(&label, (floats * 4) as u64, wgpu::BufferUsages::COPY_SRC)
        };
        let mut layers = Vec::new();
        let mut total = 0;
        let mut any_intra = false;
        for (i, b) in s.model.weights.blocks.iter().enumerate() {
            let (a, m, intra) = match &b.mixer {
                MixerBufs::Attention(a) => (Some(a.dims), None, false),
                MixerBufs::Mamba(m) => (None, Some(m.dims), false),
                MixerBufs::Intra(ib) => (Some(ib.attn.dims), Some(ib.ssm.dims), true),
            };
            let p = format!("layers.{i} probe");
            let mut lp = LayerProbeBufs {
                attn_heads: a.map_or(0, |a| a.n_heads),
                ssm_heads: m.map_or(0, |m| m.n_heads),
                attn_probs: None,
                implicit: None,
                dt: None,
                state_norm: None,
                state_copy: None,
                branch_norms: None,
            };
            if let Some(a) = a {
                lp.attn_probs = Some(buf(format!("{p} attn_probs"), a.n_heads * cap * cap)?);
            }
            if let Some(m) = m {
                let h = m.n_heads;
                lp.implicit = Some(buf(format!("{p} implicit_attn"), h * cap * cap)?);
                lp.dt = Some(buf(format!("{p} dt"), cap * h)?);
                lp.state_norm = Some(buf(format!("{p} state_norm"), cap * h)?);
                lp.state_copy = Some(buf(format!("{p} state copy"), m.ssm_state_len())?);
            }
            if intra {
                any_intra = true;
                lp.branch_norms = Some(buf(format!("{p} branch_norms"), cap * 2)?);
            }
            total += lp.floats(cap);
            layers.push(lp);
        }
        let contrib_floats = if any_intra { cap * cfg.d_model } else { 1 };
        let contrib = buf("probe branch contribution".into(), contrib_floats)?;
        let staging = gpu.staging("probes staging", (total * 4) as u64)?;
        Ok(ProbeBufs {
            layers,
            contrib,
            staging,
            plans: HashMap::new(),
        })
    }

    /// Bytes on the GPU: probe buffers, scratch, staging and the probe plans' params.
    pub(crate) fn bytes(&self) -> u64 {
        let layers: u64 = self
            .layers
            .iter()
            .flat_map(|l| l.buffers())
            .map(|b| b.size())
            .sum();
        let params: u64 = self
            .plans
            .values()
            .flatten()
            .map(|d| d.params_bytes())
            .sum();
        layers + self.contrib.size() + self.staging.size() + params
    }
}

impl LayerProbeBufs {
    /// The read-back probes in order, each with its floats for T tokens.
    fn outputs(&self, t: usize) -> [(Option<&wgpu::Buffer>, usize); 5] {
        let (ha, hs) = (self.attn_heads, self.ssm_heads);
        [
            (self.attn_probs.as_ref(), ha * t * t),
            (self.implicit.as_ref(), hs * t * t),
            (self.dt.as_ref(), t * hs),
            (self.state_norm.as_ref(), t * hs),
            (self.branch_norms.as_ref(), t * 2),
        ]
    }

    /// Every buffer it holds.
    fn buffers(&self) -> impl Iterator<Item = &wgpu::Buffer> {
        [
            &self.attn_probs,
            &self.implicit,
            &self.dt,
            &self.state_norm,
            &self.state_copy,
            &self.branch_norms,
        ]
        .into_iter()
        .flatten()
    }

    /// Floats read back for T tokens.
    fn floats(&self, t: usize) -> usize {
        self.outputs(t)
            .iter()
            .filter(|(b, _)| b.is_some())
            .map(|(_, n)| n)
            .sum()
    }
}

impl Session {
    /// Run `tokens` from position 0 as one chunk (T <= the session's chunk) and return the
    /// last token's logits [V] and the probes of every block, as the CPU engine's
    /// `forward` with `probes: true` defines them. The session advances as a `prefill`
    /// would (same plan, same state); only this call reads the probes back.
    pub async fn prefill_probed(&mut self, tokens: &[u32]) -> Result<(Vec<f32>, Probes)> {
        let gpu = self.model.gpu.clone();
        gpu.check()?;
        self.check_tokens(tokens)?;
        let t = tokens.len();
        if self.pos != 0 {
            return Err(ModelError::Prompt(format!(
                "probes run a prompt from position 0, the session is at {}: reset it first",
                self.pos
            ))
            .into());
        }
        if t > self.opts.chunk {
            return Err(ModelError::Prompt(format!(
                "probes cover one chunk: {t} tokens > the session's chunk of {}",
                self.opts.chunk
            ))
            .into());
        }
        self.check_context(t)?;
        if self.probes.is_none() {
            self.probes = Some(ProbeBufs::new(self)?);
        }
        if !self
            .probes
            .as_ref()
            .is_some_and(|p| p.plans.contains_key(&t))
        {
            let plan = self.build_plan(t, false, true)?;
            if let Some(p) = self.probes.as_mut() {
                if p.plans.len() >= 8 {
                    p.plans.clear();
                }
                p.plans.insert(t, plan);
            }
        }
        let Some(pb) = self.probes.as_ref() else {
            return Err(GpuError::Unsupported("probe buffers missing".into()));
        };
        gpu.queue
            .write_buffer(&self.acts.tokens, 0, bytemuck::cast_slice(tokens));
        self.write_pos()?;
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("probed prefill"),
            });
        // the state norms' recurrence starts from a copy of the session's state
        for (l, lp) in self.layers.iter().zip(&pb.layers) {
            if let (Some((_, ssm)), Some(copy)) = (&l.ssm, &lp.state_copy) {
                enc.copy_buffer_to_buffer(ssm, 0, copy, 0, Some(ssm.size()));
            }
        }
        if let Some(plan) = pb.plans.get(&t) {
            encode(&mut enc, "probed prefill", plan);
        }
        let v = self.model.config.vocab_size;
        enc.copy_buffer_to_buffer(
            &self.acts.logits,
            0,
            &self.logits_staging,
            0,
            Some((v * 4) as u64),
        );
        let mut off = 0u64;
        for lp in &pb.layers {
            for (b, n) in lp.outputs(t) {
                if let Some(b) = b {
                    let bytes = (n * 4) as u64;
                    enc.copy_buffer_to_buffer(b, 0, &pb.staging, off, Some(bytes));
                    off += bytes;
                }
            }
        }
        gpu.queue.submit([enc.finish()]);
        self.pos += t;
        self.token_on_gpu = false;
        let logits = read_f32(&gpu, &self.logits_staging, v).await?;
        let all = read_f32(&gpu, &pb.staging, (off / 4) as usize).await?;
        let mut rest = &all[..];
        let mut take = |n: usize| {
            let (a, b) = rest.split_at(n.min(rest.len()));
            rest = b;
            a.to_vec()
        };
        let mut layers = Vec::with_capacity(pb.layers.len());
        for lp in &pb.layers {
            let [ap, ia, dt, sn, bn] = lp.outputs(t).map(|(b, n)| b.map(|_| n));
            layers.push(LayerProbes {
                attn_heads: lp.attn_heads,
                ssm_heads: lp.ssm_heads,
                attn_probs: ap.map(&mut take),
                implicit_attn: ia.map(&mut take),
                dt: dt.map(&mut take),
                state_norm: sn.map(&mut take),
                branch_norms: bn.map(&mut take),
            });
        }
        gpu.check()?;
        Ok((logits, Probes { tokens: t, layers }))
    }

    /// See [`Session::prefill_probed`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn prefill_probed_blocking(&mut self, tokens: &[u32]) -> Result<(Vec<f32>, Probes)> {
        pollster::block_on(self.prefill_probed(tokens))
    }

    /// Labels of the dispatches of the probe plan for `t` tokens, in order (allocates the
    /// probe buffers; for tests and docs).
    pub fn probe_dispatches(&mut self, t: usize) -> Result<Vec<String>> {
        if self.probes.is_none() {
            self.probes = Some(ProbeBufs::new(self)?);
        }
        let plan = self.build_plan(t, false, true)?;
        Ok(plan.iter().map(|d| d.label.clone()).collect())
    }

    /// attention_probs of block `i` from the RoPE'd q|k|v (push right after the RoPE; the
    /// attention and KV store only read qkv).
    pub(super) fn probe_attention(
        &self,
        plan: &mut Vec<Dispatch>,
        p: &str,
        at: &AttnBufs,
        t: usize,
        lp: &LayerProbeBufs,
    ) -> Result<()> {
        let Some(out) = &lp.attn_probs else {
            return Err(GpuError::Unsupported(format!("{p}: no attn_probs buffer")));
        };
        let dims = at.dims;
        let (qd, kvd) = (dims.q_dim(), dims.kv_dim());
        let probs = AttentionProbs {
            t,
            stride: qd + 2 * kvd,
            k_off: qd,
            n_heads: dims.n_heads,
            n_kv_heads: dims.n_kv_heads,
            head_dim: dims.head_dim,
            layout: self.layout,
        };
        let gpu = &self.model.gpu;
        plan.push(probs.build(gpu, &format!("{p} probe attn_probs"), &self.acts.qkv, out)?);
        Ok(())
    }

    /// dt, implicit attention and state norms of block `i` from in_proj and conv outputs
    /// (push after the conv; the scan only reads them).
    pub(super) fn probe_mamba(
        &self,
        plan: &mut Vec<Dispatch>,
        p: &str,
        m: &MambaBufs,
        t: usize,
        lp: &LayerProbeBufs,
    ) -> Result<()> {
        let (Some(dt), Some(implicit), Some(norms), Some(copy)) =
            (&lp.dt, &lp.implicit, &lp.state_norm, &lp.state_copy)
        else {
            return Err(GpuError::Unsupported(format!("{p}: no SSM probe buffers")));
        };
        let gpu = &self.model.gpu;
        let a = &self.acts;
        let op = SsmProbes { t, dims: m.dims };
        let label = format!("{p} probe dt + implicit_attn");
        plan.push(op.build(gpu, &label, &a.proj, &a.xbc, &m.heads, dt, implicit)?);
        let label = format!("{p} probe state_norm");
        plan.push(op.build_state_norm(gpu, &label, &a.proj, &a.xbc, &m.heads, copy, norms)?);
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
        pb: &ProbeBufs,
        i: usize,
        col: usize,
    ) -> Result<()> {
        let Some(out) = pb.layers.get(i).and_then(|l| l.branch_norms.as_ref()) else {
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
        plan.push(norm.build(&self.model.gpu, &label, &pb.contrib, out)?);
        Ok(())
    }

    /// The probe buffers of block `i` (the probe plan is built only after they exist).
    pub(super) fn probe_layer(&self, i: usize) -> Result<(&ProbeBufs, &LayerProbeBufs)> {
        self.probes
            .as_ref()
            .and_then(|pb| pb.layers.get(i).map(|l| (pb, l)))
            .ok_or_else(|| GpuError::Unsupported("probe buffers are not allocated".into()))
    }
}
