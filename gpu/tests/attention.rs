//! GPU attention ops (prefill kernel, split-K decode) against the CPU reference.
//! Each op against the CPU reference on awkward sizes (1, 7, 33, 130: not multiples of
//! any workgroup size). Tolerances are relative (max |gpu - cpu| / max |cpu|) and stated
//! per op: f32 on both sides, differing only in summation order and in the GPU's
//! exp/sin/cos/pow.

mod common;

use common::attn::{attention_ref, split_decode_case};
use common::attn::{PrefillCase, ATTN_TOL, COOP_TOL};
use common::{down, gpu, rel_err, up, up_u32, values};
use hybrid_core::config::AttentionConfig;
use hybrid_gpu::ops::attention_split::*;
use hybrid_gpu::ops::{attention::*, attention_tiled, kv_store::KvStore};
use hybrid_gpu::{run, Gpu, Kernel};

const SIZES: [usize; 4] = [1, 7, 33, 130];

/// Decode (T = 1) through split-K partials + combine at awkward contexts, against the
/// reference; with the grid's split count of the session (sized for a max context of
/// 1000), with more splits than keys (neutral partials), a single one (slices of many
/// tiles) or a few; on attention_split and, where the shape allows, attention_split_vec4
/// (the planner picks by head size: `vec4_pays`).
#[test]
fn attention_split_decode_matches_reference() {
    let Some(g) = gpu() else { return };
    let max_ctx = 1000;
    let mut worst = 0.0f32;
    for (window, sinks) in [
        (None, 0),
        (Some(5), 2),
        (Some(1), 0),
        (Some(40), 3),
        (Some(300), 4),
    ] {
        // (Hq, Hkv, dh, dv): value heads apart from q/k heads in the last three
        for shape in [
            (4, 2, 8, 8),
            (2, 2, 66, 66),
            (8, 1, 256, 256),
            (6, 2, 33, 33),
            (4, 2, 8, 16),
            (2, 1, 64, 128),
            (8, 2, 32, 12),
        ] {
            for (ctx, vec4) in [1, 7, 33, 130, 1000]
                .into_iter()
                .flat_map(|c| [(c, false), (c, true)])
            {
                let layout = CacheLayout { window, sinks };
                let session_splits = splits_for(max_keys(&layout, max_ctx));
                let e = split_decode_case(
                    &g,
                    (window, sinks),
                    shape,
                    ctx,
                    max_ctx,
                    (&[session_splits, 1, 3, MAX_SPLITS], KEYS_PER_SPLIT, vec4),
                    1.0,
                )
                .0;
                worst = worst.max(e);
            }
        }
    }
    eprintln!("split-K decode attention max rel err: {worst:e}");
}

/// Many splits: contexts up to 2000 keys (the session's grid of 32-key slices, up to 64
/// splits of ~31 keys; or 7 and 100 splits), full attention and a window with sinks (ring
/// wrapped), peaked softmax (q x 6) so the running max and the merge weights matter; both
/// kernels.
#[test]
fn attention_split_decode_many_splits() {
    let Some(g) = gpu() else { return };
    let max_ctx = 2048;
    let mut worst = 0.0f32;
    for (window, sinks) in [(None, 0), (Some(1500), 5), (Some(700), 3)] {
        for shape in [(8, 4, 32, 32), (4, 1, 64, 64), (6, 2, 66, 66)] {
            for ctx in [1000, 1999, 2000] {
                let layout = CacheLayout { window, sinks };
                let session_splits = splits_for(max_keys(&layout, max_ctx));
                for (q_gain, vec4) in [(1.0, false), (6.0, false), (6.0, true)] {
                    let e = split_decode_case(
                        &g,
                        (window, sinks),
                        shape,
                        ctx,
                        max_ctx,
                        (&[session_splits, 7, 100], KEYS_PER_SPLIT, vec4),
                        q_gain,
                    )
                    .0;
                    worst = worst.max(e);
                }
            }
        }
    }
    eprintln!("split-K decode attention, many splits: max rel err {worst:e}");
}

