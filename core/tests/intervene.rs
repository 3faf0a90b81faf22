//! Interventions in the CPU engine (issue #11) against models built to match them: a zeroed
//! branch equals a zeroed projection in the weights, a window at inference equals a config
//! with that window, a reset equals zeroing the state by hand, and so on. The short syntax
//! and its errors are in `intervene_syntax.rs`.

mod common;

use common::{family_configs, rel_err};
use hybrid_core::cpu::mamba::Scan;
use hybrid_core::cpu::LayerState;
use hybrid_core::weights::{Mixer, Weights};
use hybrid_core::{ForwardOptions, Interventions, LayerKind, Model};
use std::path::PathBuf;

fn zoo(id: &str) -> Model {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/models")
        .join(id);
    let read = |f: &str| std::fs::read(dir.join(f)).expect("zoo file");
    Model::from_bytes(&read("config.json"), &read("model.safetensors")).expect("zoo model loads")
}

fn tokens(n: usize, vocab: usize) -> Vec<u32> {
    (0..n).map(|i| ((i * 37 + 11) % vocab) as u32).collect()
}

fn set(s: &str) -> Interventions {
    Interventions::parse(s).expect("valid interventions")
}

/// All logits [T, V] of one chunked prefill, with `iv`.
fn run(m: &Model, toks: &[u32], iv: &Interventions) -> Vec<f32> {
    let opts = ForwardOptions {
        all_logits: true,
        probes: false,
        scan: Scan::Chunked(8),
    };
    let mut st = m.new_state();
    m.forward_with(&mut st, toks, opts, iv)
        .expect("forward")
        .logits
}

/// The same, one token at a time.
fn run_steps(m: &Model, toks: &[u32], iv: &Interventions) -> Vec<f32> {
    let mut st = m.new_state();
    let opts = ForwardOptions::default();
    let step = |st: &mut _, t: &u32| m.forward_with(st, &[*t], opts, iv).expect("step").logits;
    toks.iter().flat_map(|t| step(&mut st, t)).collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Interventions that must change nothing on `m`: factors of 1, dt clamped at +inf, a window
/// and hidden keys beyond the run.
fn identities(m: &Model) -> Interventions {
    let items = m.layer_kinds().iter().enumerate().map(|(i, k)| match k {
        LayerKind::Attention => format!("L{i}.window=100000 L{i}.hide=5000..6000"),
        LayerKind::Mamba => format!("L{i}.dt*1 L{i}.dt<=inf L{i}.ssm_reset@5000"),
        LayerKind::Intra => format!("L{i}.attn*1 L{i}.ssm*1 L{i}.dt*1 L{i}.hide=5000..6000"),
    });
    set(&items.collect::<Vec<_>>().join(" "))
}

#[test]
fn empty_and_identity_sets_change_no_bit_on_every_bundled_model() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/models");
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .expect("assets/models")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("config.json").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    assert!(ids.len() >= 10, "bundled models missing: {ids:?}");
    for id in ids {
        let m = zoo(&id);
        let toks = tokens(40, m.config().vocab_size);
        let mut st = m.new_state();
        let opts = ForwardOptions {
            all_logits: true,
            ..Default::default()
        };
        let plain = m.forward(&mut st, &toks, opts).expect("forward").logits;
        let mut st = m.new_state();
        let empty = (m.forward_with(&mut st, &toks, opts, &Interventions::none()))
            .expect("forward")
            .logits;
        assert_eq!(bits(&plain), bits(&empty), "{id}: the empty set");
        let iv = identities(&m);
        let mut st = m.new_state();
        let ident = m
            .forward_with(&mut st, &toks, opts, &iv)
            .expect("fwd")
            .logits;
        assert_eq!(bits(&plain), bits(&ident), "{id}: identities {iv}");
    }
}

