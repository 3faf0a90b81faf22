//! `y (+)= alpha * x W^T` over sub-blocks (shaders/matmul.wgsl, tiled, any T). The plan
//! runs one-row products (decode) as a [`Matvec`](super::matvec::Matvec) instead
//! (`model::plan::Phase`).
//!
//! Three kernels, one contract, chosen at run time per product ([`Matmul::path`]): the f32
//! kernel (matmul.wgsl, every device, every weight format); for f16 weights on a device
//! with tensor cores ([`crate::Caps::coop_f16`]), shaders/matmul_coop.wgsl (x rounded to
//! f16 as it is staged, f32 accumulation); else, for f16 weights where the device has
//! `shader-f16` ([`crate::Caps::shader_f16`]: browsers' WebGPU, lavapipe),
//! shaders/matmul_f16.wgsl (f16 products summed in f16 over runs of 8, then in f32; its
//! header states the error bound). Both 16-bit kernels run once the product has
//! [`COOP_MIN_ROWS`] / [`F16_MIN_ROWS`] rows.

use super::{ensure, need, need_w, u};
use crate::dispatch::{fold, groups, Dispatch};
use crate::{Gpu, Kernel, Result, WeightFormat};

crate::params::params! {
    /// Mirrors `Params` of matmul.wgsl / matvec.wgsl.
    pub struct MatmulParams {
        pub t: u32,
        pub n: u32,
        pub k: u32,
        pub x_stride: u32,
        pub x_off: u32,
        pub w_stride: u32,
        pub w_off: u32,
        pub y_stride: u32,
        pub y_off: u32,
        pub alpha: f32,
        pub _pad: [u32; 2],
    }
}

/// A linear map: x [T, x_stride] (columns x_off..x_off+K), w [N, w_stride] (columns
/// w_off..w_off+K) -> y [T, y_stride] (columns y_off..y_off+N).
#[derive(Debug, Clone, Copy)]
pub struct Matmul {
    pub t: usize,
    pub n: usize,
    pub k: usize,
    pub x_stride: usize,
    pub x_off: usize,
    pub w_stride: usize,
    pub w_off: usize,
    pub y_stride: usize,
    pub y_off: usize,
    pub alpha: f32,
    /// Add into y (fused residual add) instead of overwriting.
    pub accumulate: bool,
    /// How w is stored (f32, or packed 16-bit pairs).
    pub w_format: WeightFormat,
}

impl Matmul {
    /// Dense, contiguous x [T, K], w [N, K] -> y [T, N].
    pub fn new(t: usize, n: usize, k: usize) -> Self {
        Matmul {
            t,
            n,
            k,
            x_stride: k,
            x_off: 0,
            w_stride: k,
            w_off: 0,
            y_stride: n,
            y_off: 0,
            alpha: 1.0,
            accumulate: false,
            w_format: WeightFormat::F32,
        }
    }

    /// y += alpha * x W^T.
    pub fn accumulate(mut self, alpha: f32) -> Self {
        self.accumulate = true;
        self.alpha = alpha;
        self
    }

    /// Check shapes and build the dispatch.
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        x: &wgpu::Buffer,
        w: &wgpu::Buffer,
        y: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let s = *self;
        ensure(s.t > 0 && s.n > 0 && s.k > 0, label, || {
            format!("empty matmul {s:?}")
        })?;
        ensure(
            s.x_off + s.k <= s.x_stride
                && s.w_off + s.k <= s.w_stride
                && s.y_off + s.n <= s.y_stride,
            label,
            || format!("offsets exceed strides: {s:?}"),
        )?;
        need(label, x, (s.t - 1) * s.x_stride + s.x_off + s.k, "x")?;
        need_w(
            label,
            w,
            (s.n - 1) * s.w_stride + s.w_off + s.k,
            s.w_format,
            "w",
        )?;
        need(label, y, (s.t - 1) * s.y_stride + s.y_off + s.n, "y")?;
        let params = MatmulParams {
            t: u(label, s.t)?,
            n: u(label, s.n)?,
            k: u(label, s.k)?,
            x_stride: u(label, s.x_stride)?,
            x_off: u(label, s.x_off)?,
            w_stride: u(label, s.w_stride)?,
            w_off: u(label, s.w_off)?,
            y_stride: u(label, s.y_stride)?,
            y_off: u(label, s.y_off)?,
            alpha: s.alpha,
            _pad: [0; 2],
        };
        let acc = ("ACCUMULATE", if s.accumulate { 1.0 } else { 0.0 });
        let kernel = s.path(gpu);
        let (constants, grid) = match kernel {
            Kernel::MatmulCoop => (
                vec![acc],
                [groups(s.n, COOP_TILE_N), groups(s.t, COOP_TILE_T)],
            ),
            Kernel::MatmulF16 => (
                vec![acc],
                [groups(s.n, F16_TILE_N), groups(s.t, F16_TILE_T)],
            ),
            _ => (
                vec![acc, ("W_FORMAT", s.w_format.shader_code())],
                [groups(s.n, 64), groups(s.t, 64)],
            ),
        };
        let grid = fold(gpu, label, grid)?;
        Dispatch::new(gpu, label, kernel, &constants, &params, &[x, w], &[y], grid)
    }

    /// The kernel this product runs on `gpu`, for f16 weights in this order:
    /// [`Kernel::MatmulCoop`] where the device has the tensor-core configuration and
    /// subgroups of exactly 32, the product has at least [`COOP_MIN_ROWS`] rows and the
    /// kernel's workgroup memory fits; [`Kernel::MatmulF16`] where the device has
    /// `shader-f16` and the product at least [`F16_MIN_ROWS`] rows; else (and for f32 /
    /// bf16 weights) [`Kernel::Matmul`].
    pub fn path(&self, gpu: &Gpu) -> Kernel {
        let c = &gpu.caps;
        let coop = c.coop_f16
            && c.shader_f16
            && c.subgroups
            && c.subgroup_size == (32, 32)
            && self.w_format == WeightFormat::F16
            && self.t >= COOP_MIN_ROWS
            && gpu.limits.max_compute_workgroup_storage_size >= COOP_WORKGROUP_BYTES;
        let f16 = c.shader_f16 && self.w_format == WeightFormat::F16 && self.t >= F16_MIN_ROWS;
        if coop {
            Kernel::MatmulCoop
        } else if f16 {
            Kernel::MatmulF16
        } else {
            Kernel::Matmul
        }
    }
}

/// Output rows (T) and columns (N) of one matmul_coop workgroup (its BM, BN).
pub const COOP_TILE_T: usize = 128;
pub const COOP_TILE_N: usize = 64;
/// Fewest rows for which the tensor-core kernel runs (half its 128-row tile; below, the
/// f32 kernel's 64-row tile wastes less).
pub const COOP_MIN_ROWS: usize = 64;
/// matmul_coop's workgroup memory: the f16 x and w tiles (128 and 64 rows of 40 halves)
/// and 4 subgroups' 16 x 16 f32 output tiles.
const COOP_WORKGROUP_BYTES: u32 = (128 * 40 + 64 * 40) * 2 + 4 * 256 * 4;

/// Output rows (T) and columns (N) of one matmul_f16 workgroup (its BM, BN; its f16 tiles
/// take 6 KiB of workgroup memory, within WebGPU's default 16 KiB).
pub const F16_TILE_T: usize = 128;
pub const F16_TILE_N: usize = 64;
/// Fewest rows for which the f16-arithmetic kernel runs (half its 128-row tile; below,
/// the f32 kernel's 64-row tile wastes less).
pub const F16_MIN_ROWS: usize = 64;
