//! Decode attention at long caches and for GQA groups: the split-K partials of
//! attention_split_vec4.wgsl (vec4 K/V reads, every query head of a group per workgroup,
//! 256-key tiles) merged by attention_combine, against the CPU reference within ATTN_TOL.
//! Small heads, so that 4K+ keys run fast on lavapipe.

mod common;

use common::attn::split_decode_case;
use common::gpu;
use hybrid_gpu::ops::attention::CacheLayout;
use hybrid_gpu::ops::attention_split::{heads_per_wg_vec4, max_keys, splits_for};
use hybrid_gpu::ops::attention_split::{CPU_MIN_SLICE, KEYS_PER_SPLIT, MAX_SPLITS};
use hybrid_gpu::Kernel;

/// 4K+ keys: the session's grid (94-128 splits, of ~33 keys or, a CPU adapter's, 256+), one
/// split (the whole cache in 256-key tiles: the running max rescaled across 17 tiles),
/// 7 splits (slices of ~600 keys, 3 tiles each); full attention and a window with sinks
/// whose ring has wrapped; a flat and a peaked softmax (q x 6).
#[test]
fn attention_split_vec4_long_cache_many_splits() {
    let Some(g) = gpu() else { return };
    let max_ctx = 4608;
    let mut worst = 0.0f32;
    for (window, sinks) in [(None, 0), (Some(3000), 4)] {
        let layout = CacheLayout { window, sinks };
        let session_splits = splits_for(max_keys(&layout, max_ctx));
        // 128 splits without the window, 94 with it
        assert!(
            session_splits > 90 && session_splits <= MAX_SPLITS,
            "{layout:?}"
        );
        // (Hq, Hkv, dh, dv)
        for shape in [(4, 1, 8, 8), (2, 2, 16, 8)] {
            for (ctx, q_gain) in [(4100, 6.0), (4608, 1.0)] {
                // slices of 32+ keys (a GPU's) and of 256+ (a CPU adapter's)
                for min_slice in [KEYS_PER_SPLIT, CPU_MIN_SLICE] {
                    let (e, kernel) = split_decode_case(
                        &g,
                        (window, sinks),
                        shape,
                        ctx,
                        max_ctx,
                        (&[session_splits, 1, 7], min_slice, true),
                        q_gain,
                    );
                    assert_eq!(kernel, Kernel::AttentionSplitVec4, "{shape:?}");
                    worst = worst.max(e);
                }
            }
        }
    }
    eprintln!("split-K decode attention, 4K+ keys: max rel err {worst:e}");
}

/// GQA groups of 1 to 8 query heads per KV head, each served by one workgroup (heads 4..7
/// in the kernel's second vec4 of scores), q/k and v heads of different sizes (the intra
/// block's dv = 2 dh), heads of 128 and 256, with a window.
#[test]
fn attention_split_vec4_gqa_groups() {
    let Some(g) = gpu() else { return };
    let max_ctx = 700;
    let mut worst = 0.0f32;
    // (Hq, Hkv, dh, dv) and the query heads of a workgroup
    for (shape, hpw) in [
        ((8, 1, 16, 16), 8),
        ((12, 2, 16, 12), 6),
        ((5, 1, 8, 8), 5),
        ((6, 2, 16, 32), 3),
        ((3, 3, 4, 4), 1),
        ((8, 2, 32, 64), 4),
        ((16, 2, 128, 128), 8),
        ((4, 1, 128, 256), 4),
        ((8, 1, 256, 16), 4),
    ] {
        assert_eq!(
            heads_per_wg_vec4(shape.0 / shape.1, shape.2),
            hpw,
            "{shape:?}"
        );
        for (window, sinks) in [(None, 0), (Some(200), 3)] {
            let layout = CacheLayout { window, sinks };
            let session_splits = splits_for(max_keys(&layout, max_ctx));
            for ctx in [1, 300, 700] {
                let (e, kernel) = split_decode_case(
                    &g,
                    (window, sinks),
                    shape,
                    ctx,
                    max_ctx,
                    (&[session_splits, 1], KEYS_PER_SPLIT, true),
                    3.0,
                );
                assert_eq!(kernel, Kernel::AttentionSplitVec4, "{shape:?}");
                worst = worst.max(e);
            }
        }
    }
    eprintln!("split-K decode attention, GQA groups: max rel err {worst:e}");
}
