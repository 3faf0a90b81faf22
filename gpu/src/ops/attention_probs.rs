//! Attention probabilities of a chunk run from position 0, for the probes
//! (shaders/attention_probs.wgsl): softmax rows from the RoPE'd q and k in the qkv buffer,
//! zeros where a key is not visible (causal, sliding window + sinks).

use super::attention::{CacheLayout, KeyView};
use super::qkv::QkvLayout;
use super::{ensure, need, u};
use crate::dispatch::{fold, Dispatch};
use crate::{Gpu, Kernel, Result};

crate::params::params! {
    /// Mirrors `Params` of attention_probs.wgsl.
    pub struct AttentionProbsParams {
        pub t: u32,
        pub stride: u32,
        pub k_off: u32,
        pub n_heads: u32,
        pub n_kv_heads: u32,
        pub head_dim: u32,
        pub window: u32,
        pub sinks: u32,
        pub scale: f32,
        pub hide_lo: u32,
        pub hide_hi: u32,
        pub _pad: u32,
    }
}

/// qkv [T, stride] (q at column 0, k at `k_off`, RoPE applied, positions 0..T) ->
/// probs [Hq, T, T].
#[derive(Debug, Clone, Copy)]
pub struct AttentionProbs {
    pub t: usize,
    pub stride: usize,
    pub k_off: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    /// Window and sinks (the visibility rule; no cache is read).
    pub layout: CacheLayout,
    /// An imposed window and hidden keys (interventions).
    pub view: KeyView,
}

impl AttentionProbs {
    /// What it reads of qkv (q and k; no cache).
    fn qkv(&self) -> QkvLayout {
        QkvLayout {
            rows: self.t,
            stride: self.stride,
            q_heads: self.n_heads,
            kv_heads: self.n_kv_heads,
            head_dim: self.head_dim,
            v_head_dim: self.head_dim, // v is not read
            k_off: self.k_off,
            v_off: None,
            cache_rows: None,
        }
    }

    /// Check shapes and build the dispatch.
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        qkv: &wgpu::Buffer,
        probs: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let s = *self;
        ensure(s.t > 0 && s.head_dim > 0, label, || format!("empty: {s:?}"))?;
        s.qkv().check(label, &s, qkv, None)?;
        need(label, probs, s.n_heads * s.t * s.t, "probs")?;
        let (hide_lo, hide_hi) = s.view.hide();
        let params = AttentionProbsParams {
            t: u(label, s.t)?,
            stride: u(label, s.stride)?,
            k_off: u(label, s.k_off)?,
            n_heads: u(label, s.n_heads)?,
            n_kv_heads: u(label, s.n_kv_heads)?,
            head_dim: u(label, s.head_dim)?,
            window: u(label, s.view.window(&s.layout))?,
            sinks: u(label, s.layout.sinks)?,
            scale: 1.0 / (s.head_dim as f32).sqrt(),
            hide_lo,
            hide_hi,
            _pad: 0,
        };
        Dispatch::new(
            gpu,
            label,
            Kernel::AttentionProbs,
            &[],
            &params,
            &[qkv],
            &[probs],
            fold(gpu, label, [u(label, s.t)?, u(label, s.n_heads)?])?,
        )
    }
}