/// `m` with its weights changed by `edit`.
fn edited(m: &Model, edit: impl Fn(&mut Weights)) -> Model {
    let mut w = m.weights().clone();
    edit(&mut w);
    Model::new(m.config().clone(), w)
}

#[test]
fn zeroing_a_branch_equals_zeroing_its_projection() {
    // separate projections (subtract fusion) and the joint one (concat fusion)
    for id in ["recall-intra", "recall-intra-concat"] {
        let m = zoo(id);
        let toks = tokens(48, m.config().vocab_size);
        let d = m.config().d_model;
        for attn in [true, false] {
            let zeroed = edited(&m, |w| {
                let Mixer::Intra(b) = &mut w.blocks[1].mixer else {
                    panic!("{id}: block 1 is not intra")
                };
                let oa = b.attn.dims.o_dim();
                match (&mut b.out_proj, attn) {
                    (Some(j), _) => {
                        let cols = j.data.len() / d;
                        for (c, v) in j.data.iter_mut().enumerate() {
                            if (c % cols < oa) == attn {
                                *v = 0.0;
                            }
                        }
                    }
                    (None, true) => b.attn.o_proj.as_mut().expect("o_proj").data.fill(0.0),
                    (None, false) => b.ssm.out_proj.as_mut().expect("out_proj").data.fill(0.0),
                }
            });
            let iv = set(if attn { "L1.attn=0" } else { "L1.ssm*0" });
            let want = run(&zeroed, &toks, &Interventions::none());
            let got = run(&m, &toks, &iv);
            assert_eq!(bits(&got), bits(&want), "{id}: {iv}");
            assert!(rel_err(&got, &run(&m, &toks, &Interventions::none())) > 1e-3);
        }
    }
}

#[test]
fn skipping_a_mixer_or_ffn_equals_zeroing_its_output() {
    let m = zoo("recall-inter"); // mamba, attention, mamba, mamba
    let toks = tokens(48, m.config().vocab_size);
    type Edit = fn(&mut Weights);
    let cases: [(&str, Edit); 3] = [
        ("L1.mixer=skip", |w| match &mut w.blocks[1].mixer {
            Mixer::Attention(a) => a.o_proj.as_mut().expect("o_proj").data.fill(0.0),
            _ => panic!("block 1 is attention"),
        }),
        ("L2.mixer=skip", |w| match &mut w.blocks[2].mixer {
            Mixer::Mamba(s) => s.out_proj.as_mut().expect("out_proj").data.fill(0.0),
            _ => panic!("block 2 is mamba"),
        }),
        ("L0.ffn=skip", |w| {
            w.blocks[0]
                .ffn
                .as_mut()
                .expect("ffn")
                .down_proj
                .data
                .fill(0.0)
        }),
    ];
    for (text, edit) in cases {
        let want = run(&edited(&m, edit), &toks, &Interventions::none());
        assert_eq!(bits(&run(&m, &toks, &set(text))), bits(&want), "{text}");
    }
}

#[test]
fn a_window_at_inference_equals_a_config_with_that_window() {
    let m = zoo("recall-transformer");
    let toks = tokens(60, m.config().vocab_size);
    let mut cfg = m.config().clone();
    cfg.windows = Some(vec![None, None, Some(8), None]);
    let windowed = Model::new(cfg, m.weights().clone());
    let iv = set("L2.window=8");
    let want = run(&windowed, &toks, &Interventions::none());
    assert_eq!(bits(&run(&m, &toks, &iv)), bits(&want));
    // and decoding (the cache pruned to the imposed window) agrees
    let e = rel_err(&run_steps(&m, &toks, &iv), &want);
    assert!(e < 1e-5, "steps vs windowed config: {e}");
}

