//! Reference ops in plain f32 Rust: the oracle every GPU shader is tested against.
//! Row-major throughout; a weight `[out, in]` is applied as `y = x W^T` (PyTorch `Linear`).

use super::exp::exp;
pub use super::mat::Mat;
use super::par;
pub use super::reduce::{dot, max, sum};
// The attention softmax lives in `cpu/softmax.rs`; `exp` (vectorizable) in `cpu/exp.rs`.
pub use super::softmax::softmax;

/// `y[t, n] = sum_k x[t, k] * w[n, k]`: x [T, K], w [N, K] -> y [T, N].
pub fn matmul(x: &[f32], w: &[f32], k: usize) -> Vec<f32> {
    let t = x.len() / k;
    let n = w.len() / k;
    let mut y = vec![0.0; t * n];
    matmul_into(x, w, k, &mut y);
    debug_assert_eq!(y.len(), t * n);
    y
}

/// As [`matmul`], writing into `y` [T, N]: [`gemm`] with `A = x` and `B = W^T`, the
/// transpose read through strides (nothing is copied).
pub fn matmul_into(x: &[f32], w: &[f32], k: usize, y: &mut [f32]) {
    let n = w.len() / k;
    let t = x.len() / k;
    gemm(t, k, n, Mat::rows(x, k), Mat::cols(w, k), y, n);
}

/// Below this many rows of `A` (a decode step, a short chunk) the GEMM's packing of `B`
/// costs more than it saves: [`gemm`] loops over dot products or rows of `B` instead.
const GEMM_MIN_ROWS: usize = 4;

/// Rows (or columns) of `C` per band of a threaded GEMM, at least: a multiple of the
/// SGEMM kernels' tile.
const PAR_MIN_BAND: usize = 16;

/// `C = A B` for A [M, K] and B [K, N]; C [M, N] is row-major with rows `ldc` apart and
/// is overwritten. Split over the engine's threads (`par`) in bands of rows of `C`, or of
/// columns when `C` has few rows (a decode step): each band is the same single-threaded
/// [`gemm_band`], so every element gets the same arithmetic on any thread count.
#[allow(clippy::too_many_arguments)]
pub fn gemm(m: usize, k: usize, n: usize, a: Mat, b: Mat, c: &mut [f32], ldc: usize) {
    assert!(a.fits(m, k) && b.fits(k, n) && Mat::rows(c, ldc).fits(m, n));
    let parts = par::parts();
    if !par::worth_forking(m.saturating_mul(k).saturating_mul(n)) {
        return gemm_band(Sgemm::HERE, m, k, n, a, b, c, ldc);
    }
    let band = |len: usize| len.div_ceil(parts).next_multiple_of(PAR_MIN_BAND);
    if m >= 2 * PAR_MIN_BAND {
        // bands of rows: disjoint slices of C
        let rows = band(m);
        let mut tasks = Vec::new();
        let mut rest = &mut c[..];
        for i0 in (0..m).step_by(rows) {
            let mb = rows.min(m - i0);
            let take = if i0 + mb < m { mb * ldc } else { rest.len() };
            let (cb, tail) = std::mem::take(&mut rest).split_at_mut(take);
            rest = tail;
            let ab = Mat {
                data: &a.data[i0 * a.rs..],
                ..a
            };
            tasks.push((mb, ab, cb));
        }
        par::map(tasks, |(mb, ab, cb)| {
            gemm_band(Sgemm::HERE, mb, k, n, ab, b, cb, ldc)
        });
    } else if n >= 2 * PAR_MIN_BAND {
        // bands of columns, each into a buffer [M, Nb], copied into C after
        let cols = band(n);
        let tasks: Vec<usize> = (0..n).step_by(cols).collect();
        let outs = par::map(tasks.clone(), |j0| {
            let nb = cols.min(n - j0);
            let bb = Mat {
                data: &b.data[j0 * b.cs..],
                ..b
            };
            let mut cb = vec![0.0; m * nb];
            gemm_band(Sgemm::HERE, m, k, nb, a, bb, &mut cb, nb);
            cb
        });
        for (j0, cb) in tasks.into_iter().zip(outs) {
            let nb = cols.min(n - j0);
            for (i, row) in cb.chunks_exact(nb).enumerate() {
                c[i * ldc + j0..i * ldc + j0 + nb].copy_from_slice(row);
            }
        }
    } else {
        gemm_band(Sgemm::HERE, m, k, n, a, b, c, ldc);
    }
}

