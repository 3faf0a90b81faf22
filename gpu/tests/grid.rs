//! Dispatch grids past the device's workgroups-per-dimension limit (issues #12/#13: the
//! 1B configs' embed and SwiGLU of a 1,024-token chunk needed 65,536 and 98,304
//! workgroups in x). The ops fold such grids into y and z (`gpu/src/dispatch.rs`); here a
//! device opened with `max_compute_workgroups_per_dimension` lowered to [`LIMIT`] makes
//! small shapes fold. Each op runs on that device and on the default one: the outputs must
//! be identical (the same shader, only the workgroup numbering differs), the folded
//! grids within the limit, and the simple ops also equal to the CPU reference. A whole
//! model (every family, one chunk of 600 tokens) matches the CPU engine's logits.
//! The attention and Mamba ops and the whole model: grid_mixers.rs; the folding device:
//! common/fold.rs.

mod common;

use common::fold::{low, same_on_both, zeros, Case, LIMIT, OP_TOL};
use common::{rel_err, up, up_u32, values};
use hybrid_core::cpu::ops::{matmul, rms_norm_groups, silu};
use hybrid_gpu::dispatch::{fold, fold_grid};
use hybrid_gpu::ops::attention::CacheLayout;
use hybrid_gpu::ops::attention_combine::AttentionCombine;
use hybrid_gpu::ops::matvec::Matvec;
use hybrid_gpu::ops::row_norm::RowNorm;
use hybrid_gpu::ops::{add::Add, embed::Embed, kv_store::KvStore};
use hybrid_gpu::ops::{matmul::Matmul, relu2::Relu2, rmsnorm::RmsNorm, rope::Rope, swiglu::SwiGlu};
use hybrid_gpu::GpuError;

#[test]
fn fold_grid_shapes() {
    // grids that fit are unchanged
    assert_eq!(fold_grid([7, 3], 16), Ok([7, 3, 1]));
    assert_eq!(fold_grid([65535, 65535], 65535), Ok([65535, 65535, 1]));
    // the 1B configs: embed of 4,096 x 2,048 (131,072 > 2 x 65,535), SwiGLU of 1,024 x 6,144
    assert_eq!(fold_grid([131072, 1], 65535), Ok([43691, 3, 1]));
    assert_eq!(fold_grid([98304, 1], 65535), Ok([49152, 2, 1]));
    for limit in [1u32, 2, 3, 16, 100, 65535] {
        for a in [1u32, 2, 15, 16, 17, 255, 256, 257, 4095, 4097, 70000] {
            for b in [1u32, 3, 16, 17, 300] {
                let n = u64::from(a) * u64::from(b);
                match fold_grid([a, b], limit) {
                    Ok(g) => {
                        assert!(g.iter().all(|&d| d >= 1 && d <= limit), "{a}x{b} {g:?}");
                        let total: u64 = g.iter().map(|&d| u64::from(d)).product();
                        assert!(total >= n, "{a}x{b} limit {limit}: {g:?} too small");
                        // spare workgroups: fewer than y + 1 per z layer
                        let spare = total - n;
                        assert!(spare < (u64::from(g[1]) + 1) * u64::from(g[2]), "{g:?}");
                    }
                    Err(g) => assert!(n > u64::from(limit).pow(3), "{a}x{b} {limit}: {g:?}"),
                }
            }
        }
    }
}

/// A grid that cannot fold, or a fixed grid over the limit, is an error naming the op,
/// the grid and the limit in workgroups.
#[test]
fn grids_over_the_limit_say_workgroups() {
    let Some(g) = low() else { return };
    let n = LIMIT * LIMIT;
    let e = fold(&g, "huge op", [n, LIMIT + 1]).expect_err("past limit^3");
    let msg = e.to_string();
    assert!(matches!(e, GpuError::Grid { .. }), "{msg}");
    assert!(
        msg.contains("huge op") && msg.contains("workgroups"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("limit of {LIMIT} workgroups")),
        "{msg}"
    );
    assert!(!msg.contains("bytes"), "{msg}");
    // attention_combine has a fixed grid (Hq, 1, 1)
    let heads = LIMIT as usize + 1;
    let part = zeros(&g, heads * 4);
    let out = zeros(&g, heads * 2);
    let op = AttentionCombine {
        n_heads: heads,
        head_dim: 2,
        splits: 1,
    };
    let msg = op
        .build(&g, "layers.0 combine", &part, &out)
        .expect_err("fixed grid over the limit")
        .to_string();
    assert!(
        msg.contains("layers.0 combine")
            && msg.contains(&format!("[{heads}, 1, 1]"))
            && msg.contains(&format!("limit of {LIMIT} workgroups per dimension")),
        "{msg}"
    );
}

