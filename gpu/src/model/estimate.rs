//! [`MemoryEstimate`]: the bytes a [`GpuModel`](super::GpuModel) and one
//! [`Session`](super::Session) will allocate, from the config alone, before any buffer
//! exists (the page calls it before downloading a checkpoint; `GpuModel` and `Session`
//! check it against the device's limits before they allocate), and the check against a
//! device's limits that names the buffer over a limit.

use hybrid_core::config::{AttnDims, FfnAct, OutProj};
use hybrid_core::{Fusion, LayerKind, ModelConfig};

use super::acts::{block_dims, cache_layouts, decode_splits, Acts, Kind, Sizes};
use super::memory::MemoryReport;
use crate::ops::topk::MAX_K;
use crate::{GpuError, Result, WeightFormat};

/// Sizes a session preallocates for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Most tokens the KV cache holds (full attention); with a sliding window the cache
    /// is a ring of `sink_tokens + window` rows and the context is unbounded, as it is
    /// for pure Mamba models.
    pub max_context: usize,
    /// Most tokens per prefill submission (activations are sized for this); longer
    /// prompts run in chunks.
    pub chunk: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            max_context: 4096,
            chunk: 256,
        }
    }
}

/// What a model and one session will allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Bytes by kind, as [`Session::memory`](super::Session::memory) reports them for a
    /// fresh session (before its first plan; probes 0).
    pub report: MemoryReport,
    /// Every weight matrix and every session buffer over 4 KiB, (name, bytes): the ones
    /// a per-binding limit can refuse.
    pub buffers: Vec<(String, u64)>,
}

/// The estimate for `cfg` with its matrices in `format` and a session sized by `opts`.
pub fn estimate(cfg: &ModelConfig, format: WeightFormat, opts: SessionOptions) -> MemoryEstimate {
    let (cap, max_context) = (opts.chunk.max(1), opts.max_context.max(1));
    let mats = matrices(cfg);
    let mat_elems: u64 = mats.iter().map(|m| m.1).sum();
    let mut buffers: Vec<(String, u64)> = mats
        .into_iter()
        .map(|(n, e)| (n, format.bytes(e as usize)))
        .collect();
    // norms, conv, per-head parameters: f32 (the intra branch scalars live in uniforms)
    let scalars = cfg.intra.as_ref().map_or(0, |i| {
        let per = if i.branch_scalars { 2 } else { 0 };
        per * cfg
            .layers
            .iter()
            .filter(|k| **k == LayerKind::Intra)
            .count() as u64
    });
    let params = cfg.param_count_u64() + head_of_fold(cfg);
    let vectors = params.saturating_sub(mat_elems + scalars) * 4;
    let mut r = MemoryReport {
        weights: vectors + buffers.iter().map(|b| b.1).sum::<u64>(),
        ssm_state: cfg.ssm_state_bytes() as u64,
        conv_state: cfg.conv_state_bytes() as u64,
        ..Default::default()
    };
    let layouts = cache_layouts(cfg, &[]);
    for (i, layout) in layouts.iter().enumerate() {
        let (attn, mamba) = block_dims(cfg, i);
        // the interventions' dt edits, [3, H] f32 per Mamba mixer or branch
        r.other += mamba.map_or(0, |m| 3 * m.n_heads as u64 * 4);
        if let Some(a) = attn {
            let rows = layout.rows(max_context).max(1) as u64;
            let (k, v) = (rows * a.k_dim() as u64 * 4, rows * a.v_dim() as u64 * 4);
            r.kv_cache += k.max(4) + v.max(4);
            buffers.push((format!("layers.{i} k cache"), k));
            buffers.push((format!("layers.{i} v cache"), v));
        }
    }
    let sizes = Sizes::of(cfg, cap, decode_splits(cfg, &layouts, max_context));
    for (label, kind, bytes) in Acts::planned(&sizes) {
        match kind {
            Kind::Activation => r.activations += bytes,
            Kind::Input => r.other += bytes,
        }
        buffers.push((label.to_string(), bytes));
    }
    let logits_staging = (sizes.logit_rows * cfg.vocab_size * 4) as u64;
    buffers.push(("logits staging".into(), logits_staging));
    // + top-k staging, two token stagings, the argmax's params uniform
    r.other += logits_staging + (MAX_K * 8) as u64 + 2 * 4 + 16;
    buffers.retain(|b| b.1 > 4096);
    MemoryEstimate { report: r, buffers }
}