/// [`gemm`] inside one task of the engine's threads (attention per head and block of
/// queries, the SSD per chunk and head): never split, so its shape is the same on any
/// thread count, and it runs [`Sgemm::IN_TASK`], the faster kernel at those small shapes.
#[allow(clippy::too_many_arguments)]
pub fn gemm_task(m: usize, k: usize, n: usize, a: Mat, b: Mat, c: &mut [f32], ldc: usize) {
    assert!(a.fits(m, k) && b.fits(k, n) && Mat::rows(c, ldc).fits(m, n));
    gemm_band(Sgemm::IN_TASK, m, k, n, a, b, c, ldc);
}

/// [`gemm`] on the calling thread. From [`GEMM_MIN_ROWS`] rows on this is a packed,
/// cache-blocked SGEMM, `kind`; below, dot products or rows of B.
#[allow(clippy::too_many_arguments)]
fn gemm_band(kind: Sgemm, m: usize, k: usize, n: usize, a: Mat, b: Mat, c: &mut [f32], ldc: usize) {
    if m == 0 || n == 0 {
        return;
    }
    if m < GEMM_MIN_ROWS || k == 0 {
        for i in 0..m {
            let ci = &mut c[i * ldc..i * ldc + n];
            if a.cs == 1 && b.rs == 1 {
                // c_ij = a_i . b_j, both contiguous
                let ai = &a.data[i * a.rs..i * a.rs + k];
                for (j, cij) in ci.iter_mut().enumerate() {
                    *cij = dot(ai, &b.data[j * b.cs..j * b.cs + k]);
                }
            } else {
                // c_i = sum_l a_il b_l (rows of B)
                ci.fill(0.0);
                for l in 0..k {
                    let ail = a.data[i * a.rs + l * a.cs];
                    if b.cs == 1 {
                        add_scaled(ci, ail, &b.data[l * b.rs..l * b.rs + n]);
                    } else {
                        for (j, cij) in ci.iter_mut().enumerate() {
                            *cij += ail * b.data[l * b.rs + j * b.cs];
                        }
                    }
                }
            }
        }
        return;
    }
    sgemm(kind, m, k, n, a, b, c, ldc);
}

/// The packed SGEMMs the engine can run on one thread (`examples/gemm_shapes.rs` and the
/// page's `#bench=gemm` compare them at the models' shapes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sgemm {
    /// The `matrixmultiply` crate: AVX-512 or AVX2+FMA kernels picked at run time on
    /// x86_64, an 8 x 8 SIMD128 kernel (multiply, then add) in wasm.
    MatrixMultiply,
    /// `cpu/packed.rs`: a 4 x 8 SIMD128 kernel in wasm (plain Rust elsewhere).
    Packed4x8,
    /// The `gemm` crate (natively; AVX2+FMA kernels picked at run time, one thread).
    #[cfg(not(target_arch = "wasm32"))]
    GemmCrate,
}

impl Sgemm {
    /// What [`gemm`] runs: the 4 x 8 kernel in wasm32, `matrixmultiply` natively.
    pub const HERE: Sgemm = if cfg!(target_arch = "wasm32") {
        Sgemm::Packed4x8
    } else {
        Sgemm::MatrixMultiply
    };
    /// What [`gemm_task`] runs: the `gemm` crate natively, the 4 x 8 kernel in wasm32.
    #[cfg(not(target_arch = "wasm32"))]
    pub const IN_TASK: Sgemm = Sgemm::GemmCrate;
    #[cfg(target_arch = "wasm32")]
    pub const IN_TASK: Sgemm = Sgemm::Packed4x8;
}

/// `C = A B` on the calling thread with the SGEMM `kind`: [`gemm_band`]'s kernel from
/// [`GEMM_MIN_ROWS`] rows on, public for the benchmarks.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(kind: Sgemm, m: usize, k: usize, n: usize, a: Mat, b: Mat, c: &mut [f32], ldc: usize) {
    assert!(a.fits(m, k) && b.fits(k, n) && Mat::rows(c, ldc).fits(m, n));
    match kind {
        Sgemm::Packed4x8 => return super::packed::sgemm(m, k, n, a, b, c, ldc),
        #[cfg(not(target_arch = "wasm32"))]
        Sgemm::GemmCrate => return gemm_crate(m, k, n, a, b, c, ldc),
        Sgemm::MatrixMultiply => {}
    }
    let s = |v: usize| v as isize;
    // SAFETY: `fits` above checked that the last element of each view, (m-1, k-1) of A,
    // (k-1, n-1) of B and (m-1, n-1) of C, lies inside its slice; strides are non-negative,
    // so every element in between does too. beta = 0: C is written, never read.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            s(a.rs),
            s(a.cs),
            b.data.as_ptr(),
            s(b.rs),
            s(b.cs),
            0.0,
            c.as_mut_ptr(),
            s(ldc),
            1,
        );
    }
}