#[test]
fn hidden_keys_take_no_weight_and_the_rest_renormalize() {
    let m = zoo("recall-transformer");
    let toks = tokens(20, m.config().vocab_size);
    let probs = |iv: &Interventions| {
        let opts = ForwardOptions {
            all_logits: true,
            probes: true,
            scan: Scan::Chunked(8),
        };
        let out = m
            .forward_with(&mut m.new_state(), &toks, opts, iv)
            .expect("fwd");
        let p = out.probes.expect("probes");
        p.layers[0].attn_probs.clone().expect("layer 0 attention")
    };
    let (base, hid) = (probs(&Interventions::none()), probs(&set("L0.hide=3..7")));
    let t_len = toks.len();
    let hidden = |s: usize, t: usize| (3..7).contains(&s) && s != t;
    for (row, (b, h)) in base
        .chunks_exact(t_len)
        .zip(hid.chunks_exact(t_len))
        .enumerate()
    {
        let t = row % t_len; // rows are [head, query]
        let kept: f32 = (0..=t).filter(|&s| !hidden(s, t)).map(|s| b[s]).sum();
        for s in 0..=t {
            let want = if hidden(s, t) { 0.0 } else { b[s] / kept };
            assert!(
                (h[s] - want).abs() < 1e-5,
                "query {t} key {s}: {} vs {want}",
                h[s]
            );
        }
    }
}

#[test]
fn dt_edits_act_on_the_chosen_heads_only() {
    let m = zoo("recall-mamba2");
    let toks = tokens(24, m.config().vocab_size);
    let dt = |iv: &Interventions| {
        let opts = ForwardOptions {
            all_logits: false,
            probes: true,
            scan: Scan::Chunked(8),
        };
        let out = m
            .forward_with(&mut m.new_state(), &toks, opts, iv)
            .expect("fwd");
        out.probes.expect("probes").layers[0]
            .dt
            .clone()
            .expect("dt")
    };
    let base = dt(&Interventions::none());
    let h = base.len() / toks.len();
    let scaled = dt(&set("L0.dt[0,2]*0.5"));
    let clamped = dt(&set("L0.dt<=0.01"));
    for (i, &b) in base.iter().enumerate() {
        let want = if [0, 2].contains(&(i % h)) {
            b * 0.5
        } else {
            b
        };
        assert_eq!(scaled[i], want, "scaled dt at {i}");
        assert_eq!(clamped[i], b.min(0.01), "clamped dt at {i}");
    }
    assert!(
        base.iter().any(|&b| b > 0.01),
        "the clamp must bind somewhere"
    );
}

/// Zero S of `heads` of block `layer` in `st` by hand.
fn zero_ssm(st: &mut hybrid_core::State, layer: usize, heads: &[usize], per_head: usize) {
    let s = match &mut st.layers[layer] {
        LayerState::Mamba(s) | LayerState::Intra(_, s) => s,
        LayerState::Attention(_) => panic!("block {layer} has no SSM"),
    };
    for &h in heads {
        s.ssm[h * per_head..(h + 1) * per_head].fill(0.0);
    }
}

#[test]
fn a_reset_equals_zeroing_the_state_by_hand_inside_a_prefill_chunk() {
    for (name, cfg) in family_configs() {
        let Some(layer) = cfg
            .layers
            .iter()
            .position(|k| !matches!(k, LayerKind::Attention))
        else {
            continue;
        };
        let m = Model::new(cfg.clone(), Weights::random(&cfg, 5).expect("weights"));
        let dims = match cfg.layers[layer] {
            LayerKind::Intra => cfg.intra_mamba_dims(),
            _ => cfg.mamba_dims(),
        }
        .expect("ssm dims");
        let per_head = dims.head_dim * dims.d_state;
        let toks = tokens(23, cfg.vocab_size);
        let iv = set(&format!("L{layer}.ssm_reset[1]@11"));
        // by hand, one token at a time
        let mut st = m.new_state();
        let mut want = Vec::new();
        for (t, &tok) in toks.iter().enumerate() {
            if t == 11 {
                zero_ssm(&mut st, layer, &[1], per_head);
            }
            want.extend(m.step(&mut st, tok).expect("step"));
        }
        assert_eq!(
            bits(&run_steps(&m, &toks, &iv)),
            bits(&want),
            "{name}: steps"
        );
        // a chunked prefill (token 11 inside the chunk 8..16) and a split one
        let e = rel_err(&run(&m, &toks, &iv), &want);
        assert!(e < 1e-5, "{name}: prefill vs by hand: {e}");
        assert!(rel_err(&run(&m, &toks, &Interventions::none()), &want) > 1e-4);
    }
}

