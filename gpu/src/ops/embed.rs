//! Token embedding gather (shaders/embed.wgsl).

use super::{need, u};
use crate::dispatch::{groups, Dispatch};
use crate::{Gpu, Kernel, Result};

/// Mirrors `Params` of embed.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct EmbedParams {
    pub t: u32,
    pub d: u32,
    pub vocab: u32,
    pub _pad: u32,
}

/// tokens [T] (u32), table [V, D] -> x [T, D].
#[derive(Debug, Clone, Copy)]
pub struct Embed {
    pub t: usize,
    pub d: usize,
    pub vocab: usize,
}

impl Embed {
    /// Check shapes and build the dispatch.
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        tokens: &wgpu::Buffer,
        table: &wgpu::Buffer,
        x: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        need(label, tokens, self.t, "tokens")?;
        need(label, table, self.vocab * self.d, "table")?;
        need(label, x, self.t * self.d, "x")?;
        let params = EmbedParams {
            t: u(label, self.t)?,
            d: u(label, self.d)?,
            vocab: u(label, self.vocab)?,
            _pad: 0,
        };
        Dispatch::new(
            gpu,
            label,
            Kernel::Embed,
            &[],
            &params,
            &[tokens, table],
            &[x],
            [groups(self.t * self.d, 64), 1, 1],
        )
    }
}
