//! Projections `y (+)= alpha * src W^T`: a matvec for one row, a tiled matmul for a chunk
//! ([`Phase`]), with the RMSNorm in front of the product fused into the matvec where it
//! fits, else its own dispatch into a scratch buffer.

use super::{Phase, Planner};
use crate::dispatch::Dispatch;
use crate::ops::matmul::Matmul;
use crate::ops::matvec::{FusedNorm, Matvec};
use crate::ops::matvec_epilogue::Epilogue;
use crate::ops::rmsnorm::RmsNorm;
use crate::{GpuError, Result};

/// What a projection reads: `x` as is, or `x` RMS-normalized by `weight` first. With one
/// token the norm is fused into the matvec; with a chunk it is its own dispatch into
/// `scratch`, then the tiled matmul reads that.
#[derive(Clone, Copy)]
pub(crate) struct Src<'a> {
    pub x: &'a wgpu::Buffer,
    pub norm: Option<NormIn<'a>>,
}

/// An RMSNorm in front of a projection.
#[derive(Clone, Copy)]
pub(crate) struct NormIn<'a> {
    pub weight: &'a wgpu::Buffer,
    pub group: usize,
    pub eps: f32,
    /// Where a chunk's normed rows go (`None`: the norm must fuse).
    pub scratch: Option<&'a wgpu::Buffer>,
}

impl<'a> Src<'a> {
    pub fn plain(x: &'a wgpu::Buffer) -> Self {
        Src { x, norm: None }
    }
    pub fn normed(x: &'a wgpu::Buffer, weight: &'a wgpu::Buffer, group: usize, eps: f32) -> Self {
        Src {
            x,
            norm: Some(NormIn {
                weight,
                group,
                eps,
                scratch: None,
            }),
        }
    }
    pub fn with_scratch(mut self, scratch: &'a wgpu::Buffer) -> Self {
        if let Some(n) = &mut self.norm {
            n.scratch = Some(scratch);
        }
        self
    }
}

impl Planner<'_> {
    /// `y (+)= alpha * src W^T`, the norm of `src` fused in for one row (see [`Src`]).
    pub(super) fn linear(
        &self,
        plan: &mut Vec<Dispatch>,
        label: &str,
        src: Src,
        mm: Matmul,
        w: &wgpu::Buffer,
        y: &wgpu::Buffer,
    ) -> Result<()> {
        self.linear_with(plan, label, src, mm, [w, y], Epilogue::None)
    }

    /// [`Planner::linear`] with an epilogue on `y` (one row only); `wy` are w and y.
    pub(super) fn linear_with(
        &self,
        plan: &mut Vec<Dispatch>,
        label: &str,
        src: Src,
        mm: Matmul,
        wy: [&wgpu::Buffer; 2],
        ep: Epilogue,
    ) -> Result<()> {
        let [w, y] = wy;
        let mm = Matmul {
            w_format: self.weights.format,
            ..mm
        };
        let phase = Phase::of(mm.t);
        if phase == Phase::Prefill && !matches!(ep, Epilogue::None) {
            return Err(GpuError::Unsupported(format!(
                "{label}: a matvec epilogue on a chunk of {} rows",
                mm.t
            )));
        }
        let Some(nm) = src.norm else {
            plan.push(self.product(phase, label, mm, [src.x, w, y], ep)?);
            return Ok(());
        };
        if phase.fuses_norm(mm.k, nm.group) {
            let mv = Matvec {
                norm: Some(FusedNorm {
                    group: nm.group,
                    eps: nm.eps,
                }),
                ..Matvec::from(mm)
            };
            plan.push(mv.build_with(self.gpu, label, [src.x, w, nm.weight, y], ep)?);
            return Ok(());
        }
        // normalize the rows the product reads, then the plain product
        let Some(scratch) = nm.scratch else {
            return Err(GpuError::Unsupported(format!(
                "{label}: the norm cannot fuse and has no scratch buffer"
            )));
        };
        let first_row = mm.x_off / mm.x_stride.max(1);
        let norm = RmsNorm {
            rows: first_row + mm.t,
            cols: mm.k,
            group: nm.group,
            eps: nm.eps,
            scale: 1.0,
        };
        let label_norm = format!("{label}: norm");
        plan.push(norm.build(self.gpu, &label_norm, src.x, nm.weight, scratch)?);
        plan.push(self.product(phase, label, mm, [scratch, w, y], ep)?);
        Ok(())
    }

    /// The plain product: a matvec (no norm; `w` stands in for its unused norm weight)
    /// for one row, with its epilogue, or the tiled matmul for a chunk; `xwy` are x, w, y.
    fn product(
        &self,
        phase: Phase,
        label: &str,
        mm: Matmul,
        xwy: [&wgpu::Buffer; 3],
        ep: Epilogue,
    ) -> Result<Dispatch> {
        let [x, w, y] = xwy;
        match phase {
            Phase::Decode => Matvec::from(mm).build_with(self.gpu, label, [x, w, w, y], ep),
            Phase::Prefill => mm.build(self.gpu, label, x, w, y),
        }
    }
}