#[test]
fn attention_prefill_then_decode_with_cache() {
    let Some(g) = gpu() else { return };
    for (window, sinks) in [(None, 0), (Some(5), 2), (Some(1), 0), (Some(40), 3)] {
        for (hq, hkv, dh) in [(4, 2, 8), (2, 2, 66)] {
            for &t2 in &SIZES {
                let t1 = 33;
                let (qd, kvd) = (hq * dh, hkv * dh);
                let stride = qd + 2 * kvd;
                let total = t1 + t2;
                let qkv = values(total * stride, 9);
                let col = |off: usize, w: usize| -> Vec<f32> {
                    qkv.chunks(stride)
                        .flat_map(|r| r[off..off + w].to_vec())
                        .collect()
                };
                let (q, k, v) = (col(0, qd), col(qd, kvd), col(qd + kvd, kvd));
                let cfg = AttentionConfig {
                    n_heads: hq,
                    n_kv_heads: hkv,
                    head_dim: dh,
                    v_head_dim: None,
                    rope_theta: 1e4,
                    window,
                    sink_tokens: sinks,
                    rope_dim: None,
                    scale: None,
                };
                let want =
                    attention_ref(&q[t1 * qd..], &k, &v, t1, hq, hkv, (dh, dh), &cfg, (0, 0));
                let want1 =
                    attention_ref(&q[..t1 * qd], &k, &v, 0, hq, hkv, (dh, dh), &cfg, (0, 0));
                let layout = CacheLayout { window, sinks };
                let rows = layout.rows(total);
                let (kc, vc) = (
                    up(&g, &vec![f32::NAN; rows * kvd]),
                    up(&g, &vec![f32::NAN; rows * kvd]),
                );
                let out = up(&g, &vec![0.0; total * qd]);
                for (pos0, t, want) in [(0, t1, &want1), (t1, t2, &want)] {
                    let b = up(&g, &qkv[pos0 * stride..(pos0 + t) * stride]);
                    let pos = up_u32(&g, &[pos0 as u32, 0, 0, 0]);
                    let a = Attention {
                        t,
                        stride,
                        k_off: qd,
                        v_off: qd + kvd,
                        n_heads: hq,
                        n_kv_heads: hkv,
                        head_dim: dh,
                        v_head_dim: dh,
                        layout,
                        view: KeyView::default(),
                        cache_rows: rows,
                        out_stride: qd,
                    };
                    let s = KvStore {
                        t,
                        stride,
                        k_off: qd,
                        v_off: qd + kvd,
                        k_dim: kvd,
                        v_dim: kvd,
                        layout,
                        cache_rows: rows,
                    };
                    let ds = [
                        a.build(&g, "attn", &pos, &b, &kc, &vc, &out)
                            .expect("build"),
                        s.build(&g, "store", &pos, &b, &kc, &vc).expect("build"),
                    ];
                    run(&g, "attn", &ds).expect("run");
                    let e = rel_err(&down(&g, &out, t * qd), want);
                    assert!(e < ATTN_TOL, "attention window={window:?} sinks={sinks} hq={hq} dh={dh} pos0={pos0} t={t}: {e:e}");
                }
            }
        }
    }
}

/// One prefill case within ATTN_TOL (COOP_TOL where the device's tensor cores took it:
/// attention_coop.wgsl, f16 inputs); its relative error and the kernel that ran.
fn prefill_case(g: &Gpu, c: PrefillCase) -> (f32, Kernel) {
    let (e, kernel) = common::attn::prefill_case(g, c);
    let tol = if kernel == Kernel::AttentionCoop {
        COOP_TOL
    } else {
        ATTN_TOL
    };
    assert!(e < tol, "prefill attention {c:?} ({kernel:?}): {e:e}");
    (e, kernel)
}

/// The prefill kernel across its tile boundaries: T around the 32-row blocks (with G = 2
/// and G = 3 query heads per KV head, so blocks hold 16 or 10.7 positions), keys in the
/// cache (pos0 > 0, the ring wrapped with a window), head_dim on the tiled path (4, 32,
/// 64: tiles of 64, 32 and 16 keys, dims padded to vec4 with 6), on attention_tiled (80,
/// and value heads apart from q/k heads: 8/16, 32/12), windows smaller than T with sinks.
#[test]
fn attention_prefill_tiles_match_reference() {
    let Some(g) = gpu() else { return };
    let mut worst = [0.0f32; 2]; // equal heads, value heads apart
    for (window, sinks) in [(None, 0), (Some(5), 2), (Some(40), 3), (Some(1), 0)] {
        for (hq, hkv) in [(4, 2), (3, 1)] {
            for (dh, dv) in [
                (4, 4),
                (6, 6),
                (32, 32),
                (64, 64),
                (80, 80),
                (8, 16),
                (32, 12),
            ] {
                for pos0 in [0, 37, 150] {
                    for t in [1, 7, 33, 65, 130] {
                        let c = PrefillCase {
                            window,
                            sinks,
                            hq,
                            hkv,
                            dh,
                            dv,
                            pos0,
                            t,
                            hide: None,
                            q_gain: 1.0,
                        };
                        let e = prefill_case(&g, c).0;
                        let w = &mut worst[usize::from(dv != dh)];
                        *w = w.max(e);
                    }
                }
            }
        }
    }
    eprintln!(
        "prefill attention max rel err: dv = dh {:e}, dv != dh {:e}",
        worst[0], worst[1]
    );
}

