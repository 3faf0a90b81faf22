//! A packed, cache-blocked SGEMM with a 4 x 8 micro-kernel: what the engine runs in wasm32.
//! `matrixmultiply`'s SIMD128 kernel is 8 x 8: 16 `v128` accumulators plus its operands,
//! more than the 16 xmm registers V8 allocates on x86-64, so every step spills; four rows
//! by two `v128` keep 8 accumulators, 2 rows of B and a broadcast in registers (about 1.8x
//! the kernel throughput in V8: docs/BENCHMARKS.md). Natively `matrixmultiply` (AVX-512 /
//! AVX2+FMA) stays; this code runs there in the tests, with a portable kernel.

use super::mat::Mat;

/// Rows of A per micro-kernel.
const MR: usize = 4;
/// Columns of B per micro-kernel (two `v128`).
const NR: usize = 8;
/// Depth of a packed block (A's micro-panel 4 KiB, B's 8 KiB: both in L1).
const KC: usize = 256;
/// Columns of a packed block of B (KC x NC: 256 KiB, in L2).
const NC: usize = 256;

/// `C = A B` for A [M, K], B [K, N], C [M, N] with rows `ldc` apart (overwritten), on the
/// calling thread. The caller checks that the views fit their slices (`ops::gemm`).
#[allow(clippy::too_many_arguments)]
pub fn sgemm(m: usize, k: usize, n: usize, a: Mat, b: Mat, c: &mut [f32], ldc: usize) {
    if k == 0 {
        for i in 0..m {
            c[i * ldc..i * ldc + n].fill(0.0);
        }
        return;
    }
    let mut bp = vec![0.0f32; KC * NC.min(n.next_multiple_of(NR))];
    let mut ap = vec![0.0f32; KC * MR];
    let zeros = vec![0.0f32; KC.min(k)];
    for j0 in (0..n).step_by(NC) {
        let nb = NC.min(n - j0);
        for p0 in (0..k).step_by(KC) {
            let kb = KC.min(k - p0);
            pack_b(b, (p0, kb), (j0, nb), &mut bp);
            for i0 in (0..m).step_by(MR) {
                let mb = MR.min(m - i0);
                // rows of A as they are when contiguous (the kernel broadcasts A's values
                // one by one: packing them would only copy), else packed [kb, MR]
                let rows: [&[f32]; MR] = if a.cs == 1 {
                    std::array::from_fn(|i| match i < mb {
                        true => &a.data[(i0 + i) * a.rs + p0..(i0 + i) * a.rs + p0 + kb],
                        false => &zeros[..kb],
                    })
                } else {
                    pack_a(a, (i0, mb), (p0, kb), &mut ap);
                    let ap = &ap;
                    std::array::from_fn(|i| &ap[i * KC..i * KC + kb])
                };
                let panels = bp.chunks_exact(kb * NR).take(nb.div_ceil(NR));
                for (jp, panel) in panels.enumerate() {
                    let acc = kernel(rows, panel);
                    let (jj, nw) = (j0 + jp * NR, NR.min(nb - jp * NR));
                    for (i, acc_i) in acc.iter().enumerate().take(mb) {
                        let row = &mut c[(i0 + i) * ldc + jj..(i0 + i) * ldc + jj + nw];
                        if p0 == 0 {
                            row.copy_from_slice(&acc_i[..nw]);
                        } else {
                            row.iter_mut().zip(acc_i).for_each(|(cv, v)| *cv += v);
                        }
                    }
                }
            }
        }
    }
}

/// B's rows `p0..p0 + kb`, columns `j0..j0 + nb` into panels of NR columns, each
/// [kb, NR] (the last one padded with zeros).
fn pack_b(b: Mat, (p0, kb): (usize, usize), (j0, nb): (usize, usize), out: &mut [f32]) {
    for (jp, panel) in out
        .chunks_exact_mut(kb * NR)
        .take(nb.div_ceil(NR))
        .enumerate()
    {
        let (jj, nw) = (j0 + jp * NR, NR.min(nb - jp * NR));
        if b.cs == 1 && nw == NR {
            // rows of B contiguous: 8 values at a time
            for (l, dst) in panel.chunks_exact_mut(NR).enumerate() {
                let at = (p0 + l) * b.rs + jj;
                dst.copy_from_slice(&b.data[at..at + NR]);
            }
            continue;
        }
        panel.fill(0.0);
        for j in 0..nw {
            // column j of the panel: B's (p0.., jj + j), contiguous when B is a transpose
            let at = p0 * b.rs + (jj + j) * b.cs;
            for (l, d) in panel.iter_mut().skip(j).step_by(NR).enumerate() {
                *d = b.data[at + l * b.rs];
            }
        }
    }
}

