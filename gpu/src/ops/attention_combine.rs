//! Merge the split-K partials of [`AttentionSplit`](super::attention_split::AttentionSplit)
//! into one output row, heads concatenated (shaders/attention_combine.wgsl): a workgroup
//! of 256 threads per head, parallel over the splits (at most [`MAX_SPLITS`]).

use super::attention_split::MAX_SPLITS;
use super::{ensure, need, u};
use crate::dispatch::Dispatch;
use crate::{Gpu, Kernel, Result};

crate::params::params! {
    /// Mirrors `Params` of attention_combine.wgsl.
    pub struct AttentionCombineParams {
        pub n_heads: u32,
        pub head_dim: u32,
        pub splits: u32,
        pub _pad: u32,
    }
}

/// partials [Hq, splits, dh + 2] -> out [1, Hq*dh].
#[derive(Debug, Clone, Copy)]
pub struct AttentionCombine {
    pub n_heads: usize,
    pub head_dim: usize,
    pub splits: usize,
}

impl AttentionCombine {
    /// Check shapes and build the dispatch.
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        partials: &wgpu::Buffer,
        out: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let s = *self;
        ensure(s.head_dim <= 256 && s.head_dim > 0, label, || {
            format!("head_dim {} > 256", s.head_dim)
        })?;
        ensure((1..=MAX_SPLITS).contains(&s.splits), label, || {
            format!("splits {} not in 1..={MAX_SPLITS}", s.splits)
        })?;
        need(
            label,
            partials,
            s.n_heads * s.splits * (s.head_dim + 2),
            "partials",
        )?;
        need(label, out, s.n_heads * s.head_dim, "out")?;
        let params = AttentionCombineParams {
            n_heads: u(label, s.n_heads)?,
            head_dim: u(label, s.head_dim)?,
            splits: u(label, s.splits)?,
            _pad: 0,
        };
        Dispatch::new(
            gpu,
            label,
            Kernel::AttentionCombine,
            &[],
            &params,
            &[partials],
            &[out],
            [u(label, s.n_heads)?, 1, 1],
        )
    }
}
