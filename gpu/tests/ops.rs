//! Each op against the CPU reference on awkward sizes (1, 7, 33, 130: not multiples of
//! any workgroup size). Tolerances are relative (max |gpu - cpu| / max |cpu|) and stated
//! per op: f32 on both sides, differing only in summation order and in the GPU's
//! exp/sin/cos/pow.

mod common;

use common::{down, gpu, rel_err, up, up_u32, values};
use hybrid_core::config::MambaDims;
use hybrid_core::cpu::mamba::scan_recurrent;
use hybrid_core::cpu::ops::{matmul, rms_norm_groups, rope_partial, silu};
use hybrid_gpu::ops::relu2::Relu2;
use hybrid_gpu::ops::{add::Add, argmax::Argmax, conv1d::Conv1d, embed::Embed, ssd::Ssd};
use hybrid_gpu::ops::{
    matmul::Matmul, rmsnorm::RmsNorm, rope::Rope, ssm_scan::dt_edit_neutral, ssm_scan::SsmScan,
    swiglu::SwiGlu,
};
use hybrid_gpu::run;

const SIZES: [usize; 4] = [1, 7, 33, 130];

/// Reductions of up to a few hundred terms in a different order.
const MATMUL_TOL: f32 = 1e-5;
const NORM_TOL: f32 = 1e-5;
/// GPU pow/sin/cos against Rust's at positions < 200.
const ROPE_TOL: f32 = 1e-4;
/// exp in SiLU.
const ELEMENTWISE_TOL: f32 = 1e-5;
/// exp/log in softplus and the decay, sums over N.
const SCAN_TOL: f32 = 1e-4;

#[test]
fn matmul_and_matvec() {
    let Some(g) = gpu() else { return };
    for &t in &SIZES {
        for &n in &SIZES {
            for &k in &SIZES {
                let x = values(t * k, 1);
                let w = values(n * k, 2);
                let y0 = values(t * n, 3);
                let want = matmul(&x, &w, k);
                let (bx, bw) = (up(&g, &x), up(&g, &w));
                let by = up(&g, &y0);
                let d = Matmul::new(t, n, k)
                    .build(&g, "mm", &bx, &bw, &by)
                    .expect("build");
                run(&g, "mm", &[d]).expect("run");
                let e = rel_err(&down(&g, &by, t * n), &want);
                assert!(e < MATMUL_TOL, "matmul t={t} n={n} k={k}: {e:e}");
                // y += -0.5 x W^T
                let by = up(&g, &y0);
                let d = Matmul::new(t, n, k)
                    .accumulate(-0.5)
                    .build(&g, "mm acc", &bx, &bw, &by)
                    .expect("build");
                run(&g, "mm", &[d]).expect("run");
                let want_acc: Vec<f32> = y0.iter().zip(&want).map(|(a, b)| a - 0.5 * b).collect();
                let e = rel_err(&down(&g, &by, t * n), &want_acc);
                assert!(e < MATMUL_TOL, "matmul acc t={t} n={n} k={k}: {e:e}");
            }
        }
    }
    // sub-blocks: columns 3..3+k of x [t, k+5] and of w [n, k+3]
    let (t, n, k) = (33, 7, 130);
    let x = values(t * (k + 5), 4);
    let w = values(n * (k + 3), 5);
    let xs: Vec<f32> = x.chunks(k + 5).flat_map(|r| r[3..3 + k].to_vec()).collect();
    let ws: Vec<f32> = w.chunks(k + 3).flat_map(|r| r[3..3 + k].to_vec()).collect();
    let want = matmul(&xs, &ws, k);
    for t_run in [t, 1] {
        let mm = Matmul {
            x_stride: k + 5,
            x_off: 3,
            w_stride: k + 3,
            w_off: 3,
            ..Matmul::new(t_run, n, k)
        };
        let (bx, bw, by) = (up(&g, &x), up(&g, &w), up(&g, &vec![0.0; t * n]));
        run(
            &g,
            "mm",
            &[mm.build(&g, "mm off", &bx, &bw, &by).expect("build")],
        )
        .expect("run");
        let e = rel_err(&down(&g, &by, t_run * n), &want[..t_run * n]);
        assert!(e < MATMUL_TOL, "matmul offsets t={t_run}: {e:e}");
    }
    // a shape error is an error, not a panic
    let small = up(&g, &[0.0; 4]);
    assert!(Matmul::new(2, 2, 2)
        .build(&g, "bad", &small, &small, &up(&g, &[0.0; 1]))
        .is_err());
}

