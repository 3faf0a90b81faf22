//! Mamba-2's causal depthwise conv + SiLU with conv state (shaders/conv1d.wgsl).

use super::{ensure, need, u};
use crate::dispatch::{fold, groups, Dispatch};
use crate::{Gpu, Kernel, Result};

crate::params::params! {
    /// Mirrors `Params` of conv1d.wgsl.
    pub struct Conv1dParams {
        pub t: u32,
        pub channels: u32,
        pub width: u32,
        pub in_stride: u32,
        pub in_off: u32,
        pub _pad: [u32; 3],
    }
}

/// Input columns in_off..in_off+C of [T, in_stride] -> out [T, C]; state [W-1, C].
#[derive(Debug, Clone, Copy)]
pub struct Conv1d {
    pub t: usize,
    pub channels: usize,
    pub width: usize,
    pub in_stride: usize,
    pub in_off: usize,
}

/// Widest conv the shader handles (sets its override `MAX_W`).
pub const MAX_WIDTH: usize = 8;
/// Channels per workgroup (sets the override `CH` of conv1d.wgsl).
pub const CHANNELS_PER_WG: usize = 64;
/// Rows per workgroup (sets the override `ROWS` of conv1d.wgsl).
pub const ROWS_PER_WG: usize = 16;

impl Conv1d {
    /// Check shapes and build the dispatch: w [C, W], b [C].
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        inp: &wgpu::Buffer,
        w: &wgpu::Buffer,
        b: &wgpu::Buffer,
        state: &wgpu::Buffer,
        out: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let s = *self;
        ensure((1..=MAX_WIDTH).contains(&s.width), label, || {
            format!("conv width {} not in 1..={MAX_WIDTH}", s.width)
        })?;
        ensure(s.in_off + s.channels <= s.in_stride, label, || {
            format!("channels exceed the row: {s:?}")
        })?;
        need(label, inp, s.t * s.in_stride, "input")?;
        need(label, w, s.channels * s.width, "conv weight")?;
        need(label, b, s.channels, "conv bias")?;
        need(label, state, (s.width - 1) * s.channels, "conv state")?;
        need(label, out, s.t * s.channels, "out")?;
        let params = Conv1dParams {
            t: u(label, s.t)?,
            channels: u(label, s.channels)?,
            width: u(label, s.width)?,
            in_stride: u(label, s.in_stride)?,
            in_off: u(label, s.in_off)?,
            _pad: [0; 3],
        };
        Dispatch::new(
            gpu,
            label,
            Kernel::Conv1d,
            &[
                ("MAX_W", MAX_WIDTH as f64),
                ("CH", CHANNELS_PER_WG as f64),
                ("ROWS", ROWS_PER_WG as f64),
            ],
            &params,
            &[inp, w, b],
            &[state, out],
            fold(
                gpu,
                label,
                [
                    groups(s.channels, CHANNELS_PER_WG),
                    groups(s.t, ROWS_PER_WG),
                ],
            )?,
        )
    }
}
