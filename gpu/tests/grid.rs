//! Dispatch grids past the device's workgroups-per-dimension limit (issues #12/#13: the
//! 1B configs' embed and SwiGLU of a 1,024-token chunk needed 65,536 and 98,304
//! workgroups in x). The ops fold such grids into y and z (`gpu/src/dispatch.rs`); here a
//! device opened with `max_compute_workgroups_per_dimension` lowered to [`LIMIT`] makes
//! small shapes fold. Each op runs on that device and on the default one: the outputs must
//! be identical (the same shader, only the workgroup numbering differs), the folded
//! grids within the limit, and the simple ops also equal to the CPU reference. A whole
//! model (every family, one chunk of 600 tokens) matches the CPU engine's logits.

mod common;

use std::sync::{Arc, OnceLock};

use common::{down, gpu, rel_err, up, up_u32, values};
use hybrid_core::config::MambaDims;
use hybrid_core::cpu::ops::{matmul, rms_norm_groups, silu};
use hybrid_core::weights::Weights;
use hybrid_core::{ForwardOptions, Model, ModelConfig};
use hybrid_gpu::dispatch::{fold, fold_grid};
use hybrid_gpu::ops::attention::{Attention, CacheLayout};
use hybrid_gpu::ops::attention_combine::AttentionCombine;
use hybrid_gpu::ops::attention_probs::AttentionProbs;
use hybrid_gpu::ops::attention_split::AttentionSplit;
use hybrid_gpu::ops::matvec::Matvec;
use hybrid_gpu::ops::row_norm::RowNorm;
use hybrid_gpu::ops::ssm_probes::SsmProbes;
use hybrid_gpu::ops::{add::Add, conv1d::Conv1d, embed::Embed, kv_store::KvStore, ssd::Ssd};
use hybrid_gpu::ops::{
    matmul::Matmul, relu2::Relu2, rmsnorm::RmsNorm, rope::Rope, ssm_scan::SsmScan, swiglu::SwiGlu,
};
use hybrid_gpu::{run, Dispatch, Gpu, GpuError, GpuModel, SessionOptions};

/// Workgroups per grid dimension of the folding device: small enough that a few hundred
/// workgroups fold into 3 dimensions.
const LIMIT: u32 = 16;
/// GPU logits against CPU logits: max |a - b| / max |b| (as in models.rs).
const LOGIT_TOL: f32 = 1e-3;
/// f32 on both sides, different summation order / GPU exp.
const OP_TOL: f32 = 1e-5;

/// The device with the lowered limit (one per test binary), or `None` where the GPU tests
/// are skipped.
fn low() -> Option<Arc<Gpu>> {
    static LOW: OnceLock<Option<Arc<Gpu>>> = OnceLock::new();
    LOW.get_or_init(|| {
        gpu()?; // the default device first: it checks the adapter and XDG_RUNTIME_DIR
        let g = Gpu::with_limits_blocking(|l| l.max_compute_workgroups_per_dimension = LIMIT)
            .expect("a device with a lowered workgroup limit");
        assert_eq!(g.limits.max_compute_workgroups_per_dimension, LIMIT);
        Some(Arc::new(g))
    })
    .clone()
}

/// What one op test builds on a device: its dispatches and the output buffers (floats).
struct Case {
    dispatches: Vec<Dispatch>,
    outs: Vec<(wgpu::Buffer, usize)>,
}

