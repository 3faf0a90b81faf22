//! The attention tests' CPU reference and prefill case (gpu/tests/attention.rs and
//! attention_coop.rs).

use super::{down, rel_err, up, up_u32, values};
use hybrid_core::config::AttentionConfig;
use hybrid_core::cpu::attention::visible;
use hybrid_core::cpu::softmax::softmax;
use hybrid_gpu::ops::attention_combine::AttentionCombine;
use hybrid_gpu::ops::attention_split::AttentionSplit;
use hybrid_gpu::ops::{attention::*, kv_store::KvStore};
use hybrid_gpu::{run, Gpu, Kernel};

/// Tolerance (max |gpu - cpu| / max |cpu|) of attention_coop.wgsl: q, k, v and the softmax
/// weights rounded to f16 (2^-11 relative each), sums in f32.
pub const COOP_TOL: f32 = 4e-3;

/// Tolerance of decode attention (split-K partials + combine, and the prefill kernel):
/// exp in the online softmax, different association of the weighted sum.
pub const ATTN_TOL: f32 = 1e-4;

/// One decode step (T = 1) at position ctx - 1 through split-K partials + combine, the
/// cache (rows for `max_ctx`) filled by KvStore (ring wrap-around included), for each
/// split count of `splits` (slices of at least `min_slice` keys), against the reference;
/// q scaled by `q_gain` (peaked softmax when large). `vec4`: attention_split_vec4 where
/// the shape allows it, else attention_split. Returns the worst relative error and the
/// kernel of the partials.
#[allow(clippy::too_many_arguments)]
pub fn split_decode_case(
    g: &Gpu,
    (window, sinks): (Option<usize>, usize),
    (hq, hkv, dh, dv): (usize, usize, usize, usize),
    ctx: usize,
    max_ctx: usize,
    (splits, min_slice, vec4): (&[usize], usize, bool),
    q_gain: f32,
) -> (f32, Kernel) {
    let (qd, kvd, vd, od) = (hq * dh, hkv * dh, hkv * dv, hq * dv);
    let stride = qd + kvd + vd;
    let pos0 = ctx - 1;
    let (qkv, want) = with_reference(
        (ctx, pos0),
        (hq, hkv, dh, dv),
        (window, sinks),
        (11 + dh as u64, q_gain),
        (0, 0),
    );
    let layout = CacheLayout { window, sinks };
    let rows = layout.rows(max_ctx);
    let (kc, vc) = cache_with_prefix(g, &qkv, pos0, (qd, kvd, vd), layout, rows);
    let b = up(g, &qkv[pos0 * stride..]);
    let pos = up_u32(g, &[pos0 as u32, 0, 0, 0]);
    let mut worst = 0.0f32;
    let mut kernel = Kernel::AttentionSplit;
    for &splits in splits {
        let sp = AttentionSplit {
            stride,
            k_off: qd,
            v_off: qd + kvd,
            n_heads: hq,
            n_kv_heads: hkv,
            head_dim: dh,
            v_head_dim: dv,
            layout,
            view: KeyView::default(),
            cache_rows: rows,
            splits,
            min_slice,
            vec4,
        };
        let part = up(g, &vec![f32::NAN; sp.partials_len()]);
        let out = up(g, &vec![0.0; od]);
        let cb = AttentionCombine {
            n_heads: hq,
            head_dim: dv,
            splits,
        };
        let ds = [
            sp.build(g, "split", &pos, &b, &kc, &vc, &part)
                .expect("build"),
            cb.build(g, "combine", &part, &out).expect("build"),
        ];
        kernel = ds[0].kernel();
        run(g, "split attn", &ds).expect("run");
        let e = rel_err(&down(g, &out, od), &want);
        assert!(
            e < ATTN_TOL,
            "split attention window={window:?} sinks={sinks} hq={hq} hkv={hkv} dh={dh} dv={dv} \
             ctx={ctx} splits={splits} min_slice={min_slice} vec4={vec4} q_gain={q_gain}: {e:e}"
        );
        worst = worst.max(e);
    }
    (worst, kernel)
}

