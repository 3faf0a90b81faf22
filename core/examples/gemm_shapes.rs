//! SGEMM kernels at the playground models' shapes, one thread, natively: the engine's two
//! (`matrixmultiply`, the 4 x 8 packed kernel that wasm32 runs, here in plain Rust) and,
//! with `--features gemm-compare`, the `gemm` crate. Prints GFLOP/s (best of 5 rounds).
//!
//! ```sh
//! cargo run --release -p hybrid-core --example gemm_shapes --features gemm-compare
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

#[cfg(feature = "gemm-compare")]
fn gemm_crate(s: &Shape, a: &[f32], b: &[f32], c: &mut [f32]) -> Option<f64> {
    let (m, k, n) = (s.m, s.k, s.n);
    // B's strides: (row l, column j) = b[l * rs + j * cs]
    let (rs, cs) = if s.b_transposed { (1, k) } else { (n, 1) };
    Some(gflops(s, || unsafe {
        // SAFETY: every view lies inside its slice: A [m, k], B [k, n] by (rs, cs), C [m, n]
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            cs as isize,
            rs as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }))
}

#[cfg(not(feature = "gemm-compare"))]
fn gemm_crate(_: &Shape, _: &[f32], _: &[f32], _: &mut [f32]) -> Option<f64> {
    None
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
        let g = gemm_crate(s, &a, &b, &mut c).map_or("-".into(), |v| format!("{v:.1}"));
        println!(
            "| {} | {}x{}x{} | {mm:.1} | {packed:.1} | {g} |",
            s.name, s.m, s.k, s.n
        );
    }
}