#[test]
fn rmsnorm_grouped() {
    let Some(g) = gpu() else { return };
    for &rows in &SIZES {
        for (cols, group) in [(130, 130), (130, 13), (33, 33), (7, 1), (1, 1), (260, 65)] {
            let x = values(rows * cols, 6);
            let w = values(cols, 7);
            let mut want = x.clone();
            rms_norm_groups(&mut want, &w, group, 1e-5);
            want.iter_mut().for_each(|v| *v *= 0.75);
            let (bx, bw, bo) = (up(&g, &x), up(&g, &w), up(&g, &vec![0.0; rows * cols]));
            let n = RmsNorm {
                rows,
                cols,
                group,
                eps: 1e-5,
                scale: 0.75,
            };
            run(
                &g,
                "norm",
                &[n.build(&g, "norm", &bx, &bw, &bo).expect("build")],
            )
            .expect("run");
            let e = rel_err(&down(&g, &bo, rows * cols), &want);
            assert!(
                e < NORM_TOL,
                "rmsnorm rows={rows} cols={cols} group={group}: {e:e}"
            );
        }
    }
}

#[test]
fn rope_on_q_and_k() {
    let Some(g) = gpu() else { return };
    for &t in &SIZES {
        // (hq, hk, dh, rotated dims): full RoPE, and partial (Bamba: half of each head)
        for (hq, hk, dh, rot) in [(4, 2, 8, 8), (1, 1, 2, 2), (3, 1, 66, 66), (4, 2, 16, 8)] {
            let (qd, kd) = (hq * dh, hk * dh);
            let stride = qd + 2 * kd + 3;
            let x = values(t * stride, 8);
            let pos0 = 37;
            let mut want = x.clone();
            for (r, row) in want.chunks_mut(stride).enumerate() {
                rope_partial(&mut row[..qd], dh, rot, pos0 + r, 10000.0);
                rope_partial(&mut row[qd..qd + kd], dh, rot, pos0 + r, 10000.0);
            }
            let bx = up(&g, &x);
            let pos = up_u32(&g, &[pos0 as u32, 0, 0, 0]);
            let op = Rope {
                t,
                stride,
                n_q: hq,
                n_k: hk,
                k_off: qd,
                head_dim: dh,
                theta: 10000.0,
                rot,
            };
            run(
                &g,
                "rope",
                &[op.build(&g, "rope", &pos, &bx).expect("build")],
            )
            .expect("run");
            let e = rel_err(&down(&g, &bx, t * stride), &want);
            assert!(e < ROPE_TOL, "rope t={t} hq={hq} dh={dh} rot={rot}: {e:e}");
        }
    }
}

fn dims(h: usize, p: usize, n: usize, groups: usize, w: usize) -> MambaDims {
    MambaDims {
        n_heads: h,
        head_dim: p,
        d_state: n,
        n_groups: groups,
        conv_width: w,
        norm_groups: groups,
    }
}

#[test]
fn conv1d_with_state_over_two_calls() {
    let Some(g) = gpu() else { return };
    for &t2 in &SIZES {
        for (c, wd) in [(130, 4), (7, 1), (33, 3)] {
            let t1 = 7;
            let stride = c + 5;
            let inp = values((t1 + t2) * stride, 10);
            let w = values(c * wd, 11);
            let b = values(c, 12);
            // reference over the whole sequence, zero history
            let col: Vec<f32> = inp
                .chunks(stride)
                .flat_map(|r| r[2..2 + c].to_vec())
                .collect();
            let mut want = vec![0.0; (t1 + t2) * c];
            for t in 0..t1 + t2 {
                for ch in 0..c {
                    let mut acc = b[ch];
                    for k in 0..wd {
                        let src = t as isize - (wd as isize - 1) + k as isize;
                        if src >= 0 {
                            acc += w[ch * wd + k] * col[src as usize * c + ch];
                        }
                    }
                    want[t * c + ch] = silu(acc);
                }
            }
            let (bw, bb) = (up(&g, &w), up(&g, &b));
            let state = up(&g, &vec![0.0; (wd - 1).max(1) * c]);
            let mut got = Vec::new();
            for (r0, t) in [(0, t1), (t1, t2)] {
                let bi = up(&g, &inp[r0 * stride..(r0 + t) * stride]);
                let out = up(&g, &vec![0.0; t * c]);
                let op = Conv1d {
                    t,
                    channels: c,
                    width: wd,
                    in_stride: stride,
                    in_off: 2,
                };
                run(
                    &g,
                    "conv",
                    &[op.build(&g, "conv", &bi, &bw, &bb, &state, &out)
                        .expect("build")],
                )
                .expect("run");
                got.extend(down(&g, &out, t * c));
            }
            let e = rel_err(&got, &want);
            assert!(e < ELEMENTWISE_TOL, "conv1d t2={t2} c={c} w={wd}: {e:e}");
        }
    }
}