/// Reference attention over all keys 0..pos0+T (rows of `k` [pos0+T, Hkv*dh] and `v`
/// [pos0+T, Hkv*dv]), keys in `hide` [from, to) hidden (but a query's own); heads of dv
/// out, [T, Hq*dv].
#[allow(clippy::too_many_arguments)]
pub fn attention_ref(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    pos0: usize,
    hq: usize,
    hkv: usize,
    (dh, dv): (usize, usize),
    cfg: &AttentionConfig,
    hide: (usize, usize),
) -> Vec<f32> {
    let (qd, kvd, vd, od) = (hq * dh, hkv * dh, hkv * dv, hq * dv);
    let t_len = q.len() / qd;
    let mut out = vec![0.0; t_len * od];
    for t in 0..t_len {
        for h in 0..hq {
            let kvh = h / (hq / hkv);
            let qh = &q[t * qd + h * dh..t * qd + (h + 1) * dh];
            let keys: Vec<usize> = (0..=pos0 + t)
                .filter(|&s| visible(pos0 + t, s, cfg))
                .filter(|&s| s == pos0 + t || s < hide.0 || s >= hide.1)
                .collect();
            let mut sc: Vec<f32> = keys
                .iter()
                .map(|&s| {
                    qh.iter()
                        .zip(&k[s * kvd + kvh * dh..])
                        .map(|(a, b)| a * b)
                        .sum::<f32>()
                        / (dh as f32).sqrt()
                })
                .collect();
            softmax(&mut sc);
            for (&s, p) in keys.iter().zip(&sc) {
                for i in 0..dv {
                    out[t * od + h * dv + i] += p * v[s * vd + kvh * dv + i];
                }
            }
        }
    }
    out
}

/// K and V caches of `rows` rows (NaN where unwritten) holding the first `pos0` rows of
/// `qkv` ([T, qd + kvd + vd] rows of q | k | v), stored by the `kv_store` kernel.
pub fn cache_with_prefix(
    g: &Gpu,
    qkv: &[f32],
    pos0: usize,
    (qd, kvd, vd): (usize, usize, usize),
    layout: CacheLayout,
    rows: usize,
) -> (wgpu::Buffer, wgpu::Buffer) {
    let stride = qd + kvd + vd;
    let (kc, vc) = (
        up(g, &vec![f32::NAN; rows * kvd]),
        up(g, &vec![f32::NAN; rows * vd]),
    );
    if pos0 > 0 {
        let b = up(g, &qkv[..pos0 * stride]);
        let pos = up_u32(g, &[0, 0, 0, 0]);
        let st = KvStore {
            t: pos0,
            stride,
            k_off: qd,
            v_off: qd + kvd,
            k_dim: kvd,
            v_dim: vd,
            layout,
            cache_rows: rows,
        };
        let d = st.build(g, "store", &pos, &b, &kc, &vc).expect("build");
        run(g, "store", &[d]).expect("run");
    }
    (kc, vc)
}

/// One prefill case: the Attention op for T rows at pos0 (keys before pos0 stored by
/// KvStore, the ring wrapped with a window), rows written to a strided `out` whose padding
/// must stay untouched, against the reference; q scaled by `q_gain` (a peaked softmax
/// when large).
#[derive(Debug, Clone, Copy)]
pub struct PrefillCase {
    pub window: Option<usize>,
    pub sinks: usize,
    pub hq: usize,
    pub hkv: usize,
    pub dh: usize,
    pub dv: usize,
    pub pos0: usize,
    pub t: usize,
    pub hide: Option<(usize, usize)>,
    pub q_gain: f32,
}

