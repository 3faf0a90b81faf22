//! Grouped RMSNorm (shaders/rmsnorm.wgsl): whole rows (block norms), per head (intra
//! branch norms) or per group (Mamba's gated norm), with an extra scale (branch scalars).

use super::{ensure, need, u};
use crate::dispatch::{fold, Dispatch};
use crate::{Gpu, Kernel, Result};

crate::params::params! {
    /// Mirrors `Params` of rmsnorm.wgsl.
    pub struct RmsNormParams {
        pub rows: u32,
        pub cols: u32,
        pub group: u32,
        pub eps: f32,
        pub scale: f32,
        pub _pad: [u32; 3],
    }
}

/// out [rows, cols] = rms_per_group(x) * w * scale.
#[derive(Debug, Clone, Copy)]
pub struct RmsNorm {
    pub rows: usize,
    pub cols: usize,
    pub group: usize,
    pub eps: f32,
    pub scale: f32,
}

impl RmsNorm {
    /// Check shapes and build the dispatch: x [rows, cols], w [cols] -> out [rows, cols].
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        x: &wgpu::Buffer,
        w: &wgpu::Buffer,
        out: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let s = *self;
        ensure(
            s.rows > 0 && s.group > 0 && s.cols.is_multiple_of(s.group),
            label,
            || format!("bad groups {s:?}"),
        )?;
        need(label, x, s.rows * s.cols, "x")?;
        need(label, w, s.cols, "w")?;
        need(label, out, s.rows * s.cols, "out")?;
        let params = RmsNormParams {
            rows: u(label, s.rows)?,
            cols: u(label, s.cols)?,
            group: u(label, s.group)?,
            eps: s.eps,
            scale: s.scale,
            _pad: [0; 3],
        };
        let grid = fold(gpu, label, [u(label, s.cols / s.group)?, u(label, s.rows)?])?;
        Dispatch::new(
            gpu,
            label,
            Kernel::RmsNorm,
            &[("WG", 64.0)],
            &params,
            &[x, w],
            &[out],
            grid,
        )
    }
}