#[test]
fn ssm_scan_with_state_over_two_calls() {
    let Some(g) = gpu() else { return };
    let mut worst = (0.0f32, 0.0f32);
    for &t2 in &SIZES {
        for m in [
            dims(4, 8, 16, 2, 4),
            dims(3, 7, 33, 1, 4),
            dims(1, 1, 1, 1, 4),
            dims(16, 32, 64, 2, 4),
            dims(2, 5, 130, 1, 4),
        ] {
            let t1 = 7;
            let (e, c, h, ipd) = (m.d_inner(), m.conv_dim(), m.n_heads, m.in_proj_dim());
            let total = t1 + t2;
            let proj = values(total * ipd, 13);
            let xbc = values(total * c, 14);
            let mut heads = values(3 * h, 15);
            heads[..h].iter_mut().for_each(|v| *v -= 3.0); // dt_bias: small steps
            let dt: Vec<f32> = (0..total * h)
                .map(|i| {
                    hybrid_core::cpu::ops::softplus(
                        proj[(i / h) * ipd + e + c + i % h] + heads[i % h],
                    )
                })
                .collect();
            let a: Vec<f32> = heads[h..2 * h].iter().map(|v| -v.exp()).collect();
            let mut s = vec![0.0; m.ssm_state_len()];
            let mut want = scan_recurrent(m, &xbc, &dt, &a, &heads[2 * h..], &mut s, None);
            for t in 0..total {
                for i in 0..e {
                    want[t * e + i] *= silu(proj[t * ipd + i]);
                }
            }
            let bh = up(&g, &heads);
            let be = up(&g, &dt_edit_neutral(m.n_heads));
            let state = up(&g, &vec![0.0; m.ssm_state_len()]);
            let mut got = Vec::new();
            for (r0, t) in [(0, t1), (t1, t2)] {
                let bp = up(&g, &proj[r0 * ipd..(r0 + t) * ipd]);
                let bx = up(&g, &xbc[r0 * c..(r0 + t) * c]);
                let y = up(&g, &vec![0.0; t * e]);
                let op = SsmScan { t, dims: m };
                run(
                    &g,
                    "scan",
                    &[op.build(&g, "scan", &bp, &bx, &bh, &be, &state, &y)
                        .expect("build")],
                )
                .expect("run");
                got.extend(down(&g, &y, t * e));
            }
            let err = rel_err(&got, &want);
            assert!(err < SCAN_TOL, "scan t2={t2} {m:?}: {err:e}");
            let es = rel_err(&down(&g, &state, m.ssm_state_len()), &s);
            assert!(es < SCAN_TOL, "scan state t2={t2} {m:?}: {es:e}");
            worst = (worst.0.max(err), worst.1.max(es));
        }
    }
    eprintln!("ssm_scan: max rel err y {:e}, state {:e}", worst.0, worst.1);
}

