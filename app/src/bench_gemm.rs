//! `#bench=gemm`: the CPU engine's SGEMM kernels in this browser's wasm, at the
//! playground models' shapes (`hybrid_core::cpu::sgemm_shapes`): `matrixmultiply`'s 8 x 8
//! SIMD128 kernel against the 4 x 8 packed one the engine runs here. Rows in GFLOP/s on
//! `window.__hybridBench.gemm`; `examples/gemm_shapes.rs` is the native side.

use hybrid_core::cpu::ops::Sgemm;
use hybrid_core::cpu::sgemm_shapes::SHAPES;
use serde::Serialize;

use crate::web;

/// One shape, both kernels.
#[derive(Debug, Clone, Serialize)]
pub struct GemmRow {
    pub name: &'static str,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub matrixmultiply_gflops: f64,
    pub packed_4x8_gflops: f64,
}

/// Times every shape with both kernels (each repeated to ~0.2 s, best of `runs`),
/// yielding to the browser between measurements.
pub async fn run(runs: usize) -> Vec<GemmRow> {
    let mut rows = Vec::new();
    for s in &SHAPES {
        let (a, b, mut c) = s.operands();
        let reps = (2e8 / s.flops()).ceil() as usize;
        let mut best = [f64::INFINITY; 2];
        for _ in 0..runs.max(1) {
            for (kind, slot) in [Sgemm::MatrixMultiply, Sgemm::Packed4x8]
                .into_iter()
                .zip(0..)
            {
                web::yield_to_browser().await;
                s.run(kind, &a, &b, &mut c);
                let t0 = web::now_ms();
                for _ in 0..reps {
                    s.run(kind, &a, &b, &mut c);
                }
                best[slot] = best[slot].min((web::now_ms() - t0) / reps as f64);
            }
        }
        let gflops = |ms: f64| s.flops() / ms / 1e6;
        rows.push(GemmRow {
            name: s.name,
            m: s.m,
            k: s.k,
            n: s.n,
            matrixmultiply_gflops: gflops(best[0]),
            packed_4x8_gflops: gflops(best[1]),
        });
    }
    rows
}