/// `rows` rows of q | k | v (`qkv_rows` with `seed` and `q_gain`) and the reference
/// attention output of the rows from `pos0` on, with a window of `window` tokens and
/// `sinks` sinks and the keys `hidden` hidden.
fn with_reference(
    (rows, pos0): (usize, usize),
    (hq, hkv, dh, dv): (usize, usize, usize, usize),
    (window, sinks): (Option<usize>, usize),
    (seed, q_gain): (u64, f32),
    hidden: (usize, usize),
) -> (Vec<f32>, Vec<f32>) {
    let (qkv, [q, k, v]) = qkv_rows(rows, (hq, hkv, dh, dv), seed, q_gain);
    let cfg = AttentionConfig {
        window,
        sink_tokens: sinks,
        v_head_dim: Some(dv),
        ..AttentionConfig::plain(hq, hkv, dh)
    };
    let q = &q[pos0 * hq * dh..];
    let want = attention_ref(q, &k, &v, pos0, hq, hkv, (dh, dv), &cfg, hidden);
    (qkv, want)
}

/// `n` random q|k|v rows ([n, Hq*dh + Hkv*dh + Hkv*dv], seeded; q scaled by `q_gain`)
/// and their q, k and v columns.
pub fn qkv_rows(
    n: usize,
    (hq, hkv, dh, dv): (usize, usize, usize, usize),
    seed: u64,
    q_gain: f32,
) -> (Vec<f32>, [Vec<f32>; 3]) {
    let (qd, kvd, vd) = (hq * dh, hkv * dh, hkv * dv);
    let stride = qd + kvd + vd;
    let mut qkv = values(n * stride, seed);
    qkv.chunks_mut(stride)
        .for_each(|r| r[..qd].iter_mut().for_each(|x| *x *= q_gain));
    let col = |off: usize, w: usize| -> Vec<f32> {
        qkv.chunks(stride)
            .flat_map(|r| r[off..off + w].to_vec())
            .collect()
    };
    let cols = [col(0, qd), col(qd, kvd), col(qd + kvd, vd)];
    (qkv, cols)
}

/// Runs `c`; returns the relative error (max |gpu - cpu| / max |cpu|) and the kernel the
/// op chose.
pub fn prefill_case(g: &Gpu, c: PrefillCase) -> (f32, Kernel) {
    let PrefillCase {
        window,
        sinks,
        hq,
        hkv,
        dh,
        dv,
        pos0,
        t,
        hide,
        q_gain,
    } = c;
    let (qd, kvd, vd, od) = (hq * dh, hkv * dh, hkv * dv, hq * dv);
    let stride = qd + kvd + vd;
    let total = pos0 + t;
    let (qkv, want) = with_reference(
        (total, pos0),
        (hq, hkv, dh, dv),
        (window, sinks),
        (5 + dh as u64, q_gain),
        hide.unwrap_or((0, 0)),
    );
    let layout = CacheLayout { window, sinks };
    let rows = layout.rows(total);
    let (kc, vc) = cache_with_prefix(g, &qkv, pos0, (qd, kvd, vd), layout, rows);
    let b = up(g, &qkv[pos0 * stride..]);
    let pos = up_u32(g, &[pos0 as u32, 0, 0, 0]);
    let out_stride = od + 3;
    let out = up(g, &vec![f32::NAN; t * out_stride]);
    let a = Attention {
        t,
        stride,
        k_off: qd,
        v_off: qd + kvd,
        n_heads: hq,
        n_kv_heads: hkv,
        head_dim: dh,
        v_head_dim: dv,
        layout,
        view: KeyView { window: None, hide },
        cache_rows: rows,
        out_stride,
    };
    let d = a.build(g, "attn", &pos, &b, &kc, &vc, &out).expect("build");
    let kernel = d.kernel();
    run(g, "attn", &[d]).expect("run");
    let got = down(g, &out, t * out_stride);
    assert!(
        got.chunks(out_stride)
            .all(|r| r[od..].iter().all(|x| x.is_nan())),
        "{c:?}: wrote past the heads of a row"
    );
    let got: Vec<f32> = got
        .chunks(out_stride)
        .flat_map(|r| r[..od].to_vec())
        .collect();
    assert!(got.iter().all(|x| x.is_finite()), "{c:?}: not finite");
    (rel_err(&got, &want), kernel)
}
