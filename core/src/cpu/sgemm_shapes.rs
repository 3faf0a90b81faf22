//! The GEMMs of the playground-size models' prefill (d_model 256, 2,048 or 128 tokens),
//! for comparing SGEMM kernels ([`super::ops::Sgemm`]): `examples/gemm_shapes.rs` natively,
//! the page's `#bench=gemm` in wasm. Each is `C = A B` as the engine calls it.

use super::ops::{sgemm, Mat, Sgemm};

/// One GEMM: `A` [M, K] row-major; `B` [K, N] as the transpose of a row-major weight
/// [N, K] (`x W^T`) or, for `P V`, row-major.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub name: &'static str,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub b_transposed: bool,
}

const fn shape(name: &'static str, m: usize, k: usize, n: usize, b_transposed: bool) -> Shape {
    Shape {
        name,
        m,
        k,
        n,
        b_transposed,
    }
}

/// The shapes: projections at 2,048 and 128 tokens, attention per (head, 128 queries) at
/// 2,048 keys, the SSD's per-chunk products (Q = 64, P = 32, N = 64).
pub const SHAPES: [Shape; 9] = [
    shape("FFN gate/up, 2048 tokens", 2048, 256, 768, true),
    shape("FFN down, 2048 tokens", 2048, 768, 256, true),
    shape("q/o proj, 2048 tokens", 2048, 256, 256, true),
    shape("Mamba in_proj, 2048 tokens", 2048, 256, 1168, true),
    shape("FFN gate/up, 128 tokens", 128, 256, 768, true),
    shape("attention Q K^T", 128, 32, 2048, true),
    shape("attention P V", 128, 2048, 32, false),
    shape("SSD L X", 64, 64, 32, false),
    shape("SSD C B^T", 64, 64, 64, true),
];

impl Shape {
    /// Floating-point operations of one product.
    pub fn flops(&self) -> f64 {
        2.0 * (self.m * self.k * self.n) as f64
    }

    /// Operands A [M, K] and B (as stored) with fixed values, and C [M, N].
    pub fn operands(&self) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let fill = |len: usize, s: usize| -> Vec<f32> {
            (0..len)
                .map(|i| ((i * s % 23) as f32 - 11.0) / 16.0)
                .collect()
        };
        let (m, k, n) = (self.m, self.k, self.n);
        (fill(m * k, 7), fill(k * n, 13), vec![0.0; m * n])
    }

    /// One product with the SGEMM `kind`, on the calling thread.
    pub fn run(&self, kind: Sgemm, a: &[f32], b: &[f32], c: &mut [f32]) {
        let (m, k, n) = (self.m, self.k, self.n);
        let bv = match self.b_transposed {
            true => Mat::cols(b, k),
            false => Mat::rows(b, n),
        };
        sgemm(kind, m, k, n, Mat::rows(a, k), bv, c, n);
    }
}
