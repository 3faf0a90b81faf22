//! Reference ops in plain f32 Rust: the oracle every GPU shader is tested against.
//! Row-major throughout; a weight `[out, in]` is applied as `y = x W^T` (PyTorch `Linear`).

/// `y[t, n] = sum_k x[t, k] * w[n, k]`: x [T, K], w [N, K] -> y [T, N].
pub fn matmul(x: &[f32], w: &[f32], k: usize) -> Vec<f32> {
    let t = x.len() / k;
    let n = w.len() / k;
    let mut y = vec![0.0; t * n];
    matmul_into(x, w, k, &mut y);
    debug_assert_eq!(y.len(), t * n);
    y
}

/// As [`matmul`], writing into `y` [T, N]. Register-blocked: 4 tokens x 4 output rows
/// share each load of x and w, with 8-lane accumulators the compiler vectorizes.
pub fn matmul_into(x: &[f32], w: &[f32], k: usize, y: &mut [f32]) {
    let n = w.len() / k;
    let t = x.len() / k;
    let (t4, n4) = (t - t % 4, n - n % 4);
    for t0 in (0..t4).step_by(4) {
        for n0 in (0..n4).step_by(4) {
            let xs = [0, 1, 2, 3].map(|i| &x[(t0 + i) * k..(t0 + i + 1) * k]);
            let ws = [0, 1, 2, 3].map(|j| &w[(n0 + j) * k..(n0 + j + 1) * k]);
            let out = block4x4(xs, ws, k);
            for (i, row) in out.iter().enumerate() {
                y[(t0 + i) * n + n0..(t0 + i) * n + n0 + 4].copy_from_slice(row);
            }
        }
        for i in t0..t0 + 4 {
            for j in n4..n {
                y[i * n + j] = dot(&x[i * k..(i + 1) * k], &w[j * k..(j + 1) * k]);
            }
        }
    }
    for i in t4..t {
        let xi = &x[i * k..(i + 1) * k];
        for (j, yj) in y[i * n..(i + 1) * n].iter_mut().enumerate() {
            *yj = dot(xi, &w[j * k..(j + 1) * k]);
        }
    }
}

/// The 4x4 block of dot products `x_i . w_j`, 8 lanes at a time.
#[inline(always)]
fn block4x4(xs: [&[f32]; 4], ws: [&[f32]; 4], k: usize) -> [[f32; 4]; 4] {
    let mut acc = [[[0.0f32; 8]; 4]; 4];
    let k8 = k - k % 8;
    for c in (0..k8).step_by(8) {
        let xv = xs.map(|r| <[f32; 8]>::try_from(&r[c..c + 8]).unwrap_or([0.0; 8]));
        let wv = ws.map(|r| <[f32; 8]>::try_from(&r[c..c + 8]).unwrap_or([0.0; 8]));
        for i in 0..4 {
            for j in 0..4 {
                for l in 0..8 {
                    acc[i][j][l] += xv[i][l] * wv[j][l];
                }
            }
        }
    }
    let mut out = [[0.0f32; 4]; 4];
    for i in 0..4 {
        for j in 0..4 {
            let a = &acc[i][j];
            let mut s = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
            for c in k8..k {
                s += xs[i][c] * ws[j][c];
            }
            out[i][j] = s;
        }
    }
    out
}

/// Dot product with 8 independent accumulators (vectorizes on x86 and wasm simd128).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = (acc[0] + acc[4]) + (acc[1] + acc[5]) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// RMSNorm over groups of `g` values: `v / sqrt(mean(v^2) + eps) * w`, in place.
/// `x` is [rows, C] with C a multiple of `g`; `w` is [C].
pub fn rms_norm_groups(x: &mut [f32], w: &[f32], g: usize, eps: f32) {
    let c = w.len();
    for row in x.chunks_exact_mut(c) {
        for (vals, ws) in row.chunks_exact_mut(g).zip(w.chunks_exact(g)) {
            let ms = vals.iter().map(|v| v * v).sum::<f32>() / g as f32;
            let inv = 1.0 / (ms + eps).sqrt();
            for (v, wi) in vals.iter_mut().zip(ws) {
                *v *= inv * wi;
            }
        }
    }
}

/// RMSNorm over whole rows of `x` [rows, C] with weight `w` [C], returned as a new buffer.
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let mut y = x.to_vec();
    rms_norm_groups(&mut y, w, w.len(), eps);
    y
}

/// `v * sigmoid(v)`.
pub fn silu(v: f32) -> f32 {
    v / (1.0 + (-v).exp())
}

/// `ln(1 + e^v)`, stable for large |v| (PyTorch's threshold of 20).
pub fn softplus(v: f32) -> f32 {
    if v > 20.0 {
        v
    } else {
        v.exp().ln_1p()
    }
}

/// In-place softmax of one row.
pub fn softmax(row: &mut [f32]) {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0;
    for v in row.iter_mut() {
        *v = (*v - m).exp();
        s += *v;
    }
    for v in row.iter_mut() {
        *v /= s;
    }
}

/// Rotate-half RoPE on one token's heads, in place: `x` is [heads, dh] at position `pos`.
/// For i < dh/2, `f_i = theta^(-2i/dh)`: `(a, b) -> (a cos - b sin, b cos + a sin)`.
pub fn rope(x: &mut [f32], head_dim: usize, pos: usize, theta: f32) {
    let half = head_dim / 2;
    for head in x.chunks_exact_mut(head_dim) {
        for i in 0..half {
            let freq = theta.powf(-2.0 * i as f32 / head_dim as f32);
            let (sin, cos) = (pos as f32 * freq).sin_cos();
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
    for (a, b) in g.iter_mut().zip(&u) {
        *a = silu(*a) * b;
    }
    let f = gate.len() / d;
    matmul(&g, down, f)
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
        let mut s = [1.0, 2.0, 3.0];
        softmax(&mut s);
        assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-6 && s[2] > s[1]);
    }
}
