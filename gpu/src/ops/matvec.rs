//! `y (+)= alpha * W norm(x)` for one token (shaders/matvec.wgsl): the decode form of
//! [`Matmul`](super::matmul::Matmul), optionally with the RMSNorm before it and the SwiGLU
//! gate after it fused in.

use super::matmul::Matmul;
use super::matvec_epilogue::{Epilogue, Product};
use super::{ensure, need, need_w, u};
use crate::dispatch::{fold, Dispatch};
use crate::{Gpu, Kernel, Result, WeightFormat};

crate::params::params! {
    /// Mirrors `Params` of matvec.wgsl.
    pub struct MatvecParams {
        pub n: u32,
        pub k: u32,
        pub x_off: u32,
        pub w_stride: u32,
        pub w_off: u32,
        pub y_off: u32,
        pub alpha: f32,
        pub eps: f32,
        pub head_dim: u32,
        pub rot: u32,
        pub k_off: u32,
        pub v_off: u32,
        pub k_dim: u32,
        pub v_dim: u32,
        pub theta: f32,
        pub store: u32,
        pub conv_off: u32,
        pub channels: u32,
        pub width: u32,
        pub part_dim: u32,
        pub splits: u32,
        pub sinks: u32,
        pub ring: u32,
        pub n2: u32,
        pub _pad0: u32,
        pub _pad1: u32,
        pub _pad2: u32,
    }
}

/// Longest x the shader stages in workgroup memory (a longer one is read from memory,
/// and a fused norm applied as it is read).
pub const MAX_K: usize = 2048;
/// Most norm groups in one x.
pub const MAX_GROUPS: usize = 256;
/// Outputs per workgroup (`ROWS` of matvec.wgsl).
pub const ROWS: usize = 8;

/// RMSNorm of x before the product: groups of `group` channels, weight `g` [K].
#[derive(Debug, Clone, Copy)]
pub struct FusedNorm {
    pub group: usize,
    pub eps: f32,
}

/// x [x_off + K] (normalized), w [N, w_stride] (columns w_off..w_off+K; rows N..2N too
/// with `glu`) -> y [y_off + N].
#[derive(Debug, Clone, Copy)]
pub struct Matvec {
    pub n: usize,
    pub k: usize,
    pub x_off: usize,
    pub w_stride: usize,
    pub w_off: usize,
    pub y_off: usize,
    pub alpha: f32,
    /// Add into y (fused residual add) instead of overwriting.
    pub accumulate: bool,
    pub norm: Option<FusedNorm>,
    /// y = silu(W[..N] x) * W[N..2N] x.
    pub glu: bool,
    /// How w is stored (f32, or packed 16-bit pairs).
    pub w_format: WeightFormat,
}

impl From<Matmul> for Matvec {
    /// The one-row product of `m` (its T and strides of x and y are not used).
    fn from(m: Matmul) -> Self {
        Matvec {
            n: m.n,
            k: m.k,
            x_off: m.x_off,
            w_stride: m.w_stride,
            w_off: m.w_off,
            y_off: m.y_off,
            alpha: m.alpha,
            accumulate: m.accumulate,
            norm: None,
            glu: false,
            w_format: m.w_format,
        }
    }
}

impl Matvec {
    /// Dense x [K], w [N, K] -> y [N].
    pub fn new(n: usize, k: usize) -> Self {
        Matvec {
            n,
            k,
            x_off: 0,
            w_stride: k,
            w_off: 0,
            y_off: 0,
            alpha: 1.0,
            accumulate: false,
            norm: None,
            glu: false,
            w_format: WeightFormat::F32,
        }
    }

    /// Whether the shader can fuse an RMSNorm with groups of `group` over this K.
    pub fn can_norm(k: usize, group: usize) -> bool {
        group > 0 && k.is_multiple_of(group) && k / group <= MAX_GROUPS
    }

