//! The SwiGLU gate on a fused gate|up output (shaders/swiglu.wgsl).

use super::{need, u};
use crate::dispatch::{fold, groups, Dispatch};
use crate::{Gpu, Kernel, Result};

crate::params::params! {
    /// Mirrors `Params` of swiglu.wgsl.
    pub struct SwiGluParams {
        pub t: u32,
        pub f: u32,
        pub _pad: [u32; 2],
    }
}

/// gu [T, 2F] -> act [T, F].
#[derive(Debug, Clone, Copy)]
pub struct SwiGlu {
    pub t: usize,
    pub f: usize,
}

impl SwiGlu {
    /// Check shapes and build the dispatch.
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        gu: &wgpu::Buffer,
        act: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        need(label, gu, self.t * 2 * self.f, "gate|up")?;
        need(label, act, self.t * self.f, "act")?;
        let params = SwiGluParams {
            t: u(label, self.t)?,
            f: u(label, self.f)?,
            _pad: [0; 2],
        };
        Dispatch::new(
            gpu,
            label,
            Kernel::SwiGlu,
            &[],
            &params,
            &[gu],
            &[act],
            fold(gpu, label, [groups(self.t * self.f, 64), 1])?,
        )
    }
}