/// Build and run `build` on the default and on the folding device; the folding device's
/// grids must fit [`LIMIT`] and differ from the default's (they folded), and the outputs
/// must be identical. Returns the outputs (`None` where the GPU tests are skipped).
fn same_on_both(name: &str, build: impl Fn(&Gpu) -> Case) -> Option<Vec<Vec<f32>>> {
    let (plain, folded) = (gpu()?, low()?);
    let p = build(&plain);
    let f = build(&folded);
    for d in &f.dispatches {
        assert!(
            d.grid.iter().all(|&g| g <= LIMIT),
            "{name}: {} grid {:?} over {LIMIT}",
            d.label,
            d.grid
        );
    }
    assert!(
        f.dispatches
            .iter()
            .zip(&p.dispatches)
            .any(|(a, b)| a.grid != b.grid),
        "{name}: no grid folded (make the shape larger)"
    );
    run(&plain, name, &p.dispatches).expect("run on the default device");
    run(&folded, name, &f.dispatches).expect("run on the folding device");
    let mut outs = Vec::new();
    for ((bp, n), (bf, _)) in p.outs.iter().zip(&f.outs) {
        let (a, b) = (down(&plain, bp, *n), down(&folded, bf, *n));
        let diff = a.iter().zip(&b).filter(|(x, y)| x.to_bits() != y.to_bits());
        assert_eq!(diff.count(), 0, "{name}: folded outputs differ");
        outs.push(b);
    }
    Some(outs)
}

fn zeros(g: &Gpu, n: usize) -> wgpu::Buffer {
    up(g, &vec![0.0; n])
}

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
            f16: false,
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

/// Attention (tiled and wide paths, the split-K decode kernel, the probe kernel).
#[test]
fn attention_folds() {
    let layout = CacheLayout {
        window: None,
        sinks: 0,
    };
    // tiled (dh <= 64): (Hkv, ceil(T G / 32)) = (1, 19); wide (dh = 72): (Hq, T) = (2, 40)
    for (t, hq, dh) in [(300, 2, 8), (40, 2, 72)] {
        let hk = 1;
        let stride = (hq + 2 * hk) * dh;
        let qkv = values(t * stride, 13);
        let Some(_) = same_on_both("attention", |g| {
            let out = zeros(g, t * hq * dh);
            let op = Attention {
                t,
                stride,
                k_off: hq * dh,
                v_off: (hq + hk) * dh,
                n_heads: hq,
                n_kv_heads: hk,
                head_dim: dh,
                v_head_dim: dh,
                layout,
                cache_rows: t,
                out_stride: hq * dh,
            };
            let (kc, vc) = (zeros(g, t * hk * dh), zeros(g, t * hk * dh));
            let dp = op.build(g, "attn", &up_u32(g, &[0]), &up(g, &qkv), &kc, &vc, &out);
            Case {
                dispatches: vec![dp.expect("build")],
                outs: vec![(out, t * hq * dh)],
            }
        }) else {
            return;
        };
    }
    // split-K: (Hq / heads_per_wg, splits) = (1, 40) at position 1,000
    let (hq, hk, dh, splits, rows) = (2, 1, 8, 40, 1100);
    let stride = (hq + 2 * hk) * dh;
    let (qkv, kc, vc) = (
        values(stride, 14),
        values(rows * dh, 15),
        values(rows * dh, 16),
    );
    same_on_both("attention split", |g| {
        let part = zeros(g, hq * splits * (dh + 2));
        let op = AttentionSplit {
            stride,
            k_off: hq * dh,
            v_off: (hq + hk) * dh,
            n_heads: hq,
            n_kv_heads: hk,
            head_dim: dh,
            v_head_dim: dh,
            layout,
            cache_rows: rows,
            splits,
        };
        let (q, k, v) = (up(g, &qkv), up(g, &kc), up(g, &vc));
        let dp = op.build(g, "split", &up_u32(g, &[1000]), &q, &k, &v, &part);
        Case {
            dispatches: vec![dp.expect("build")],
            outs: vec![(part, hq * splits * (dh + 2))],
        }
    })
    .expect("gpu");
    // probes: (T, Hq) = (40, 2)
    let (t, hq, dh) = (40, 2, 8);
    let stride = (hq + 2 * hk) * dh;
    let qkv = values(t * stride, 17);
    same_on_both("attention probs", |g| {
        let probs = zeros(g, hq * t * t);
        let op = AttentionProbs {
            t,
            stride,
            k_off: hq * dh,
            n_heads: hq,
            n_kv_heads: hk,
            head_dim: dh,
            layout,
        };
        let dp = op.build(g, "probs", &up(g, &qkv), &probs);
        Case {
            dispatches: vec![dp.expect("build")],
            outs: vec![(probs, hq * t * t)],
        }
    })
    .expect("gpu");
}