    /// Check shapes and build the dispatch. `g` is the norm weight [K] (any buffer when
    /// there is no norm).
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        x: &wgpu::Buffer,
        w: &wgpu::Buffer,
        g: &wgpu::Buffer,
        y: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        self.build_with(gpu, label, [x, w, g, y], Epilogue::None)
    }

    /// [`Matvec::build`] with an epilogue on y (one token; see [`Epilogue`]); `xwgy` are
    /// x, w, g and y.
    pub fn build_with(
        &self,
        gpu: &Gpu,
        label: &str,
        xwgy: [&wgpu::Buffer; 4],
        ep: Epilogue,
    ) -> Result<Dispatch> {
        let [x, w, g, y] = xwgy;
        let s = *self;
        ensure(s.n > 0 && s.k > 0, label, || format!("empty matvec {s:?}"))?;
        ensure(s.w_off + s.k <= s.w_stride, label, || {
            format!("w offset exceeds its stride: {s:?}")
        })?;
        let rows = if s.glu { 2 * s.n } else { s.n };
        need(label, x, s.x_off + s.k, "x")?;
        need_w(
            label,
            w,
            (rows - 1) * s.w_stride + s.w_off + s.k,
            s.w_format,
            "w",
        )?;
        need(label, y, s.y_off + s.n, "y")?;
        let group = match s.norm {
            Some(nm) => {
                ensure(Self::can_norm(s.k, nm.group), label, || {
                    format!("fused norm needs K % group == 0, <= {MAX_GROUPS} groups: {s:?}")
                })?;
                need(label, g, s.k, "norm weight")?;
                nm.group
            }
            None => 0,
        };
        let product = Product {
            n: s.n,
            k: s.k,
            x_off: s.x_off,
            plain: s.y_off == 0 && !s.glu && !s.accumulate,
            staged: s.k <= MAX_K,
        };
        let e = ep.params(label, &product, x, y)?;
        let params = MatvecParams {
            head_dim: e.head_dim,
            rot: e.rot,
            k_off: e.k_off,
            v_off: e.v_off,
            k_dim: e.k_dim,
            v_dim: e.v_dim,
            theta: e.theta,
            store: e.store,
            conv_off: e.conv_off,
            channels: e.channels,
            width: e.width,
            part_dim: e.part_dim,
            splits: e.splits,
            sinks: e.sinks,
            ring: e.ring,
            n2: e.n2,
            _pad0: 0,
            _pad1: 0,
            _pad2: 0,
            n: u(label, s.n)?,
            k: u(label, s.k)?,
            x_off: u(label, s.x_off)?,
            w_stride: u(label, s.w_stride)?,
            w_off: u(label, s.w_off)?,
            y_off: u(label, s.y_off)?,
            alpha: s.alpha,
            eps: s.norm.map_or(0.0, |nm| nm.eps),
        };
        let kernel = kernel(gpu);
        ensure(
            kernel == Kernel::MatvecSg || !matches!(ep, Epilogue::Pair { .. }),
            label,
            || format!("the pair needs {PAIR_BINDINGS} storage bindings (matvec_sg)"),
        )?;
        // the pair's second product: its own workgroups after the first's
        let wgs = s.n.div_ceil(ROWS) + (e.n2 as usize).div_ceil(ROWS);
        let grid = fold(gpu, label, [u(label, wgs)?, 1])?;
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let (aux, out) = ep.buffers(x, gpu.spare_outputs());
        let (ni, no) = kernel.bindings();
        let inputs = [x, w, g, aux[0], aux[1], aux[2], aux[3]];
        let outputs = [y, out[0], out[1], out[2], out[3], out[4]];
        Dispatch::new(
            gpu,
            label,
            kernel,
            &[
                ("ACCUMULATE", flag(s.accumulate)),
                ("NORM_GROUP", group as f64),
                ("GLU", flag(s.glu)),
                ("W_FORMAT", s.w_format.shader_code()),
                ("EPILOGUE", f64::from(e.code)),
            ],
            &params,
            &inputs[..ni],
            &outputs[..no],
            grid,
        )
    }
}

/// Storage buffers matvec_sg.wgsl binds (the pair's second product among them).
pub const PAIR_BINDINGS: u32 = 13;

/// matvec_sg.wgsl (reductions on subgroup shuffles, and the pair) where the device has
/// subgroups and [`PAIR_BINDINGS`] storage buffers per stage, natively (the browser's
/// WGSL would need `enable subgroups;`, which naga does not parse), else matvec.wgsl.
pub fn kernel(gpu: &Gpu) -> Kernel {
    let wide = gpu.limits.max_storage_buffers_per_shader_stage >= PAIR_BINDINGS;
    if gpu.caps.subgroups && wide && !cfg!(target_arch = "wasm32") {
        Kernel::MatvecSg
    } else {
        Kernel::Matvec
    }
}
