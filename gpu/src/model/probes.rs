//! Probe buffers: the quantities the views draw (docs/FORMAT.md, "Probes"), with the
//! meaning `hybrid_core::cpu` gives them under `ForwardOptions { probes: true, .. }`, for
//! one chunk run from position 0 (`Session::prefill_probed`).
//!
//! This module owns the buffers the probe dispatches write (sized for the session's chunk,
//! allocated on the first probed call), their copy into one staging buffer and the
//! unpacking of what comes back into `hybrid_core::Probes`. The probe dispatches
//! themselves are the plan's probe hooks (`plan/probe.rs`): the same plan builder with
//! these buffers given. The state norms run the recurrence on a copy of the session's
//! SSM state, copied in the same submission before the plan ([`ProbeBufs::copy_states`]),
//! so the session's state advances only through the normal scan.

use hybrid_core::{LayerProbes, ModelConfig, Probes};

use super::acts::LayerState;
use super::weights::{GpuWeights, MixerBufs};
use crate::{Gpu, Result};

/// Probe outputs of one block, each sized for a chunk of `cap` tokens (a call of T tokens
/// fills the leading [.., T, T] / [T, ..] part); `None` where the block has no such probe.
#[derive(Debug)]
pub(crate) struct LayerProbeBufs {
    attn_heads: usize,
    ssm_heads: usize,
    /// [Hq, cap, cap] softmax weights.
    pub attn_probs: Option<wgpu::Buffer>,
    /// [H, cap, cap] implicit attention.
    pub implicit: Option<wgpu::Buffer>,
    /// [cap, H] dt after softplus.
    pub dt: Option<wgpu::Buffer>,
    /// [cap, H] ||S_h|| after each token.
    pub state_norm: Option<wgpu::Buffer>,
    /// [H, P, N] the copy of the SSM state the state norms run on.
    pub state_copy: Option<wgpu::Buffer>,
    /// [cap, 2] norms of the attention and Mamba contributions (intra).
    pub branch_norms: Option<wgpu::Buffer>,
}

/// Every probe buffer, allocated on the first probed call.
#[derive(Debug)]
pub(crate) struct ProbeBufs {
    layers: Vec<LayerProbeBufs>,
    /// [cap, D] one intra branch's contribution in D-space (1 float without intra blocks).
    pub contrib: wgpu::Buffer,
    /// Every probe of every layer for `cap` tokens, back to back.
    staging: wgpu::Buffer,
}

impl ProbeBufs {
    /// The probe buffers of a model with weights `w`, for chunks of `cap` tokens.
    pub fn new(gpu: &Gpu, cfg: &ModelConfig, w: &GpuWeights, cap: usize) -> Result<Self> {
        let buf = |label: String, floats: usize| {
            gpu.storage(&label, (floats * 4) as u64, wgpu::BufferUsages::COPY_SRC)
        };
        let mut layers = Vec::new();
        let mut total = 0;
        let mut any_intra = false;
        for (i, b) in w.blocks.iter().enumerate() {
            let (a, m) = b.mixer.dims();
            let intra = matches!(b.mixer, MixerBufs::Intra(_));
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
        })
    }

    /// Bytes on the GPU: probe buffers, scratch and staging (the probe plans' params are
    /// the session's to count).
    pub fn bytes(&self) -> u64 {
        let layers: u64 = self
            .layers
            .iter()
            .flat_map(|l| l.buffers())
            .map(|b| b.size())
            .sum();
        layers + self.contrib.size() + self.staging.size()
    }

    /// The buffers of block `i`, if it has any.
    pub fn layer(&self, i: usize) -> Option<&LayerProbeBufs> {
        self.layers.get(i)
    }

    /// Record the copy of each block's SSM state into its `state_copy` (before the plan:
    /// the state norms' recurrence starts from it).
    pub fn copy_states(&self, enc: &mut wgpu::CommandEncoder, layers: &[LayerState]) {
        for (l, lp) in layers.iter().zip(&self.layers) {
            if let (Some((_, ssm)), Some(copy)) = (&l.ssm, &lp.state_copy) {
                enc.copy_buffer_to_buffer(ssm, 0, copy, 0, Some(ssm.size()));
            }
        }
    }

    /// Record the copy of every probe of T tokens into the staging buffer, back to back;
    /// returns the staging buffer and the floats copied.
    pub fn copy_out(&self, enc: &mut wgpu::CommandEncoder, t: usize) -> (&wgpu::Buffer, usize) {
        let mut off = 0u64;
        for lp in &self.layers {
            for (b, n) in lp.outputs(t) {
                if let Some(b) = b {
                    let bytes = (n * 4) as u64;
                    enc.copy_buffer_to_buffer(b, 0, &self.staging, off, Some(bytes));
                    off += bytes;
                }
            }
        }
        (&self.staging, (off / 4) as usize)
    }

    /// The probes of T tokens from what [`ProbeBufs::copy_out`] staged, read back.
    pub fn unpack(&self, t: usize, all: &[f32]) -> Probes {
        let mut rest = all;
        let mut take = |n: usize| {
            let (a, b) = rest.split_at(n.min(rest.len()));
            rest = b;
            a.to_vec()
        };
        let mut layers = Vec::with_capacity(self.layers.len());
        for lp in &self.layers {
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
        Probes { tokens: t, layers }
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
