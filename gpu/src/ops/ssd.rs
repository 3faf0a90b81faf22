//! The Mamba-2 scan + gate of a prefill in the chunked SSD form (shaders/ssd_chunk_state.wgsl,
//! ssd_state_pass.wgsl, ssd_chunk_out.wgsl): chunks of [`SSD_CHUNK`] tokens run in parallel
//! (their own end states, then their outputs) and only the state hand-off between chunks is
//! sequential. A head wider than 64 channels runs as [`head_split`] slices of at most 64
//! (the scan is independent per channel given the head's dt, A, B, C), so every P is
//! chunked; T = 1 runs the token-by-token [`SsmScan`]: the plan itself runs decode steps as [`SsmScan`]
//! (`model::plan::Phase`); `Ssd` keeps accepting T = 1 for callers that do not choose.
//! Same inputs, outputs and state as [`SsmScan`], plus two scratch buffers
//! ([`Ssd::scratch`]).

use super::ssm_scan::{SsmScan, SsmScanParams};
use super::{ensure, need, u};
use crate::dispatch::{fold, groups, Dispatch};
use crate::{Gpu, Kernel, Result};
use hybrid_core::config::MambaDims;

/// Tokens per chunk (`L` of the three shaders).
pub const SSD_CHUNK: usize = 32;
/// Largest slice of a head the chunked kernels handle in one workgroup (their x tiles are
/// [L, 64]); wider heads are split ([`head_split`]).
pub const SSD_MAX_HEAD_DIM: usize = 64;

/// Slices per head of P channels: the fewest S with P % S == 0 and P / S <= 64 (the
/// shaders' `HEAD_SPLIT`; 1 for P <= 64, 2 for the paper's P = 128).
pub fn head_split(p: usize) -> usize {
    (p.div_ceil(SSD_MAX_HEAD_DIM).max(1)..=p.max(1))
        .find(|s| p.is_multiple_of(*s))
        .unwrap_or(1)
}

/// Mirrors `Params` of ssd_chunk_state.wgsl, ssd_state_pass.wgsl and ssd_chunk_out.wgsl:
/// the `Params` every Mamba-2 scan shader shares (the scan layout t .. xbc_stride, then
/// n_chunks).
pub type SsdParams = super::ssm_scan::ScanParams;

/// Floats of the scratch buffers of one [`Ssd`] call (both 0 when it runs [`SsmScan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SsdScratch {
    /// [n_chunks, H, P, N]: each chunk's own end state, then its carried-in state.
    pub states: usize,
    /// [T, H, 2]: dt (softplus applied) | within-chunk cumulative dt A.
    pub dtc: usize,
}

/// proj [T, 2E+2GN+H] (z | xBC | dt), xbc [T, E+2GN], heads [3, H], dt_edit [3, H] -> y
/// [T, E]; state [H, P, N].
#[derive(Debug, Clone, Copy)]
pub struct Ssd {
    pub t: usize,
    pub dims: MambaDims,
}

impl Ssd {
    /// True when the three chunked kernels run (T > 1), false for [`SsmScan`].
    pub fn chunked(&self) -> bool {
        self.t > 1
    }

    /// ceil(T / L).
    pub fn n_chunks(&self) -> usize {
        self.t.div_ceil(SSD_CHUNK)
    }

    /// Scratch this call needs (also enough for every shorter T with the same dims).
    pub fn scratch(&self) -> SsdScratch {
        if !self.chunked() {
            return SsdScratch::default();
        }
        SsdScratch {
            states: self.n_chunks() * self.dims.ssm_state_len(),
            dtc: self.t * self.dims.n_heads * 2,
        }
    }

    /// Check shapes and build the dispatches: ssd_chunk_state, ssd_state_pass, ssd_chunk_out,
    /// or the single ssm_scan. `states` and `dtc` are scratch ([`Ssd::scratch`]; unused by
    /// ssm_scan).
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
        states: &wgpu::Buffer,
        dtc: &wgpu::Buffer,
    ) -> Result<Vec<Dispatch>> {
        let m = self.dims;
        let t = self.t;
        if !self.chunked() {
            let scan = SsmScan { t, dims: m };
            return Ok(vec![
                scan.build(gpu, label, proj, xbc, heads, dt_edit, state, y)?
            ]);
        }
        ensure(m.head_dim > 0 && m.d_state > 0, label, || {
            "P and N must be positive".into()
        })?;
        let scan = SsmScanParams::checked(label, t, m, proj, xbc, heads, dt_edit)?;
        let scratch = self.scratch();
        need(label, state, m.ssm_state_len(), "ssm state")?;
        need(label, y, t * m.d_inner(), "y")?;
        need(label, states, scratch.states, "chunk states scratch")?;
        need(label, dtc, scratch.dtc, "dt | cum scratch")?;
        let n_chunks = self.n_chunks();
        let params = SsdParams {
            scan,
            n_chunks: u(label, n_chunks)?,
        };
        let split = head_split(m.head_dim);
        let per_chunk = fold(
            gpu,
            label,
            [u(label, n_chunks)?, u(label, m.n_heads * split)?],
        )?;
        let slices = [("HEAD_SPLIT", split as f64)];
        Ok(vec![
            Dispatch::new(
                gpu,
                format!("{label} chunk states"),
                Kernel::SsdChunkState,
                &slices,
                &params,
                &[proj, xbc, heads, dt_edit],
                &[states, dtc],
                per_chunk,
            )?,
            Dispatch::new(
                gpu,
                format!("{label} state pass"),
                Kernel::SsdStatePass,
                &[],
                &params,
                &[dtc],
                &[states, state],
                fold(gpu, label, [groups(m.ssm_state_len(), 256), 1])?,
            )?,
            Dispatch::new(
                gpu,
                format!("{label} chunk out"),
                Kernel::SsdChunkOut,
                &slices,
                &params,
                &[proj, xbc, heads, dtc, states],
                &[y],
                per_chunk,
            )?,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::head_split;

    #[test]
    fn heads_split_into_slices_of_at_most_64() {
        for (p, s) in [
            (1, 1),
            (64, 1),
            (65, 5),
            (96, 2),
            (128, 2),
            (130, 5),
            (256, 4),
        ] {
            assert_eq!(head_split(p), s, "P = {p}");
            assert!(p % s == 0 && p / s <= 64);
        }
    }
}
