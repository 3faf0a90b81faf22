//! Mamba-2 probes of a chunk: dt and the implicit attention (shaders/ssm_probes.wgsl), and
//! the state norm after every token from the recurrence on a copy of the state
//! (shaders/ssm_state_norm.wgsl). Same inputs as [`super::ssm_scan::SsmScan`].

use super::{ensure, need, u};
use crate::dispatch::Dispatch;
use crate::{Gpu, Kernel, Result};
use hybrid_core::config::MambaDims;

/// Mirrors `Params` of ssm_probes.wgsl and ssm_state_norm.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SsmProbeParams {
    pub t: u32,
    pub heads: u32,
    pub head_dim: u32,
    pub d_state: u32,
    pub groups: u32,
    pub proj_stride: u32,
    pub dt_off: u32,
    pub xbc_stride: u32,
}

/// proj [T, 2E+2GN+H] (z | xBC | dt), xbc [T, E+2GN], heads [3, H] -> the probes.
#[derive(Debug, Clone, Copy)]
pub struct SsmProbes {
    pub t: usize,
    pub dims: MambaDims,
}

impl SsmProbes {
    fn params(
        &self,
        label: &str,
        proj: &wgpu::Buffer,
        xbc: &wgpu::Buffer,
        heads: &wgpu::Buffer,
    ) -> Result<SsmProbeParams> {
        let m = self.dims;
        let t = self.t;
        ensure(t > 0, label, || "T = 0".into())?;
        ensure(
            m.n_groups > 0 && m.n_heads.is_multiple_of(m.n_groups),
            label,
            || "H % G != 0".into(),
        )?;
        need(label, proj, t * m.in_proj_dim(), "proj")?;
        need(label, xbc, t * m.conv_dim(), "xbc")?;
        need(label, heads, 3 * m.n_heads, "dt_bias | A_log | D")?;
        Ok(SsmProbeParams {
            t: u(label, t)?,
            heads: u(label, m.n_heads)?,
            head_dim: u(label, m.head_dim)?,
            d_state: u(label, m.d_state)?,
            groups: u(label, m.n_groups)?,
            proj_stride: u(label, m.in_proj_dim())?,
            dt_off: u(label, m.d_inner() + m.conv_dim())?,
            xbc_stride: u(label, m.conv_dim())?,
        })
    }

    /// dt [T, H] (softplus applied) and the implicit attention [H, T, T].
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        proj: &wgpu::Buffer,
        xbc: &wgpu::Buffer,
        heads: &wgpu::Buffer,
        dt: &wgpu::Buffer,
        implicit: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let params = self.params(label, proj, xbc, heads)?;
        let (t, h) = (self.t, self.dims.n_heads);
        need(label, dt, t * h, "dt")?;
        need(label, implicit, h * t * t, "implicit attention")?;
        Dispatch::new(
            gpu,
            label,
            Kernel::SsmProbes,
            &[],
            &params,
            &[proj, xbc, heads],
            &[dt, implicit],
            [u(label, t)?, u(label, h)?, 1],
        )
    }

    /// ||S_h|| after each token [T, H], running the recurrence on `state` [H, P, N] (a copy
    /// of the session's state, which it advances).
    #[allow(clippy::too_many_arguments)]
    pub fn build_state_norm(
        &self,
        gpu: &Gpu,
        label: &str,
        proj: &wgpu::Buffer,
        xbc: &wgpu::Buffer,
        heads: &wgpu::Buffer,
        state: &wgpu::Buffer,
        norms: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let params = self.params(label, proj, xbc, heads)?;
        let (t, h) = (self.t, self.dims.n_heads);
        need(label, state, self.dims.ssm_state_len(), "state copy")?;
        need(label, norms, t * h, "state norms")?;
        Dispatch::new(
            gpu,
            label,
            Kernel::SsmStateNorm,
            &[],
            &params,
            &[proj, xbc, heads],
            &[state, norms],
            [u(label, h)?, 1, 1],
        )
    }
}
