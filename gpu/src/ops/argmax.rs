//! Greedy sampling on the GPU (shaders/argmax.wgsl): the token stays on the device.

use super::{ensure, need, u};
use crate::dispatch::Dispatch;
use crate::{Gpu, Kernel, Result};

crate::params::params! {
    /// Mirrors `Params` of argmax.wgsl.
    pub struct ArgmaxParams {
        pub n: u32,
        pub off: u32,
        pub _pad: [u32; 2],
    }
}

/// logits [off + n] -> out [1] (u32), ties to the lowest index.
#[derive(Debug, Clone, Copy)]
pub struct Argmax {
    pub n: usize,
    pub off: usize,
}

impl Argmax {
    /// Check shapes and build the dispatch.
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        logits: &wgpu::Buffer,
        out: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        ensure(self.n > 0, label, || "no candidates".into())?;
        need(label, logits, self.off + self.n, "logits")?;
        need(label, out, 1, "out")?;
        let params = ArgmaxParams {
            n: u(label, self.n)?,
            off: u(label, self.off)?,
            _pad: [0; 2],
        };
        Dispatch::new(
            gpu,
            label,
            Kernel::Argmax,
            &[],
            &params,
            &[logits],
            &[out],
            [1, 1, 1],
        )
    }
}