/// embed, SwiGLU, add, RoPE, KV store: one thread per element, 1-D grids.
#[test]
fn elementwise_ops_fold() {
    // embed: T x D = 300 x 64 -> 300 workgroups
    let (t, d, v) = (300, 64, 50);
    let table = values(v * d, 1);
    let tokens: Vec<u32> = (0..t as u32).map(|i| (i * 7) % v as u32).collect();
    let Some(outs) = same_on_both("embed", |g| {
        let x = zeros(g, t * d);
        let op = Embed {
            t,
            d,
            vocab: v,
            format: hybrid_gpu::WeightFormat::F32,
        };
        let dp = op.build(g, "embed", &up_u32(g, &tokens), &up(g, &table), &x);
        Case {
            dispatches: vec![dp.expect("build")],
            outs: vec![(x, t * d)],
        }
    }) else {
        return;
    };
    let want: Vec<f32> = tokens
        .iter()
        .flat_map(|&id| table[id as usize * d..(id as usize + 1) * d].to_vec())
        .collect();
    assert_eq!(outs[0], want, "embed");

    // SwiGLU: T x F = 5 x 1000 -> 79 workgroups
    let (t, f) = (5, 1000);
    let gu = values(t * 2 * f, 2);
    let outs = same_on_both("swiglu", |g| {
        let act = zeros(g, t * f);
        let dp = SwiGlu { t, f }.build(g, "swiglu", &up(g, &gu), &act);
        Case {
            dispatches: vec![dp.expect("build")],
            outs: vec![(act, t * f)],
        }
    })
    .expect("gpu");
    let want: Vec<f32> = (0..t * f)
        .map(|i| {
            let (r, c) = (i / f, i % f);
            silu(gu[r * 2 * f + c]) * gu[r * 2 * f + f + c]
        })
        .collect();
    let e = rel_err(&outs[0], &want);
    assert!(e < OP_TOL, "swiglu: {e:e}");

    // relu2: the same 5 x 1000 -> 79 workgroups
    let outs = same_on_both("relu2", |g| {
        let act = zeros(g, t * f);
        let dp = Relu2 { t, f }.build(g, "relu2", &up(g, &gu[..t * f]), &act);
        Case {
            dispatches: vec![dp.expect("build")],
            outs: vec![(act, t * f)],
        }
    })
    .expect("gpu");
    let want: Vec<f32> = gu[..t * f]
        .iter()
        .map(|v| v.max(0.0) * v.max(0.0))
        .collect();
    let e = rel_err(&outs[0], &want);
    assert!(e < OP_TOL, "relu2: {e:e}");

    // add: 64 * 70 + 5 elements -> 71 workgroups
    let n = 64 * 70 + 5;
    let (x, y0) = (values(n, 3), values(n, 4));
    let outs = same_on_both("add", |g| {
        let y = up(g, &y0);
        let op = Add {
            len: n,
            alpha: -0.5,
        };
        Case {
            dispatches: vec![op.build(g, "add", &up(g, &x), &y).expect("build")],
            outs: vec![(y, n)],
        }
    })
    .expect("gpu");
    let want: Vec<f32> = y0.iter().zip(&x).map(|(a, b)| a - 0.5 * b).collect();
    assert_eq!(outs[0], want, "add");

    // RoPE: T = 100 rows of 4 q + 2 k heads of 8 -> 100 * 6 * 4 / 64 = 38 workgroups
    let (t, hq, hk, dh) = (100, 4, 2, 8);
    let stride = (hq + 2 * hk) * dh;
    let qkv = values(t * stride, 5);
    let pos0 = 3u32;
    let outs = same_on_both("rope", |g| {
        let b = up(g, &qkv);
        let op = Rope {
            t,
            stride,
            n_q: hq,
            n_k: hk,
            k_off: hq * dh,
            head_dim: dh,
            theta: 10000.0,
            rot: dh,
        };
        let dp = op.build(g, "rope", &up_u32(g, &[pos0]), &b).expect("build");
        Case {
            dispatches: vec![dp],
            outs: vec![(b, t * stride)],
        }
    })
    .expect("gpu");
    let mut want = qkv.clone();
    for (r, row) in want.chunks_mut(stride).enumerate() {
        hybrid_core::cpu::ops::rope(&mut row[..(hq + hk) * dh], dh, pos0 as usize + r, 1e4);
    }
    let e = rel_err(&outs[0], &want);
    assert!(e < 1e-4, "rope: {e:e}");

    // KV store: T = 100 rows of kv_dim 16 -> 25 workgroups
    let (t, kvd) = (100, 16);
    let stride = 3 * kvd;
    let qkv = values(t * stride, 6);
    let outs = same_on_both("kv_store", |g| {
        let (kc, vc) = (zeros(g, t * kvd), zeros(g, t * kvd));
        let op = KvStore {
            t,
            stride,
            k_off: kvd,
            v_off: 2 * kvd,
            k_dim: kvd,
            v_dim: kvd,
            layout: CacheLayout {
                window: None,
                sinks: 0,
            },
            cache_rows: t,
        };
        let dp = op.build(g, "kv", &up_u32(g, &[0]), &up(g, &qkv), &kc, &vc);
        Case {
            dispatches: vec![dp.expect("build")],
            outs: vec![(kc, t * kvd), (vc, t * kvd)],
        }
    })
    .expect("gpu");
    let col = |off: usize| -> Vec<f32> {
        qkv.chunks(stride)
            .flat_map(|r| r[off..off + kvd].to_vec())
            .collect()
    };
    assert_eq!(outs[0], col(kvd), "kv_store k");
    assert_eq!(outs[1], col(2 * kvd), "kv_store v");
}

