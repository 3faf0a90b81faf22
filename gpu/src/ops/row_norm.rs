//! L2 norm of each row into one column of a strided output (shaders/row_norm.wgsl): the
//! branch norms of intra blocks, for the probes.

use super::{ensure, need, u};
use crate::dispatch::{fold, Dispatch};
use crate::{Gpu, Kernel, Result};

crate::params::params! {
    /// Mirrors `Params` of row_norm.wgsl.
    pub struct RowNormParams {
        pub rows: u32,
        pub cols: u32,
        pub out_stride: u32,
        pub out_off: u32,
    }
}

/// x [rows, cols] -> out[r * out_stride + out_off] = ||x[r, :]||.
#[derive(Debug, Clone, Copy)]
pub struct RowNorm {
    pub rows: usize,
    pub cols: usize,
    pub out_stride: usize,
    pub out_off: usize,
}

impl RowNorm {
    /// Check shapes and build the dispatch.
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        x: &wgpu::Buffer,
        out: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let s = *self;
        ensure(
            s.rows > 0 && s.cols > 0 && s.out_off < s.out_stride,
            label,
            || format!("bad shape {s:?}"),
        )?;
        need(label, x, s.rows * s.cols, "x")?;
        need(
            label,
            out,
            (s.rows - 1) * s.out_stride + s.out_off + 1,
            "out",
        )?;
        let params = RowNormParams {
            rows: u(label, s.rows)?,
            cols: u(label, s.cols)?,
            out_stride: u(label, s.out_stride)?,
            out_off: u(label, s.out_off)?,
        };
        Dispatch::new(
            gpu,
            label,
            Kernel::RowNorm,
            &[],
            &params,
            &[x],
            &[out],
            fold(gpu, label, [u(label, s.rows)?, 1])?,
        )
    }
}