fn dims(h: usize, p: usize, n: usize) -> MambaDims {
    MambaDims {
        n_heads: h,
        head_dim: p,
        d_state: n,
        n_groups: 1,
        conv_width: 4,
        norm_groups: 1,
    }
}

/// The Mamba-2 kernels: conv1d, the chunked SSD (chunk states / outputs per (chunk, head),
/// the state pass), the recurrent scan and the probe kernel.
#[test]
fn mamba_ops_fold() {
    // conv1d: channel blocks (x), then row blocks (y)
    for (t, c) in [(3, 17 * 64 + 5), (17 * 16 + 2, 5)] {
        let w = 4;
        let (inp, cw, cb, st) = (
            values(t * c, 18),
            values(c * w, 19),
            values(c, 20),
            values((w - 1) * c, 21),
        );
        let Some(_) = same_on_both("conv1d", |g| {
            let (state, out) = (up(g, &st), zeros(g, t * c));
            let op = Conv1d {
                t,
                channels: c,
                width: w,
                in_stride: c,
                in_off: 0,
            };
            let (i, wb, bb) = (up(g, &inp), up(g, &cw), up(g, &cb));
            let dp = op.build(g, "conv", &i, &wb, &bb, &state, &out);
            Case {
                dispatches: vec![dp.expect("build")],
                outs: vec![(out, t * c), (state, (w - 1) * c)],
            }
        }) else {
            return;
        };
    }
    // SSD: T = 600 (19 chunks) x 2 heads; the state pass over 2 x 64 x 32 / 256 = 16
    // workgroups does not fold, the per-chunk kernels do
    let m = dims(2, 64, 32);
    let t = 600;
    let ssd_inputs = |g: &Gpu, t: usize, m: MambaDims| {
        let proj = up(g, &values(t * m.in_proj_dim(), 22));
        let xbc = up(g, &values(t * m.conv_dim(), 23));
        let heads = up(g, &values(3 * m.n_heads, 24));
        let state = up(g, &values(m.ssm_state_len(), 25));
        (proj, xbc, heads, state)
    };
    same_on_both("ssd", |g| {
        let (proj, xbc, heads, state) = ssd_inputs(g, t, m);
        let op = Ssd { t, dims: m };
        let sc = op.scratch();
        let (y, states, dtc) = (
            zeros(g, t * m.d_inner()),
            zeros(g, sc.states),
            zeros(g, sc.dtc),
        );
        let ds = op.build(g, "ssd", &proj, &xbc, &heads, &state, &y, &states, &dtc);
        Case {
            dispatches: ds.expect("build"),
            outs: vec![(y, t * m.d_inner()), (state, m.ssm_state_len())],
        }
    })
    .expect("gpu");
    // the state pass folds: 5 x 64 x 16 / 256 = 20 workgroups; T = 40
    let m = dims(5, 64, 16);
    let t = 40;
    same_on_both("ssd state pass", |g| {
        let (proj, xbc, heads, state) = ssd_inputs(g, t, m);
        let op = Ssd { t, dims: m };
        let sc = op.scratch();
        let (y, states, dtc) = (
            zeros(g, t * m.d_inner()),
            zeros(g, sc.states),
            zeros(g, sc.dtc),
        );
        let ds = op.build(g, "ssd", &proj, &xbc, &heads, &state, &y, &states, &dtc);
        Case {
            dispatches: ds.expect("build"),
            outs: vec![(y, t * m.d_inner()), (state, m.ssm_state_len())],
        }
    })
    .expect("gpu");
    // the recurrent scan: 5 x 64 / 4 = 80 workgroups, 2 tokens
    let t = 2;
    same_on_both("ssm_scan", |g| {
        let (proj, xbc, heads, state) = ssd_inputs(g, t, m);
        let y = zeros(g, t * m.d_inner());
        let dp = SsmScan { t, dims: m }.build(g, "scan", &proj, &xbc, &heads, &state, &y);
        Case {
            dispatches: vec![dp.expect("build")],
            outs: vec![(y, t * m.d_inner()), (state, m.ssm_state_len())],
        }
    })
    .expect("gpu");
    // probes: (T, H) = (40, 5)
    let t = 40;
    same_on_both("ssm probes", |g| {
        let (proj, xbc, heads, _) = ssd_inputs(g, t, m);
        let h = m.n_heads;
        let (dt, imp) = (zeros(g, t * h), zeros(g, h * t * t));
        let dp = SsmProbes { t, dims: m }.build(g, "ssm probes", &proj, &xbc, &heads, &dt, &imp);
        Case {
            dispatches: vec![dp.expect("build")],
            outs: vec![(dt, t * h), (imp, h * t * t)],
        }
    })
    .expect("gpu");
}

