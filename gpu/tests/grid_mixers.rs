//! Dispatch grids past the device's workgroups-per-dimension limit, continued from grid.rs:
//! the attention kernels, the Mamba ops, and a whole model (every family, one chunk of 600
//! tokens) on the folding device against the CPU engine's logits.

mod common;

use std::sync::Arc;

use common::fold::{low, same_on_both, zeros, Case, LIMIT, LOGIT_TOL};
use common::{gpu, rel_err, up, up_u32, values};
use hybrid_core::config::MambaDims;
use hybrid_core::weights::Weights;
use hybrid_core::{ForwardOptions, Model, ModelConfig};
use hybrid_gpu::ops::attention::{Attention, CacheLayout, KeyView};
use hybrid_gpu::ops::attention_probs::AttentionProbs;
use hybrid_gpu::ops::attention_split::{AttentionSplit, KEYS_PER_SPLIT};
use hybrid_gpu::ops::ssm_probes::SsmProbes;
use hybrid_gpu::ops::ssm_scan::{dt_edit_neutral, SsmScan};
use hybrid_gpu::ops::{conv1d::Conv1d, ssd::Ssd};
use hybrid_gpu::{Gpu, GpuModel, SessionOptions};

/// Attention (both tiled paths and the wide one, the split-K decode kernel, the probe kernel).
#[test]
fn attention_folds() {
    let layout = CacheLayout {
        window: None,
        sinks: 0,
    };
    // tiled (dh <= 64): (Hkv, ceil(T G / 32)) = (1, 19); attention_tiled (dh = 72):
    // (Hkv, ceil(T G / 64)) = (1, 19); wide (dh = 136): (Hq, T) = (2, 40)
    for (t, hq, dh) in [(300, 2, 8), (600, 2, 72), (40, 2, 136)] {
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
                view: KeyView::default(),
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
            view: KeyView::default(),
            cache_rows: rows,
            splits,
            min_slice: KEYS_PER_SPLIT,
            vec4: true,
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
            view: KeyView::default(),
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
        let edit = up(g, &dt_edit_neutral(m.n_heads));
        let state = up(g, &values(m.ssm_state_len(), 25));
        (proj, xbc, [heads, edit], state)
    };
    // the chunked scan of T tokens of a mixer `m`, on both devices
    let ssd_case = |name: &str, t: usize, m: MambaDims| {
        same_on_both(name, |g| {
            let (proj, xbc, h, state) = ssd_inputs(g, t, m);
            let op = Ssd { t, dims: m };
            let sc = op.scratch();
            let (y, states, dtc) = (
                zeros(g, t * m.d_inner()),
                zeros(g, sc.states),
                zeros(g, sc.dtc),
            );
            let ds = op.build(
                g, "ssd", &proj, &xbc, &h[0], &h[1], &state, &y, &states, &dtc,
            );
            Case {
                dispatches: ds.expect("build"),
                outs: vec![(y, t * m.d_inner()), (state, m.ssm_state_len())],
            }
        })
        .expect("gpu");
    };
    ssd_case("ssd", t, m);
    // the state pass folds: 5 x 64 x 16 / 256 = 20 workgroups; T = 40
    let m = dims(5, 64, 16);
    let t = 40;
    ssd_case("ssd state pass", t, m);
    // the recurrent scan: 5 x 64 / 4 = 80 workgroups, 2 tokens
    let t = 2;
    same_on_both("ssm_scan", |g| {
        let (proj, xbc, h, state) = ssd_inputs(g, t, m);
        let y = zeros(g, t * m.d_inner());
        let dp = SsmScan { t, dims: m }.build(g, "scan", &proj, &xbc, &h[0], &h[1], &state, &y);
        Case {
            dispatches: vec![dp.expect("build")],
            outs: vec![(y, t * m.d_inner()), (state, m.ssm_state_len())],
        }
    })
    .expect("gpu");
    // probes: (T, H) = (40, 5)
    let t = 40;
    same_on_both("ssm probes", |g| {
        let (proj, xbc, hb, _) = ssd_inputs(g, t, m);
        let h = m.n_heads;
        let (dt, imp) = (zeros(g, t * h), zeros(g, h * t * t));
        let dp =
            SsmProbes { t, dims: m }.build(g, "ssm probes", &proj, &xbc, &hb[0], &hb[1], &dt, &imp);
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
