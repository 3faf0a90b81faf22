//! Token embedding gather (shaders/embed.wgsl).

use super::{need, need_w, u};
use crate::dispatch::{fold, groups, Dispatch};
use crate::{Gpu, Kernel, Result, WeightFormat};

crate::params::params! {
    /// Mirrors `Params` of embed.wgsl.
    pub struct EmbedParams {
        pub t: u32,
        pub d: u32,
        pub vocab: u32,
        pub _pad: u32,
    }
}

/// tokens [T] (u32), table [V, D] (f32, f16 or bf16) -> x [T, D].
#[derive(Debug, Clone, Copy)]
pub struct Embed {
    pub t: usize,
    pub d: usize,
    pub vocab: usize,
    /// How the table is stored (f32, or packed 16-bit pairs).
    pub format: WeightFormat,
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
        need_w(label, table, self.vocab * self.d, self.format, "table")?;
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
            &[("W_FORMAT", self.format.shader_code())],
            &params,
            &[tokens, table],
            &[x],
            fold(gpu, label, [groups(self.t * self.d, 64), 1])?,
        )
    }
}