/// The chunked SSD scan (3 kernels; ssm_scan for T = 1) against the CPU
/// recurrence + gate: a nonzero initial state, then two calls of t1 and t2 tokens (state
/// carried), T crossing chunk boundaries with a partial last chunk, G = 1 and 2, P up to
/// 32 and above (the kernels' upper channel half), P > 64 (heads run as slices:
/// 65 = 5 x 13, 96 = 2 x 48, 128 = 2 x 64), N not a multiple of the kernels'
/// slices, and both small and large steps (dt_bias shifted by -3
/// or not: per-chunk decays down to ~e^-100).
#[test]
fn ssd_chunked_scan_with_state_over_two_calls() {
    let Some(g) = gpu() else { return };
    let mut worst = (0.0f32, 0.0f32);
    for &t2 in &[1, 7, 33, 70, 130] {
        for (i, m) in [
            dims(4, 32, 64, 2, 4),
            dims(2, 4, 8, 1, 4),
            dims(4, 4, 64, 2, 4),
            dims(2, 32, 8, 1, 4),
            dims(3, 7, 33, 1, 4),
            dims(2, 8, 130, 2, 4),
            dims(2, 64, 32, 2, 4),
            dims(1, 37, 16, 1, 4),
            dims(1, 65, 8, 1, 4),
            dims(2, 128, 16, 2, 4),
            dims(1, 96, 8, 1, 4),
        ]
        .into_iter()
        .enumerate()
        {
            let shift = if i % 2 == 0 { -3.0 } else { 0.0 };
            let t1 = if i % 3 == 0 { 1 } else { 37 };
            let (e, c, h, ipd) = (m.d_inner(), m.conv_dim(), m.n_heads, m.in_proj_dim());
            let total = t1 + t2;
            let proj = values(total * ipd, 23);
            let xbc = values(total * c, 24);
            let mut heads = values(3 * h, 25);
            heads[..h].iter_mut().for_each(|v| *v += shift);
            let dt: Vec<f32> = (0..total * h)
                .map(|i| {
                    hybrid_core::cpu::ops::softplus(
                        proj[(i / h) * ipd + e + c + i % h] + heads[i % h],
                    )
                })
                .collect();
            let a: Vec<f32> = heads[h..2 * h].iter().map(|v| -v.exp()).collect();
            let s0 = values(m.ssm_state_len(), 26);
            let mut s = s0.clone();
            let mut want = scan_recurrent(m, &xbc, &dt, &a, &heads[2 * h..], &mut s, None);
            for t in 0..total {
                for i in 0..e {
                    want[t * e + i] *= silu(proj[t * ipd + i]);
                }
            }
            let bh = up(&g, &heads);
            let be = up(&g, &dt_edit_neutral(m.n_heads));
            let state = up(&g, &s0);
            let mut got = Vec::new();
            for (r0, t) in [(0, t1), (t1, t2)] {
                let op = Ssd { t, dims: m };
                let sc = op.scratch();
                let bp = up(&g, &proj[r0 * ipd..(r0 + t) * ipd]);
                let bx = up(&g, &xbc[r0 * c..(r0 + t) * c]);
                let y = up(&g, &vec![0.0; t * e]);
                let (bs, bd) = (up(&g, &vec![0.0; sc.states]), up(&g, &vec![0.0; sc.dtc]));
                let ds = op
                    .build(&g, "ssd", &bp, &bx, &bh, &be, &state, &y, &bs, &bd)
                    .expect("build");
                let chunked = t > 1;
                assert_eq!(ds.len(), if chunked { 3 } else { 1 }, "t={t} {m:?}");
                run(&g, "ssd", &ds).expect("run");
                got.extend(down(&g, &y, t * e));
            }
            let err = rel_err(&got, &want);
            assert!(err < SCAN_TOL, "ssd t1={t1} t2={t2} {m:?}: {err:e}");
            let es = rel_err(&down(&g, &state, m.ssm_state_len()), &s);
            assert!(es < SCAN_TOL, "ssd state t1={t1} t2={t2} {m:?}: {es:e}");
            worst = (worst.0.max(err), worst.1.max(es));
        }
    }
    eprintln!("ssd: max rel err y {:e}, state {:e}", worst.0, worst.1);
    // too-small scratch is a shape error
    let m = dims(2, 4, 8, 1, 4);
    let t = 40;
    let small = up(&g, &[0.0; 4]);
    let (bp, bx) = (
        up(&g, &vec![0.0; t * m.in_proj_dim()]),
        up(&g, &vec![0.0; t * m.conv_dim()]),
    );
    let (bh, bst, by) = (
        up(&g, &[0.0; 6]),
        up(&g, &vec![0.0; m.ssm_state_len()]),
        up(&g, &vec![0.0; t * m.d_inner()]),
    );
    let be = up(&g, &dt_edit_neutral(m.n_heads));
    assert!(Ssd { t, dims: m }
        .build(&g, "bad", &bp, &bx, &bh, &be, &bst, &by, &small, &small)
        .is_err());
}

