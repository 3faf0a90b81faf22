//! The decode matvec's epilogues (ops::matvec_epilogue) against the CPU reference:
//! RoPE on the q|k|v row with the KV append (full, partial and no RoPE; GQA; a head
//! size that is no multiple of the 8 rows of a workgroup), and the Mamba-2 conv + SiLU
//! with its state over three tokens. Tolerances as gpu/tests/ops.rs states them.

mod common;

use common::{down, gpu, rel_err, up, up_u32, values};
use hybrid_core::cpu::ops::{matmul, rms_norm_groups, rope_partial, silu};
use hybrid_gpu::ops::matvec::{FusedNorm, Matvec};
use hybrid_gpu::ops::matvec_epilogue::{Epilogue, RopeKvDims};
use hybrid_gpu::run;

/// Sums of up to 130 terms, then GPU pow/sin/cos at positions < 200.
const TOL: f32 = 1e-4;

/// y = W norm(x), RoPE on its q and k heads at position 37, and k, v appended at cache
/// row 37 (the other rows untouched), against the CPU.
#[test]
fn rope_and_kv_append_in_the_qkv_matvec() {
    let Some(g) = gpu() else { return };
    // (hq, hk, dh, dv, rot): full, partial, none; dh 6 and 66 cross the 8-row workgroups
    let cases = [
        (4, 2, 8, 8, 8),
        (4, 2, 16, 8, 8),
        (3, 1, 66, 66, 66),
        (2, 2, 6, 10, 6),
        (2, 1, 4, 4, 0),
    ];
    let (pos0, rows) = (37usize, 40usize);
    for (hq, hk, dh, dv, rot) in cases {
        for (k, norm, store) in [(33, false, true), (130, true, true), (7, true, false)] {
            let (qd, kd, vd) = (hq * dh, hk * dh, hk * dv);
            let n = qd + kd + vd;
            let x = values(k, 1);
            let w = values(n * k, 2);
            let gw = values(k, 3);
            let mut xn = x.clone();
            if norm {
                rms_norm_groups(&mut xn, &gw, k, 1e-5);
            }
            let mut want = matmul(&xn, &w, k);
            rope_partial(&mut want[..qd], dh, rot, pos0, 10000.0);
            rope_partial(&mut want[qd..qd + kd], dh, rot, pos0, 10000.0);
            let (k0, v0) = (values(rows * kd, 4), values(rows * vd, 5));
            let (mut kw, mut vw) = (k0.clone(), v0.clone());
            if store {
                kw[pos0 * kd..(pos0 + 1) * kd].copy_from_slice(&want[qd..qd + kd]);
                vw[pos0 * vd..(pos0 + 1) * vd].copy_from_slice(&want[qd + kd..]);
            }
            let (bx, bw, bg) = (up(&g, &x), up(&g, &w), up(&g, &gw));
            let (by, bk, bv) = (up(&g, &vec![0.0; n]), up(&g, &k0), up(&g, &v0));
            let pos = up_u32(&g, &[pos0 as u32, 0, 0, 0]);
            let mv = Matvec {
                norm: norm.then_some(FusedNorm { group: k, eps: 1e-5 }),
                ..Matvec::new(n, k)
            };
            let ep = Epilogue::RopeKv {
                dims: RopeKvDims {
                    n_heads: hq,
                    n_kv_heads: hk,
                    head_dim: dh,
                    v_head_dim: dv,
                    k_off: qd,
                    v_off: qd + kd,
                    rot,
                    theta: 10000.0,
                },
                pos: &pos,
                cache: store.then_some((&bk, &bv, rows)),
            };
            let d = mv.build_with(&g, "qkv", [&bx, &bw, &bg, &by], ep);
            run(&g, "qkv", &[d.expect("build")]).expect("run");
            let what = format!("hq={hq} hk={hk} dh={dh} dv={dv} rot={rot} k={k} norm={norm}");
            let e = rel_err(&down(&g, &by, n), &want);
            assert!(e < TOL, "q|k|v {what}: {e:e}");
            let e = rel_err(&down(&g, &bk, rows * kd), &kw);
            assert!(e < TOL, "K cache {what}: {e:e}");
            let e = rel_err(&down(&g, &bv, rows * vd), &vw);
            assert!(e < TOL, "V cache {what}: {e:e}");
        }
    }
}

