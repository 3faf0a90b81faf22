//! The Mamba-2 selective scan + gate, token by token (shaders/ssm_scan.wgsl): a workgroup
//! of 16 threads per channel over the state dim, [`CHANNELS_PER_WG`] channels (64 threads).

use super::{ensure, need, u};
use crate::dispatch::{fold, groups, Dispatch};
use crate::{Gpu, Kernel, Result};
use hybrid_core::config::MambaDims;

/// The freeze row of `dt_edit` that no chunk row reaches (2^24, exact in f32): no freeze.
pub const DT_NO_FREEZE: f32 = 16_777_216.0;

/// The `dt_edit` rows [3, H] that change nothing: k = 1, m = +inf, no freeze (`edit_dt`
/// of the scan shaders).
pub fn dt_edit_neutral(heads: usize) -> Vec<f32> {
    let mut v = vec![1.0; heads];
    v.extend(std::iter::repeat_n(f32::INFINITY, heads));
    v.extend(std::iter::repeat_n(DT_NO_FREEZE, heads));
    v
}

/// Channels (h, p) per workgroup: sets the override `CH` of ssm_scan.wgsl (16 threads each).
pub const CHANNELS_PER_WG: usize = 4;

crate::params::params! {
    /// The scan layout every Mamba-2 scan shader reads (t .. xbc_stride, the head of
    /// [`ScanParams`]), made by [`SsmScanParams::checked`].
    pub struct SsmScanParams {
        pub t: u32,
        pub heads: u32,
        pub head_dim: u32,
        pub d_state: u32,
        pub groups: u32,
        pub proj_stride: u32,
        pub dt_off: u32,
        pub xbc_stride: u32,
    }
}

crate::params::params! {
    /// Mirrors `Params` of every Mamba-2 scan shader: ssm_scan.wgsl, ssd_chunk_state.wgsl,
    /// ssd_state_pass.wgsl, ssd_chunk_out.wgsl, ssm_probes.wgsl and ssm_state_norm.wgsl
    /// (one struct, copied identically into the six files; gpu/tests/contract.rs holds
    /// the copies equal).
    pub struct ScanParams {
        /// The scan layout (t .. xbc_stride).
        pub scan: SsmScanParams,
        /// ceil(T / L) for the chunked SSD kernels; 0 for the others (they do not read it).
        pub n_chunks: u32,
    }
}

impl From<SsmScanParams> for ScanParams {
    /// The params of a kernel that does not read `n_chunks`.
    fn from(scan: SsmScanParams) -> Self {
        ScanParams { scan, n_chunks: 0 }
    }
}

impl SsmScanParams {
    /// The layout every Mamba-2 scan shader reads (ssm_scan, the SSD kernels, the probes),
    /// after checking the shared inputs of T tokens: proj [T, 2E+2GN+H], xbc [T, E+2GN],
    /// heads [3, H], dt_edit [3, H] ([`dt_edit_neutral`]), and H % G == 0.
    pub fn checked(
        label: &str,
        t: usize,
        m: MambaDims,
        proj: &wgpu::Buffer,
        xbc: &wgpu::Buffer,
        heads: &wgpu::Buffer,
        dt_edit: &wgpu::Buffer,
    ) -> Result<Self> {
        ensure(
            m.n_groups > 0 && m.n_heads.is_multiple_of(m.n_groups),
            label,
            || "H % G != 0".into(),
        )?;
        need(label, proj, t * m.in_proj_dim(), "proj")?;
        need(label, xbc, t * m.conv_dim(), "xbc")?;
        need(label, heads, 3 * m.n_heads, "dt_bias | A_log | D")?;
        need(label, dt_edit, 3 * m.n_heads, "dt edit")?;
        Ok(SsmScanParams {
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
}

/// proj [T, 2E+2GN+H] (z | xBC | dt), xbc [T, E+2GN], heads [3, H], dt_edit [3, H] -> y
/// [T, E]; state [H, P, N].
#[derive(Debug, Clone, Copy)]
pub struct SsmScan {
    pub t: usize,
    pub dims: MambaDims,
}

impl SsmScan {
    /// Check shapes and build the dispatch.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        proj: &wgpu::Buffer,
        xbc: &wgpu::Buffer,
        heads: &wgpu::Buffer,
        dt_edit: &wgpu::Buffer,
        state: &wgpu::Buffer,
        y: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let m = self.dims;
        let t = self.t;
        let scan = SsmScanParams::checked(label, t, m, proj, xbc, heads, dt_edit)?;
        let params = ScanParams::from(scan);
        need(label, state, m.ssm_state_len(), "ssm state")?;
        need(label, y, t * m.d_inner(), "y")?;
        Dispatch::new(
            gpu,
            label,
            Kernel::SsmScan,
            &[("CH", CHANNELS_PER_WG as f64)],
            &params,
            &[proj, xbc, heads, dt_edit],
            &[state, y],
            fold(gpu, label, [groups(m.d_inner(), CHANNELS_PER_WG), 1])?,
        )
    }
}