#[test]
fn prefill_equals_steps_with_interventions_for_every_family() {
    for (name, cfg) in family_configs() {
        let m = Model::new(cfg.clone(), Weights::random(&cfg, 9).expect("weights"));
        let mut items = Vec::new();
        for (i, k) in cfg.layers.iter().enumerate() {
            items.push(match k {
                LayerKind::Attention => format!("L{i}.window=6 L{i}.hide=2..5"),
                LayerKind::Mamba => {
                    format!("L{i}.dt[0]*0.3 L{i}.ssm_reset@9 L{i}.ssm_freeze[1]@15")
                }
                LayerKind::Intra => format!("L{i}.ssm*0.5 L{i}.dt<=0.05 L{i}.ssm_reset[0]@13"),
            });
            if cfg.has_ffn(i) && i == 0 {
                items.push("L0.ffn=skip".into());
            }
        }
        let iv = set(&items.join(" "));
        let toks = tokens(23, cfg.vocab_size);
        let whole = run(&m, &toks, &iv);
        let e = rel_err(&run_steps(&m, &toks, &iv), &whole);
        assert!(e < 1e-5, "{name} with {iv}: steps vs prefill {e}");
        assert!(rel_err(&whole, &run(&m, &toks, &Interventions::none())) > 1e-4);
    }
}

#[test]
fn a_frozen_state_holds_its_value_from_the_token_on() {
    let m = zoo("recall-mamba2");
    let toks = tokens(30, m.config().vocab_size);
    // (and a reset in block 3, after block 2, for the implicit attention below)
    let iv = set("L2.ssm_freeze[0,3]@17 L3.ssm_reset[1]@10");
    let opts = ForwardOptions {
        all_logits: false,
        probes: true,
        scan: Scan::Recurrent,
    };
    let mut st = m.new_state();
    let out = m.forward_with(&mut st, &toks, opts, &iv).expect("forward");
    let norms = out.probes.expect("probes").layers[2]
        .state_norm
        .clone()
        .expect("norms");
    let h = norms.len() / toks.len();
    for t in 17..toks.len() {
        for hh in 0..h {
            let (now, before) = (norms[t * h + hh], norms[16 * h + hh]);
            if [0, 3].contains(&hh) {
                assert_eq!(now, before, "head {hh} at {t}: frozen");
            } else if t == 17 {
                assert_ne!(now, before, "head {hh} moves on");
            }
        }
    }
    // the frozen heads end where the model stood after token 16
    let mut st17 = m.new_state();
    m.forward_with(&mut st17, &toks[..17], opts, &Interventions::none())
        .expect("fwd");
    let ssm = |s: &hybrid_core::State| match &s.layers[2] {
        LayerState::Mamba(s) => s.ssm.clone(),
        _ => panic!("block 2 is mamba"),
    };
    let per_head = ssm(&st).len() / h;
    let (a, b) = (ssm(&st), ssm(&st17));
    for hh in [0, 3] {
        let r = hh * per_head..(hh + 1) * per_head;
        assert_eq!(bits(&a[r.clone()]), bits(&b[r]), "head {hh}");
    }
    // a chunked prefill agrees with the steps
    let e = rel_err(&run(&m, &toks, &iv), &run_steps(&m, &toks, &iv));
    assert!(e < 1e-5, "prefill vs steps with a freeze: {e}");
}