/// `C = A B` by the `gemm` crate on the calling thread (views checked by [`sgemm`]).
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::too_many_arguments)]
fn gemm_crate(m: usize, k: usize, n: usize, a: Mat, b: Mat, c: &mut [f32], ldc: usize) {
    let s = |v: usize| v as isize;
    // SAFETY: as for matrixmultiply above: every element of the three views lies inside
    // its slice. read_dst = false: C = 1.0 * (A B), written, never read.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            s(ldc),
            false,
            a.data.as_ptr(),
            s(a.cs),
            s(a.rs),
            b.data.as_ptr(),
            s(b.cs),
            s(b.rs),
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `y += s x`.
pub fn add_scaled(y: &mut [f32], s: f32, x: &[f32]) {
    for (a, b) in y.iter_mut().zip(x) {
        *a += s * b;
    }
}

/// RMSNorm over groups of `g` values: `v / sqrt(mean(v^2) + eps) * w`, in place.
/// `x` is [rows, C] with C a multiple of `g`; `w` is [C].
pub fn rms_norm_groups(x: &mut [f32], w: &[f32], g: usize, eps: f32) {
    let c = w.len();
    par::rows_mut(x, c, |_, band| {
        for row in band.chunks_exact_mut(c) {
            for (vals, ws) in row.chunks_exact_mut(g).zip(w.chunks_exact(g)) {
                let ms = vals.iter().map(|v| v * v).sum::<f32>() / g as f32;
                let inv = 1.0 / (ms + eps).sqrt();
                for (v, wi) in vals.iter_mut().zip(ws) {
                    *v *= inv * wi;
                }
            }
        }
    });
}

/// RMSNorm over whole rows of `x` [rows, C] with weight `w` [C], returned as a new buffer.
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let mut y = x.to_vec();
    rms_norm_groups(&mut y, w, w.len(), eps);
    y
}

/// `v * sigmoid(v)`.
pub fn silu(v: f32) -> f32 {
    v / (1.0 + exp(-v))
}

/// `ln(1 + e^v)`, stable for large |v| (PyTorch's threshold of 20).
pub fn softplus(v: f32) -> f32 {
    if v > 20.0 {
        v
    } else {
        exp(v).ln_1p()
    }
}

/// Rotate-half RoPE on one token's heads, in place: `x` is [heads, dh] at position `pos`.
/// For i < dh/2, `f_i = theta^(-2i/dh)`: `(a, b) -> (a cos - b sin, b cos + a sin)`.
pub fn rope(x: &mut [f32], head_dim: usize, pos: usize, theta: f32) {
    rope_partial(x, head_dim, head_dim, pos, theta);
}

/// [`rope`] on the first `rot` dims of each head only (the rest pass unchanged), with
/// `f_i = theta^(-2i/rot)`: partial RoPE (Bamba); `rot` = 0 leaves `x` as it is.
pub fn rope_partial(x: &mut [f32], head_dim: usize, rot: usize, pos: usize, theta: f32) {
    let half = rot / 2;
    // the angles depend on (pos, i) only: once per token, not per head
    let angles: Vec<(f32, f32)> = (0..half)
        .map(|i| {
            let freq = theta.powf(-2.0 * i as f32 / rot as f32);
            (pos as f32 * freq).sin_cos()
        })
        .collect();
    for head in x.chunks_exact_mut(head_dim) {
        for (i, &(sin, cos)) in angles.iter().enumerate() {
            let (a, b) = (head[i], head[i + half]);
            head[i] = a * cos - b * sin;
            head[i + half] = b * cos + a * sin;
        }
    }
}

