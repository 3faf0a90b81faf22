//! SGEMM kernels at the playground models' shapes, one thread, natively: `matrixmultiply`
//! (the engine's split GEMMs), the `gemm` crate (GEMMs inside one task: attention, SSD) and
//! the 4 x 8 packed kernel that wasm32 runs (here in plain Rust, without SIMD128).
//! Prints GFLOP/s (best of 5 rounds).
//!
//! ```sh
//! cargo run --release -p hybrid-core --example gemm_shapes
//! ```

use hybrid_core::cpu::ops::Sgemm;
use hybrid_core::cpu::sgemm_shapes::{Shape, SHAPES};
use std::time::Instant;

/// GFLOP/s of `f` on `shape`: repeated to 2 GFLOP a round, best of 5 rounds.
fn gflops(shape: &Shape, mut f: impl FnMut()) -> f64 {
    f();
    let reps = (2e9 / shape.flops()).ceil() as usize;
    let best = (0..5)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..reps {
                f();
            }
            t0.elapsed().as_secs_f64() / reps as f64
        })
        .fold(f64::INFINITY, f64::min);
    shape.flops() / best / 1e9
}

fn main() {
    println!(
        "| GEMM | M x K x N | matrixmultiply GFLOP/s | packed 4x8 (plain Rust here) | gemm crate |"
    );
    println!("|---|---|---:|---:|---:|");
    for s in &SHAPES {
        let (a, b, mut c) = s.operands();
        let mm = gflops(s, || s.run(Sgemm::MatrixMultiply, &a, &b, &mut c));
        let packed = gflops(s, || s.run(Sgemm::Packed4x8, &a, &b, &mut c));
        let g = gflops(s, || s.run(Sgemm::GemmCrate, &a, &b, &mut c));
        println!(
            "| {} | {}x{}x{} | {mm:.1} | {g:.1} | {packed:.1} |",
            s.name, s.m, s.k, s.n
        );
    }
}
