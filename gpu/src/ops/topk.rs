//! The k largest logits of a row and their ids, on the GPU (shaders/topk.wgsl, two
//! passes), so that sampling reads back k candidates instead of the whole row.

use super::{ensure, need, u};
use crate::dispatch::{fold, Dispatch};
use crate::{Gpu, Kernel, Result};

crate::params::params! {
    /// Mirrors `Params` of topk.wgsl.
    pub struct TopKParams {
        pub n: u32,
        pub off: u32,
        pub k: u32,
        pub per: u32,
    }
}

/// Most candidates (`WG` of topk.wgsl: one workgroup sorts them).
pub const MAX_K: usize = 256;
/// Logits per workgroup of the first pass.
pub const PER: usize = 4096;

/// Workgroups of the first pass over `n` logits.
pub fn groups(n: usize) -> usize {
    n.div_ceil(PER).max(1)
}

/// 32-bit words of the first pass's output over `n` logits: [groups, MAX_K, 2].
pub fn scratch_words(n: usize) -> usize {
    groups(n) * MAX_K * 2
}

/// logits [off + n] -> out [k, 2] (id, f32 bits), by logit descending, ties to the lowest
/// id, non-finite logits skipped; slots past the finite logits hold id `u32::MAX`.
#[derive(Debug, Clone, Copy)]
pub struct TopK {
    pub n: usize,
    pub off: usize,
    pub k: usize,
}

impl TopK {
    /// Check shapes and build the two dispatches: the top k of each slice of [`PER`]
    /// logits into `scratch` [groups, k, 2], then the top k of those into `out` [k, 2].
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        logits: &wgpu::Buffer,
        scratch: &wgpu::Buffer,
        out: &wgpu::Buffer,
    ) -> Result<[Dispatch; 2]> {
        let s = *self;
        ensure(s.n > 0 && (1..=MAX_K).contains(&s.k), label, || {
            format!("top-k needs n > 0 and 1 <= k <= {MAX_K}: {s:?}")
        })?;
        let g = groups(s.n);
        need(label, logits, s.off + s.n, "logits")?;
        need(label, scratch, g * s.k * 2, "scratch")?;
        need(label, out, s.k * 2, "out")?;
        let pass = |name: &str, pairs: bool, params: TopKParams, grid: usize| {
            let (inp, dst) = if pairs {
                (scratch, out)
            } else {
                (logits, scratch)
            };
            let label = format!("{label}: {name}");
            let grid = fold(gpu, &label, [u(&label, grid)?, 1])?;
            let pairs = ("PAIRS", if pairs { 1.0 } else { 0.0 });
            Dispatch::new(
                gpu,
                &label,
                Kernel::TopK,
                &[pairs],
                &params,
                &[inp],
                &[dst],
                grid,
            )
        };
        let slices = TopKParams {
            n: u(label, s.n)?,
            off: u(label, s.off)?,
            k: u(label, s.k)?,
            per: u(label, PER)?,
        };
        let pairs = u(label, g * s.k)?;
        let merge = TopKParams {
            n: pairs,
            off: 0,
            k: slices.k,
            per: pairs,
        };
        Ok([
            pass("slices", false, slices, g)?,
            pass("merge", true, merge, 1)?,
        ])
    }
}