impl MemoryEstimate {
    /// Refuse, naming the buffer and the limit, when a buffer is over the device's
    /// per-binding or per-buffer limit, or the total is over `budget` (bytes the device
    /// can give, where the caller knows it).
    pub fn check(&self, limits: &wgpu::Limits, budget: Option<u64>) -> Result<()> {
        let binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        for (name, bytes) in &self.buffers {
            // staging buffers are never bound
            let limit = if name.ends_with("staging") {
                limits.max_buffer_size
            } else {
                binding
            };
            if *bytes > limit {
                return Err(GpuError::TooLarge {
                    what: name.clone(),
                    bytes: *bytes,
                    limit,
                });
            }
        }
        match budget {
            Some(b) if self.report.total() > b => Err(GpuError::TooLarge {
                what: "the weights and one session together".into(),
                bytes: self.report.total(),
                limit: b,
            }),
            _ => Ok(()),
        }
    }

    /// The largest buffer, (name, bytes).
    pub fn largest(&self) -> Option<&(String, u64)> {
        self.buffers.iter().max_by_key(|b| b.1)
    }
}

/// A tied head that gets its own matrix when Granite's scalars are folded (fold.rs).
fn head_of_fold(cfg: &ModelConfig) -> u64 {
    let one = |s: Option<f32>| s.unwrap_or(1.0);
    if cfg.tie_embeddings && one(cfg.logit_scale) != one(cfg.embed_scale) {
        cfg.vocab_size as u64 * cfg.d_model as u64
    } else {
        0
    }
}

/// The weight matrices the GPU stores in the [`WeightFormat`], (name, elements), named
/// as the upload labels them (weights.rs).
fn matrices(cfg: &ModelConfig) -> Vec<(String, u64)> {
    let (v, d, f) = (cfg.vocab_size as u64, cfg.d_model as u64, cfg.d_ffn as u64);
    let mut m = vec![("embed_tokens".to_string(), v * d)];
    if !cfg.tie_embeddings || head_of_fold(cfg) > 0 {
        m.push(("lm_head".into(), v * d));
    }
    let qkv = |a: AttnDims| (a.q_dim() + a.kv_row()) as u64 * d;
    for i in 0..cfg.layers.len() {
        let p = format!("layers.{i}.");
        let (attn, ssm) = block_dims(cfg, i);
        match (cfg.layers[i], attn, ssm) {
            (LayerKind::Attention, Some(a), _) => {
                m.push((format!("{p}qkv"), qkv(a)));
                m.push((format!("{p}o_proj"), d * a.o_dim() as u64));
            }
            (LayerKind::Mamba, _, Some(s)) => {
                m.push((format!("{p}in_proj"), s.in_proj_dim() as u64 * d));
                m.push((format!("{p}out_proj"), d * s.d_inner() as u64));
            }
            (LayerKind::Intra, Some(a), Some(s)) => {
                let (oa, eb) = (a.o_dim() as u64, s.d_inner() as u64);
                m.push((format!("{p}attn.qkv"), qkv(a)));
                m.push((format!("{p}ssm.in_proj"), s.in_proj_dim() as u64 * d));
                let out = cfg.intra.as_ref().map(|c| (c.out_proj, c.fusion));
                match out {
                    Some((OutProj::Separate, Fusion::Add | Fusion::Subtract)) => {
                        m.push((format!("{p}attn.o_proj"), d * oa));
                        m.push((format!("{p}ssm.out_proj"), d * eb));
                    }
                    Some((OutProj::Joint, Fusion::Add | Fusion::Subtract)) => {
                        m.push((format!("{p}out_proj"), d * oa));
                    }
                    _ => m.push((format!("{p}out_proj"), d * (oa + eb))),
                }
            }
            _ => {}
        }
        if cfg.has_ffn(i) {
            let up = match cfg.ffn_act {
                FfnAct::Swiglu => ("gate|up", 2 * f * d),
                FfnAct::Relu2 => ("up_proj", f * d),
            };
            m.push((format!("{p}{}", up.0), up.1));
            m.push((format!("{p}down_proj"), d * f));
        }
    }
    m
}