/// A's rows `i0..i0 + mb`, columns `p0..p0 + kb`, row i at `i * KC` (missing rows zero).
fn pack_a(a: Mat, (i0, mb): (usize, usize), (p0, kb): (usize, usize), out: &mut [f32]) {
    for (i, dst) in out.chunks_exact_mut(KC).enumerate() {
        let at = (i0 + i) * a.rs + p0 * a.cs;
        for (l, d) in dst[..kb].iter_mut().enumerate() {
            *d = if i < mb { a.data[at + l * a.cs] } else { 0.0 };
        }
    }
}

/// `sum_l a[.][l] (x) b[l]` for MR rows of A, each [kb], and a panel b [kb, NR]: the 4 x 8
/// block of C.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn kernel(a: [&[f32]; MR], b: &[f32]) -> [[f32; NR]; MR] {
    use core::arch::wasm32::*;
    let mut acc = [f32x4_splat(0.0); 2 * MR]; // row i: acc[2i] columns 0-3, acc[2i+1] 4-7
    let rows = a[0].iter().zip(a[1]).zip(a[2].iter().zip(a[3]));
    for (((&a0, &a1), (&a2, &a3)), bk) in rows.zip(b.chunks_exact(NR)) {
        let b0 = f32x4(bk[0], bk[1], bk[2], bk[3]);
        let b1 = f32x4(bk[4], bk[5], bk[6], bk[7]);
        for (i, ai) in [a0, a1, a2, a3].into_iter().enumerate() {
            let av = f32x4_splat(ai);
            acc[2 * i] = f32x4_add(acc[2 * i], f32x4_mul(av, b0));
            acc[2 * i + 1] = f32x4_add(acc[2 * i + 1], f32x4_mul(av, b1));
        }
    }
    let mut out = [[0.0; NR]; MR];
    for (i, row) in out.iter_mut().enumerate() {
        // SAFETY: `row` is 8 f32s, room for two v128 (wasm stores need no alignment)
        unsafe {
            v128_store(row.as_mut_ptr() as *mut v128, acc[2 * i]);
            v128_store(row.as_mut_ptr().add(4) as *mut v128, acc[2 * i + 1]);
        }
    }
    out
}

/// The same block in plain Rust (natively, for the tests; wasm32 without SIMD128).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn kernel(a: [&[f32]; MR], b: &[f32]) -> [[f32; NR]; MR] {
    let mut acc = [[0.0f32; NR]; MR];
    for (l, bk) in b.chunks_exact(NR).enumerate().take(a[0].len()) {
        for (row, ai) in acc.iter_mut().zip(a) {
            for (cv, &bv) in row.iter_mut().zip(bk) {
                *cv += ai[l] * bv;
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_sgemm_equals_naive_across_block_edges() {
        // sizes around MR, NR, KC and NC, both layouts of B
        let buf: Vec<f32> = (0..300_000)
            .map(|i| ((i * 29 % 17) as f32 - 8.0) / 9.0)
            .collect();
        for (m, k, n) in [(1, 1, 1), (5, 3, 9), (7, 257, 13), (9, 300, 260), (4, 8, 8)] {
            let views = [Mat::rows(&buf[3..], k + 1), Mat::cols(&buf[5..], m + 2)];
            let bs = [Mat::cols(&buf[7..], k + 2), Mat::rows(&buf[11..], n + 3)];
            for (a, b) in views.into_iter().flat_map(|a| bs.map(|b| (a, b))) {
                let ldc = n + 2;
                let mut c = vec![f32::NAN; m * ldc];
                sgemm(m, k, n, a, b, &mut c, ldc);
                for i in 0..m {
                    for j in 0..n {
                        let want: f32 = (0..k)
                            .map(|l| a.data[i * a.rs + l * a.cs] * b.data[l * b.rs + j * b.cs])
                            .sum();
                        let got = c[i * ldc + j];
                        assert!(
                            (got - want).abs() < 1e-3,
                            "{m}x{k}x{n} at {i},{j}: {got} {want}"
                        );
                    }
                }
            }
        }
    }
}
