//! Rotate-half RoPE in place on the q and k heads of a fused qkv buffer (shaders/rope.wgsl).

use super::{ensure, need, u};
use crate::dispatch::{fold, groups, Dispatch};
use crate::{Gpu, Kernel, Result};

crate::params::params! {
    /// Mirrors `Params` of rope.wgsl.
    pub struct RopeParams {
        pub t: u32,
        pub stride: u32,
        pub n_q: u32,
        pub n_k: u32,
        pub k_off: u32,
        pub head_dim: u32,
        pub theta: f32,
        pub rot: u32,
    }
}

/// qkv [T, stride]: q heads at column 0, k heads at `k_off`; positions pos[0] + t; the
/// first `rot` dims of each head rotated (`rot` = `head_dim`: all of them).
#[derive(Debug, Clone, Copy)]
pub struct Rope {
    pub t: usize,
    pub stride: usize,
    pub n_q: usize,
    pub n_k: usize,
    pub k_off: usize,
    pub head_dim: usize,
    pub theta: f32,
    pub rot: usize,
}

impl Rope {
    /// Check shapes and build the dispatch; `pos` holds pos0 (u32).
    pub fn build(
        &self,
        gpu: &Gpu,
        label: &str,
        pos: &wgpu::Buffer,
        qkv: &wgpu::Buffer,
    ) -> Result<Dispatch> {
        let s = *self;
        ensure(
            s.head_dim.is_multiple_of(2) && s.head_dim > 0,
            label,
            || "head_dim must be even".into(),
        )?;
        ensure(
            s.rot.is_multiple_of(2) && s.rot > 0 && s.rot <= s.head_dim,
            label,
            || {
                format!(
                    "rot = {} must be even, positive and at most head_dim",
                    s.rot
                )
            },
        )?;
        ensure(
            s.n_q * s.head_dim <= s.k_off && s.k_off + s.n_k * s.head_dim <= s.stride,
            label,
            || format!("heads exceed the row: {s:?}"),
        )?;
        need(label, pos, 1, "pos")?;
        need(label, qkv, s.t * s.stride, "qkv")?;
        let params = RopeParams {
            t: u(label, s.t)?,
            stride: u(label, s.stride)?,
            n_q: u(label, s.n_q)?,
            n_k: u(label, s.n_k)?,
            k_off: u(label, s.k_off)?,
            head_dim: u(label, s.head_dim)?,
            theta: s.theta,
            rot: u(label, s.rot)?,
        };
        let threads = s.t * (s.n_q + s.n_k) * s.rot / 2;
        Dispatch::new(
            gpu,
            label,
            Kernel::Rope,
            &[],
            &params,
            &[pos],
            &[qkv],
            fold(gpu, label, [groups(threads, 64), 1])?,
        )
    }
}