/// Heads of 128 and 72 dims (attention_tiled.wgsl: 64-row blocks, two threads per row) and
/// 64 (attention.wgsl's tiled path) under the device's limits and under a workgroup storage
/// limit that fits only 8-key tiles (`small`) or none (`tiny`: the wide path): T not a
/// multiple of the 64-row block (G = 1, 2, 3), a chunk after a cached prefix, windows with
/// sinks, GQA, hidden keys (a range inside the chunk, one over the prefix, all but self).
#[test]
fn attention_prefill_wide_heads_match_reference() {
    let Some(g) = gpu() else { return };
    let small = Gpu::with_limits_blocking(|l| l.max_compute_workgroup_storage_size = 12288);
    let tiny = Gpu::with_limits_blocking(|l| l.max_compute_workgroup_storage_size = 12287);
    let (small, tiny) = (small.expect("small gpu"), tiny.expect("tiny gpu"));
    // the paths this test means to take at dh 128: 8-key tiles on `small`, none on `tiny`
    let bk = |d: &Gpu| {
        let l = &d.limits;
        attention_tiled::plan(128, 128, l.max_compute_workgroup_storage_size, 256).map(|c| c[1].1)
    };
    assert_eq!((bk(&small), bk(&tiny)), (Some(8.0), None));
    eprintln!(
        "attention_tiled at dh 128 on this device: BK = {:?}",
        bk(&g)
    );
    let hides = [None, Some((3, 40)), Some((10, 140)), Some((0, 400))];
    let mut worst = 0.0f32;
    let mut n = 0;
    for (window, sinks) in [(None, 0), (Some(50), 4)] {
        for (hq, hkv) in [(2, 2), (4, 2), (3, 1)] {
            for dh in [128, 72, 64] {
                for (pos0, t) in [(0, 1), (0, 70), (0, 129), (150, 33), (150, 100)] {
                    let hide = hides[n % hides.len()];
                    let dev = [&*g, &small, &tiny][n % 3];
                    n += 1;
                    let c = PrefillCase {
                        window,
                        sinks,
                        hq,
                        hkv,
                        dh,
                        dv: dh,
                        pos0,
                        t,
                        hide,
                        q_gain: 1.0,
                    };
                    worst = worst.max(prefill_case(dev, c).0);
                }
            }
        }
    }
    eprintln!("prefill attention (dh 64, 72, 128) max rel err: {worst:e}");
}

/// Value heads apart from q/k heads on attention_tiled.wgsl (4 threads per row for v heads
/// over 128 dims): the intra branch's heads (dh 128, dv 256) and odd ones (dh 72 / dv 200,
/// dh 128 / dv 132, dh 64 / dv 128), under the device's limits, a 20 KiB workgroup storage
/// limit (8-key tiles at dh 128 / dv 256) and one byte under (the one-row path): T not a
/// multiple of the 64-row block (G = 1, 2, 4), a chunk after a cached prefix, windows with
/// sinks, GQA, hidden keys.
#[test]
fn attention_prefill_value_heads_apart_match_reference() {
    let Some(g) = gpu() else { return };
    let small = Gpu::with_limits_blocking(|l| l.max_compute_workgroup_storage_size = 20480);
    let tiny = Gpu::with_limits_blocking(|l| l.max_compute_workgroup_storage_size = 20479);
    let (small, tiny) = (small.expect("small gpu"), tiny.expect("tiny gpu"));
    let bk = |d: &Gpu| {
        let l = &d.limits;
        attention_tiled::plan(128, 256, l.max_compute_workgroup_storage_size, 256).map(|c| c[1].1)
    };
    assert_eq!((bk(&small), bk(&tiny)), (Some(8.0), None));
    eprintln!(
        "attention_tiled at dh 128 / dv 256 on this device: BK = {:?}",
        bk(&g)
    );
    let hides = [None, Some((3, 40)), Some((10, 140)), Some((0, 400))];
    let mut worst = 0.0f32;
    let mut n = 0;
    for (window, sinks) in [(None, 0), (Some(50), 4)] {
        for (hq, hkv) in [(2, 2), (4, 2), (4, 1)] {
            for (dh, dv) in [(128, 256), (72, 200), (128, 132), (64, 128)] {
                for (pos0, t) in [(0, 1), (0, 70), (0, 129), (150, 33), (150, 100)] {
                    let hide = hides[n % hides.len()];
                    let dev = [&*g, &small, &tiny][n % 3];
                    n += 1;
                    let c = PrefillCase {
                        window,
                        sinks,
                        hq,
                        hkv,
                        dh,
                        dv,
                        pos0,
                        t,
                        hide,
                        q_gain: 1.0,
                    };
                    let (e, kernel) = prefill_case(dev, c);
                    // tiny: the one-row path at 128/256; else the tiled one (tensor cores
                    // where the device has them and the case has no sinks or hidden keys)
                    let want = if std::ptr::eq(dev, &tiny) && (dh, dv) == (128, 256) {
                        Kernel::Attention
                    } else {
                        Kernel::AttentionTiled
                    };
                    assert!(
                        kernel == want || kernel == Kernel::AttentionCoop,
                        "{c:?}: ran {kernel:?}, want {want:?}"
                    );
                    worst = worst.max(e);
                }
            }
        }
    }
    eprintln!("prefill attention, value heads apart (dv up to 256): max rel err {worst:e}");
}
