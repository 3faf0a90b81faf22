//! Mamba-2 probes of a chunk: dt and the implicit attention (shaders/ssm_probes.wgsl), and
//! the state norm after every token from the recurrence on a copy of the state
//! (shaders/ssm_state_norm.wgsl). Same inputs as [`super::ssm_scan::SsmScan`].

use super::ssm_scan::{ScanParams, SsmScanParams};
use super::{ensure, need, u};
use crate::dispatch::{fold, Dispatch};
use crate::{Gpu, Kernel, Result};
use hybrid_core::config::MambaDims;

/// `Params` of ssm_probes.wgsl and ssm_state_norm.wgsl: the scan layout ([`ScanParams`],
/// `n_chunks` unused).
pub type SsmProbeParams = ScanParams;

/// proj [T, 2E+2GN+H] (z | xBC | dt), xbc [T, E+2GN], heads [3, H], dt_edit [3, H] -> the
/// probes.
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
        dt_edit: &wgpu::Buffer,
    ) -> Result<SsmProbeParams> {
        ensure(self.t > 0, label, || "T = 0".into())?;
        SsmScanParams::checked(label, self.t, self.dims, proj, xbc, heads, dt_edit)
            .map(ScanParams::from)
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
        dt_edit: &wgpu::Buffer,
        dt: &wgpu::Buffer,
        implicit: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let params = self.params(label, proj, xbc, heads, dt_edit)?;
        let (t, h) = (self.t, self.dims.n_heads);
        need(label, dt, t * h, "dt")?;
        need(label, implicit, h * t * t, "implicit attention")?;
        Dispatch::new(
            gpu,
            label,
            Kernel::SsmProbes,
            &[],
            &params,
            &[proj, xbc, heads, dt_edit],
            &[dt, implicit],
            fold(gpu, label, [u(label, t)?, u(label, h)?])?,
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
        dt_edit: &wgpu::Buffer,
        state: &wgpu::Buffer,
        norms: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let params = self.params(label, proj, xbc, heads, dt_edit)?;
        let (t, h) = (self.t, self.dims.n_heads);
        need(label, state, self.dims.ssm_state_len(), "state copy")?;
        need(label, norms, t * h, "state norms")?;
        Dispatch::new(
            gpu,
            label,
            Kernel::SsmStateNorm,
            &[],
            &params,
            &[proj, xbc, heads, dt_edit],
            &[state, norms],
            [u(label, h)?, 1, 1],
        )
    }
}
