//! Residual add `y += alpha * x` (shaders/add.wgsl).

use super::{need, u};
use crate::dispatch::{fold, groups, Dispatch};
use crate::{Gpu, Kernel, Result};

crate::params::params! {
    /// Mirrors `Params` of add.wgsl.
    pub struct AddParams {
        pub len: u32,
        pub alpha: f32,
        pub _pad: [u32; 2],
    }
}

/// y [len] += alpha * x [len].
#[derive(Debug, Clone, Copy)]
pub struct Add {
    pub len: usize,
    pub alpha: f32,
}

impl Add {
    /// Check shapes and build the dispatch.
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        need(label, x, self.len, "x")?;
        need(label, y, self.len, "y")?;
        let params = AddParams {
            len: u(label, self.len)?,
            alpha: self.alpha,
            _pad: [0; 2],
        };
        Dispatch::new(
            gpu,
            label,
            Kernel::Add,
            &[],
            &params,
            &[x],
            &[y],
            fold(gpu, label, [groups(self.len, 64), 1])?,
        )
    }
}