#[test]
fn relu2_squares_the_positive_part() {
    let Some(g) = gpu() else { return };
    for &t in &SIZES {
        let f = 37;
        let x = values(t * f, 19);
        let want: Vec<f32> = x.iter().map(|v| v.max(0.0) * v.max(0.0)).collect();
        let (bx, ba) = (up(&g, &x), up(&g, &vec![0.0; t * f]));
        let op = Relu2 { t, f }.build(&g, "relu2", &bx, &ba).expect("build");
        run(&g, "relu2", &[op]).expect("run");
        let e = rel_err(&down(&g, &ba, t * f), &want);
        assert!(e < ELEMENTWISE_TOL, "relu2 t={t}: {e:e}");
    }
}

#[test]
fn swiglu_add_embed_argmax() {
    let Some(g) = gpu() else { return };
    for &t in &SIZES {
        for &f in &SIZES {
            let gu = values(t * 2 * f, 16);
            let want: Vec<f32> = (0..t * f)
                .map(|i| silu(gu[(i / f) * 2 * f + i % f]) * gu[(i / f) * 2 * f + f + i % f])
                .collect();
            let (bg, ba) = (up(&g, &gu), up(&g, &vec![0.0; t * f]));
            run(
                &g,
                "swiglu",
                &[SwiGlu { t, f }
                    .build(&g, "swiglu", &bg, &ba)
                    .expect("build")],
            )
            .expect("run");
            let e = rel_err(&down(&g, &ba, t * f), &want);
            assert!(e < ELEMENTWISE_TOL, "swiglu t={t} f={f}: {e:e}");
        }
        let (x, y) = (values(t * 33, 17), values(t * 33, 18));
        let want: Vec<f32> = x.iter().zip(&y).map(|(a, b)| b + 2.0 * a).collect();
        let (bx, by) = (up(&g, &x), up(&g, &y));
        run(
            &g,
            "add",
            &[Add {
                len: t * 33,
                alpha: 2.0,
            }
            .build(&g, "add", &bx, &by)
            .expect("build")],
        )
        .expect("run");
        assert!(
            rel_err(&down(&g, &by, t * 33), &want) < ELEMENTWISE_TOL,
            "add t={t}"
        );
        // embedding gather: exact
        let (v, d) = (130, 7);
        let table = values(v * d, 19);
        let toks: Vec<u32> = (0..t).map(|i| ((i * 37 + 5) % v) as u32).collect();
        let want: Vec<f32> = toks
            .iter()
            .flat_map(|&id| table[id as usize * d..(id as usize + 1) * d].to_vec())
            .collect();
        let (bt, btab, bx) = (up_u32(&g, &toks), up(&g, &table), up(&g, &vec![0.0; t * d]));
        run(
            &g,
            "embed",
            &[Embed {
                t,
                d,
                vocab: v,
                format: hybrid_gpu::WeightFormat::F32,
            }
            .build(&g, "embed", &bt, &btab, &bx)
            .expect("build")],
        )
        .expect("run");
        assert_eq!(down(&g, &bx, t * d), want, "embed t={t}");
    }
    // argmax: exact, ties to the lowest index
    for n in [1, 7, 33, 130, 4099] {
        let mut l = values(n + 3, 20);
        let best = (n * 2) / 3;
        l[3 + best] = 5.0;
        if best + 1 < n {
            l[3 + best + 1] = 5.0; // a tie
        }
        let (bl, bo) = (up(&g, &l), up_u32(&g, &[77]));
        run(
            &g,
            "argmax",
            &[Argmax { n, off: 3 }
                .build(&g, "argmax", &bl, &bo)
                .expect("build")],
        )
        .expect("run");
        let got: Vec<u32> = bytemuck::cast_slice(&down(&g, &bo, 1)).to_vec();
        assert_eq!(got[0] as usize, best, "argmax n={n}");
        assert_eq!(hybrid_core::sample::argmax(&l[3..]) as usize, best);
    }
}