/// Products and norms: matmul tiles (x and y folded), matvec rows, RMSNorm and row norms.
#[test]
fn products_and_norms_fold() {
    // matmul: N = 17 * 64 + 3 columns (x), then T = 17 * 64 + 1 rows (y)
    for (t, n, k) in [(7, 17 * 64 + 3, 5), (17 * 64 + 1, 3, 6)] {
        let (x, w) = (values(t * k, 7), values(n * k, 8));
        let Some(outs) = same_on_both("matmul", |g| {
            let y = zeros(g, t * n);
            let dp = Matmul::new(t, n, k).build(g, "mm", &up(g, &x), &up(g, &w), &y);
            Case {
                dispatches: vec![dp.expect("build")],
                outs: vec![(y, t * n)],
            }
        }) else {
            return;
        };
        let e = rel_err(&outs[0], &matmul(&x, &w, k));
        assert!(e < OP_TOL, "matmul t={t} n={n}: {e:e}");
    }
    // matvec: N = 8 * 40 + 1 outputs -> 41 workgroups
    let (n, k) = (8 * 40 + 1, 33);
    let (x, w) = (values(k, 9), values(n * k, 10));
    let outs = same_on_both("matvec", |g| {
        let y = zeros(g, n);
        let bw = up(g, &w);
        let dp = Matvec::new(n, k).build(g, "mv", &up(g, &x), &bw, &bw, &y);
        Case {
            dispatches: vec![dp.expect("build")],
            outs: vec![(y, n)],
        }
    })
    .expect("gpu");
    let e = rel_err(&outs[0], &matmul(&x, &w, k));
    assert!(e < 1e-4, "matvec: {e:e}");
    // RMSNorm: 3 groups x 70 rows
    let (rows, cols, group) = (70, 12, 4);
    let (x, wn) = (values(rows * cols, 11), values(cols, 12));
    let outs = same_on_both("rmsnorm", |g| {
        let out = zeros(g, rows * cols);
        let op = RmsNorm {
            rows,
            cols,
            group,
            eps: 1e-5,
            scale: 1.0,
        };
        let dp = op.build(g, "norm", &up(g, &x), &up(g, &wn), &out);
        Case {
            dispatches: vec![dp.expect("build")],
            outs: vec![(out, rows * cols)],
        }
    })
    .expect("gpu");
    let mut want = x.clone();
    for row in want.chunks_mut(cols) {
        rms_norm_groups(row, &wn, group, 1e-5);
    }
    let e = rel_err(&outs[0], &want);
    assert!(e < OP_TOL, "rmsnorm: {e:e}");
    // row norms: 70 rows
    let outs = same_on_both("row_norm", |g| {
        let out = zeros(g, rows * 2);
        let op = RowNorm {
            rows,
            cols,
            out_stride: 2,
            out_off: 1,
        };
        Case {
            dispatches: vec![op.build(g, "rows", &up(g, &x), &out).expect("build")],
            outs: vec![(out, rows * 2)],
        }
    })
    .expect("gpu");
    for (r, row) in x.chunks(cols).enumerate() {
        let want = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        let got = outs[0][r * 2 + 1];
        assert!((got - want).abs() <= 1e-5 * want.max(1.0), "row_norm {r}");
    }
}