/// Three tokens through in_proj + conv: each step's x|B|C output, the in_proj row and
/// the conv state against the CPU's causal conv over the three rows (zero history).
#[test]
fn conv_in_the_in_proj_matvec_over_three_tokens() {
    let Some(g) = gpu() else { return };
    // (E, C, H, width): C = E + 2GN channels after the E of z, then H of dt
    for (e, c, h, wd) in [(8, 24, 2, 4), (33, 47, 3, 3), (5, 9, 1, 1)] {
        let (n, k) = (e + c + h, 19);
        let w = values(n * k, 6);
        let (cw, cb) = (values(c * wd, 7), values(c, 8));
        let xs: Vec<Vec<f32>> = (0..3).map(|i| values(k, 10 + i)).collect();
        let ys: Vec<Vec<f32>> = xs.iter().map(|x| matmul(x, &w, k)).collect();
        let (bw, bcw, bcb) = (up(&g, &w), up(&g, &cw), up(&g, &cb));
        let state = up(&g, &vec![0.0; (wd - 1).max(1) * c]);
        let (by, bo) = (up(&g, &vec![0.0; n]), up(&g, &vec![0.0; c]));
        for (t, x) in xs.iter().enumerate() {
            let ep = Epilogue::Conv {
                off: e,
                channels: c,
                width: wd,
                w: &bcw,
                b: &bcb,
                state: &state,
                out: &bo,
            };
            let bx = up(&g, x);
            let d = Matvec::new(n, k).build_with(&g, "in_proj", [&bx, &bw, &bw, &by], ep);
            run(&g, "in_proj", &[d.expect("build")]).expect("run");
            let want: Vec<f32> = (0..c)
                .map(|ch| {
                    let mut acc = cb[ch];
                    for j in 0..wd {
                        // tap j reads token t - (W - 1) + j
                        if let Some(r) = (t + j + 1).checked_sub(wd) {
                            acc += cw[ch * wd + j] * ys[r][e + ch];
                        }
                    }
                    silu(acc)
                })
                .collect();
            let what = format!("E={e} C={c} H={h} W={wd} token {t}");
            let err = rel_err(&down(&g, &bo, c), &want);
            assert!(err < TOL, "x|B|C {what}: {err:e}");
            let err = rel_err(&down(&g, &by, n), &ys[t]);
            assert!(err < TOL, "in_proj row {what}: {err:e}");
        }
        // the state holds the last W-1 rows of x|B|C, oldest first
        let want: Vec<f32> = (0..wd - 1)
            .flat_map(|j| {
                let r = 3 + j + 1 - wd;
                ys[r][e..e + c].to_vec()
            })
            .collect();
        if wd > 1 {
            let err = rel_err(&down(&g, &state, (wd - 1) * c), &want);
            assert!(err < TOL, "conv state E={e} C={c} W={wd}: {err:e}");
        }
    }
}

/// What an epilogue cannot do is an error, not a wrong result: on an accumulating
/// product, or with heads that exceed the row.
#[test]
fn epilogue_misuse_is_an_error() {
    let Some(g) = gpu() else { return };
    let b = up(&g, &vec![0.0; 64]);
    let pos = up_u32(&g, &[0, 0, 0, 0]);
    let dims = RopeKvDims {
        n_heads: 2,
        n_kv_heads: 1,
        head_dim: 4,
        v_head_dim: 4,
        k_off: 8,
        v_off: 12,
        rot: 4,
        theta: 10000.0,
    };
    let ep = Epilogue::RopeKv {
        dims,
        pos: &pos,
        cache: None,
    };
    let acc = Matvec {
        accumulate: true,
        ..Matvec::new(16, 4)
    };
    assert!(acc.build_with(&g, "acc", [&b, &b, &b, &b], ep).is_err());
    let short = Matvec::new(14, 4);
    assert!(short.build_with(&g, "short", [&b, &b, &b, &b], ep).is_err());
    assert!(Matvec::new(16, 4)
        .build_with(&g, "ok", [&b, &b, &b, &b], ep)
        .is_ok());
}