/// `x += y`.
pub fn add_into(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// L2 norm of a vector.
pub fn l2(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// SwiGLU FFN over rows: `down(silu(gate(x)) * up(x))`; x [T, D] -> [T, D].
pub fn swiglu(x: &[f32], gate: &[f32], up: &[f32], down: &[f32], d: usize) -> Vec<f32> {
    let mut g = matmul(x, gate, d);
    let u = matmul(x, up, d);
    let f = gate.len() / d;
    par::rows_mut(&mut g, f, |r0, band| {
        for (a, b) in band.iter_mut().zip(&u[r0 * f..]) {
            *a = silu(*a) * b;
        }
    });
    matmul(&g, down, f)
}

/// The FFN without a gate: `down(relu(up(x))^2)`; x [T, D] -> [T, D] (Nemotron-H).
pub fn relu2_mlp(x: &[f32], up: &[f32], down: &[f32], d: usize) -> Vec<f32> {
    let mut u = matmul(x, up, d);
    for v in u.iter_mut() {
        let r = v.max(0.0);
        *v = r * r;
    }
    let f = up.len() / d;
    matmul(&u, down, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_small() {
        // x [2, 3], w [2, 3]
        let y = matmul(&[1., 2., 3., 4., 5., 6.], &[1., 0., 0., 0., 1., 1.], 3);
        assert_eq!(y, vec![1., 5., 4., 11.]);
    }

    #[test]
    fn blocked_matmul_equals_naive_on_awkward_sizes() {
        for (t, k, n) in [(1, 3, 5), (4, 8, 4), (7, 33, 130), (9, 17, 6)] {
            let x: Vec<f32> = (0..t * k)
                .map(|i| ((i * 37 % 11) as f32 - 5.0) / 7.0)
                .collect();
            let w: Vec<f32> = (0..n * k)
                .map(|i| ((i * 53 % 13) as f32 - 6.0) / 5.0)
                .collect();
            let y = matmul(&x, &w, k);
            for i in 0..t {
                for j in 0..n {
                    let want: f32 = (0..k).map(|c| x[i * k + c] * w[j * k + c]).sum();
                    assert!((y[i * n + j] - want).abs() < 1e-4, "{t}x{k}x{n} at {i},{j}");
                }
            }
        }
    }

    #[test]
    fn gemm_strided_views_equal_naive() {
        // A [m, k] and B [k, n] as views into larger buffers, both paths (m < 4 and m >= 4)
        for (m, k, n) in [(1, 5, 3), (3, 7, 9), (6, 33, 17), (64, 32, 40)] {
            let buf: Vec<f32> = (0..4096)
                .map(|i| ((i * 29 % 17) as f32 - 8.0) / 9.0)
                .collect();
            let a = Mat {
                data: &buf[3..],
                rs: k + 2,
                cs: 1,
            };
            let b = Mat {
                data: &buf[5..],
                rs: 1,
                cs: k + 3,
            };
            let b2 = Mat {
                data: &buf[1..],
                rs: n + 1,
                cs: 1,
            };
            for b in [b, b2] {
                let mut c = vec![f32::NAN; m * (n + 1)];
                gemm(m, k, n, a, b, &mut c, n + 1);
                for i in 0..m {
                    for j in 0..n {
                        let want: f32 = (0..k)
                            .map(|l| a.data[i * a.rs + l * a.cs] * b.data[l * b.rs + j * b.cs])
                            .sum();
                        assert!((c[i * (n + 1) + j] - want).abs() < 1e-4, "{m}x{k}x{n}");
                    }
                }
            }
        }
    }

    #[test]
    fn rope_rotates_pairs() {
        let mut x = [1.0, 0.0, 0.0, 0.0];
        rope(&mut x, 4, 1, 10000.0);
        // i = 0: angle 1 rad; (a, b) = (1, 0) -> (cos 1, sin 1)
        assert!((x[0] - 1f32.cos()).abs() < 1e-6 && (x[2] - 1f32.sin()).abs() < 1e-6);
        let n: f32 = x.iter().map(|v| v * v).sum();
        assert!((n - 1.0).abs() < 1e-6, "rotation keeps the norm");
    }

    #[test]
    fn norms_and_activations() {
        let mut x = [3.0, 4.0, 1.0, 1.0];
        rms_norm_groups(&mut x, &[1.0, 2.0, 1.0, 1.0], 2, 0.0);
        let r = (12.5f32).sqrt();
        assert!((x[0] - 3.0 / r).abs() < 1e-6 && (x[1] - 8.0 / r).abs() < 1e-6);
        assert!((x[2] - 1.0).abs() < 1e-6);
        assert!((softplus(0.0) - 2f32.ln()).abs() < 1e-7);
        assert!((silu(1.0) - 1.0 / (1.0 + (-1f32).exp())).abs() < 1e-7);
    }
}