/// A whole model of every family, prefill of one 600-token chunk on the folding device:
/// embed (600 workgroups), SwiGLU (1,200), RoPE, KV store, the norms, attention, conv,
/// SSD, the LM head matmul (all logits) and matvec (last row) all fold; the logits match
/// the CPU engine, a decode step after it too, and the probes are those of the default
/// device.
#[test]
fn model_prefill_on_a_folding_device_matches_the_cpu() {
    let Some(g) = low() else { return };
    let json = r#"{"name":"grid","vocab_size":1100,"d_model":64,"d_ffn":128,"max_seq_len":1024,
        "layers":["attention","mamba","intra"],
        "attention":{"n_heads":4,"n_kv_heads":2,"head_dim":16},
        "mamba":{"d_state":16,"head_dim":16,"n_groups":1,"expand":2,"conv_width":4},
        "intra":{"attn_heads":2,"attn_kv_heads":1,"ssm_heads":4,"fusion":"subtract",
                 "branch_norm":true,"out_proj":"separate","branch_scalars":false}}"#;
    let cfg = ModelConfig::from_json(json.as_bytes()).expect("config");
    let model = Model::new(cfg.clone(), Weights::random(&cfg, 7).expect("weights"));
    let v = cfg.vocab_size;
    let t = 600;
    let tokens: Vec<u32> = (0..t as u32 + 1)
        .map(|i| (i * 37 + 11) % v as u32)
        .collect();
    let opts = ForwardOptions {
        all_logits: true,
        ..Default::default()
    };
    let want = model
        .forward(&mut model.new_state(), &tokens, opts)
        .expect("cpu forward")
        .logits;
    let sopts = SessionOptions {
        max_context: 1024,
        chunk: t,
    };
    let gm = GpuModel::new(g.clone(), &model).expect("upload");
    let mut s = gm.session(sopts).expect("session");
    // every row's logits (LM head as a matmul)
    let all = s.prefill_all_blocking(&tokens[..t]).expect("prefill_all");
    let e = rel_err(&all, &want[..t * v]);
    assert!(e < LOGIT_TOL, "folded prefill_all: rel err {e:e}");
    let next = s.step_blocking(tokens[t]).expect("step");
    let e = rel_err(&next, &want[t * v..]);
    assert!(e < LOGIT_TOL, "folded step after the chunk: rel err {e:e}");
    // the last row's logits (LM head as a matvec)
    s.reset().expect("reset");
    let last = s.prefill_blocking(&tokens[..t]).expect("prefill");
    let e = rel_err(&last, &want[(t - 1) * v..t * v]);
    assert!(e < LOGIT_TOL, "folded prefill: rel err {e:e}");
    eprintln!("folding device (limit {LIMIT}), T = {t}: last-row logits rel err {e:.1e}");
    // the probe kernels, against the default device's (300 tokens: the implicit attention
    // of (T, H) = (600, 8) workgroups would be past 16^3)
    let plain = gpu().expect("default device");
    let probe = |g: Arc<Gpu>| {
        let gm = GpuModel::new(g, &model).expect("upload");
        let mut s = gm.session(sopts).expect("session");
        let (logits, probes) = s.prefill_probed_blocking(&tokens[..300]).expect("probed");
        (logits, format!("{probes:?}"))
    };
    let (lf, pf) = probe(g.clone());
    let (lp, pp) = probe(plain);
    assert_eq!(lf, lp, "probed logits differ between the devices");
    assert!(pf == pp, "probes differ between the devices");
}
