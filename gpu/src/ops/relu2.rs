//! The squared-ReLU activation of an FFN without a gate (shaders/relu2.wgsl).

use super::{need, u};
use crate::dispatch::{fold, groups, Dispatch};
use crate::{Gpu, Kernel, Result};

crate::params::params! {
    /// Mirrors `Params` of relu2.wgsl.
    pub struct Relu2Params {
        pub t: u32,
        pub f: u32,
        pub _pad: [u32; 2],
    }
}

/// up [T, F] -> act [T, F] = max(up, 0)^2.
#[derive(Debug, Clone, Copy)]
pub struct Relu2 {
    pub t: usize,
    pub f: usize,
}

impl Relu2 {
    /// Check shapes and build the dispatch.
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        up: &wgpu::Buffer,
        act: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        need(label, up, self.t * self.f, "up")?;
        need(label, act, self.t * self.f, "act")?;
        let params = Relu2Params {
            t: u(label, self.t)?,
            f: u(label, self.f)?,
            _pad: [0; 2],
        };
        Dispatch::new(
            gpu,
            label,
            Kernel::Relu2,
            &[],
            &params,
            &[up],
            &[act],
            fold(gpu, label, [groups(self.t * self.f, 64), 1])?,
        )
    }
}
