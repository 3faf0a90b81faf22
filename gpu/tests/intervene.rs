//! Interventions on the GPU engine (issue #11): for every kind, on a small random model of
//! each layer kind (inter: Mamba and attention blocks, one with its own window and sinks;
//! intra), `Session::set_interventions` gives the CPU engine's `forward_with` logits within
//! 1e-3, over a prefill in chunks of 16 (resets inside a chunk) and decode steps after it,
//! and the probes of a probed prefill agree too. The empty set is the plain session,
//! byte for byte, also after another set was applied.

mod common;

use common::{gpu, rel_err};
use hybrid_core::weights::Weights;
use hybrid_core::{ForwardOptions, Interventions, Model, ModelConfig, Probes};
use hybrid_gpu::{GpuModel, Session, SessionOptions};

const TOL: f32 = 1e-3;
/// Prompt tokens (prefilled in chunks of `CHUNK`), then `STEPS` decode steps.
const PROMPT: usize = 40;
const STEPS: usize = 5;
const CHUNK: usize = 16;

/// Mamba | attention | Mamba | attention (its own window 6 with 2 sinks).
const INTER: &str = r#"{"name":"inter","vocab_size":61,"d_model":32,"d_ffn":48,
    "layers":["mamba","attention","mamba","attention"],"windows":[null,null,null,6],
    "attention":{"n_heads":4,"n_kv_heads":2,"head_dim":8,"sink_tokens":2},
    "mamba":{"d_state":8,"head_dim":8,"n_groups":2}}"#;
/// intra | Mamba | intra, branch norms on, subtract fusion.
const INTRA: &str = r#"{"name":"intra","vocab_size":61,"d_model":32,"d_ffn":48,
    "layers":["intra","mamba","intra"],
    "attention":{"n_heads":4,"n_kv_heads":2,"head_dim":8},
    "mamba":{"d_state":8,"head_dim":8,"n_groups":2},
    "intra":{"attn_heads":2,"attn_kv_heads":1,"ssm_heads":2,"fusion":"subtract",
             "branch_norm":true,"out_proj":"separate"}}"#;

/// Heads past the tiled kernels: attention of dh = 72 (the one-row path), Mamba of P = 96
/// (prefill as the token-by-token scan).
const WIDE: &str = r#"{"name":"wide","vocab_size":61,"d_model":32,"d_ffn":48,
    "layers":["attention","mamba"],
    "attention":{"n_heads":2,"n_kv_heads":1,"head_dim":72},
    "mamba":{"d_state":8,"head_dim":96,"n_groups":1,"expand":6}}"#;

/// One set per kind (and a few together), in the short syntax.
const INTER_SETS: &[&str] = &[
    "L1.mixer=skip",
    "L0.mixer=skip",
    "L2.ffn=skip",
    "L1.window=5",
    "L3.window=3",
    // wider than the layer's own 6: the session rebuilds its ring at position 0
    "L3.window=12",
    "L1.hide=3..9",
    "L3.hide=0..20",
    "L0.ssm_reset@13",
    "L2.ssm_reset[1,4]@20",
    "L0.ssm_freeze[0]@11",
    "L2.ssm_freeze@30",
    "L2.dt[0]*0.5",
    "L0.dt<=0.05",
    "L2.dt*3;L2.dt[2]<=0.2;L2.dt*0.5",
    "L1.window=7;L1.hide=2..4;L0.ssm_reset[2]@17;L0.ssm_freeze[3]@25;L2.dt*0.3;L3.ffn=skip",
];
const INTRA_SETS: &[&str] = &[
    "L0.attn=0",
    "L2.ssm*0.5",
    "L0.attn_norm=off",
    "L2.branch_norm=off",
    "L0.mixer=skip",
    "L1.ffn=skip",
    "L2.window=4",
    "L0.hide=2..6",
    "L0.ssm_reset[1]@12",
    "L2.ssm_freeze@9",
    "L0.dt*2",
    "L2.dt[0]<=0.01",
    "L0.attn*2;L2.ssm=0;L0.window=8;L2.ssm_reset@20;L1.dt*0.5;L2.hide=5..10",
];

const WIDE_SETS: &[&str] = &[
    "L0.hide=1..30;L1.ssm_freeze[0]@20;L1.dt[1]*0.5",
    "L0.window=4;L1.ssm_reset@10;L1.dt<=0.02",
];

fn model(json: &str, seed: u64) -> Model {
    let cfg = ModelConfig::from_json(json.as_bytes()).expect("config");
    Model::new(cfg.clone(), Weights::random(&cfg, seed).expect("weights"))
}

fn tokens(v: usize) -> Vec<u32> {
    (0..(PROMPT + STEPS) as u32)
        .map(|i| (i * 29 + 5) % v as u32)
        .collect()
}

fn session(gm: &GpuModel) -> Session {
    let opts = SessionOptions {
        max_context: 128,
        chunk: CHUNK,
    };
    gm.session(opts).expect("session")
}

/// The GPU logits of every position: a prefill of the prompt (all rows), then steps.
fn gpu_run(s: &mut Session, toks: &[u32]) -> Vec<f32> {
    let mut out = s.prefill_all_blocking(&toks[..PROMPT]).expect("prefill");
    for &t in &toks[PROMPT..] {
        out.extend(s.step_blocking(t).expect("step"));
    }
    out
}

/// Every set of `sets` on `json`'s model: GPU == CPU within `TOL`, prefill and steps.
fn every_set_matches_the_cpu(name: &str, json: &str, sets: &[&str]) {
    let Some(g) = gpu() else { return };
    let m = model(json, 3);
    let gm = GpuModel::new(g, &m).expect("upload");
    let toks = tokens(m.config().vocab_size);
    let opts = ForwardOptions {
        all_logits: true,
        ..Default::default()
    };
    let plain = m.forward(&mut m.new_state(), &toks, opts).expect("cpu");
    for text in sets {
        let iv = Interventions::parse(text).expect("parse");
        let want = m.forward_with(&mut m.new_state(), &toks, opts, &iv);
        let want = want.expect("cpu forward_with").logits;
        let mut s = session(&gm);
        s.set_interventions(&iv).expect("set_interventions");
        let got = gpu_run(&mut s, &toks);
        let e = rel_err(&got, &want);
        assert!(e < TOL, "{name}: `{text}`: GPU vs CPU rel err {e:e}");
        // the intervention changes the output (so the comparison is not of plain runs)
        let moved = rel_err(&want, &plain.logits);
        assert!(moved > 1e-3, "`{text}` changes nothing ({moved:e})");
        eprintln!("{name} `{text}`: rel err {e:.1e} (effect {moved:.1e})");
    }
}

#[test]
fn every_kind_on_the_inter_model_matches_the_cpu() {
    every_set_matches_the_cpu("inter", INTER, INTER_SETS);
}

#[test]
fn every_kind_on_the_intra_model_matches_the_cpu() {
    every_set_matches_the_cpu("intra", INTRA, INTRA_SETS);
}

#[test]
fn attention_and_scan_of_wide_heads_match_the_cpu() {
    every_set_matches_the_cpu("wide", WIDE, WIDE_SETS);
}

/// The empty set is the plain session byte for byte: set on a fresh session, and set after
/// another set (which it must undo); identity edits (scale 1, dt <= inf) change no byte
/// either.
#[test]
fn the_empty_set_is_the_plain_model_byte_for_byte() {
    let Some(g) = gpu() else { return };
    let bytes = |v: Vec<f32>| -> Vec<u8> { bytemuck::cast_slice(&v).to_vec() };
    let other = "L1.window=5;L0.dt*0.5;L2.ssm_reset@9;L3.window=12";
    let ident = "L0.dt*1;L2.dt<=inf;L1.window=1000;L0.ssm_reset@500";
    let m = model(INTER, 5);
    let gm = GpuModel::new(g.clone(), &m).expect("upload");
    let toks = tokens(m.config().vocab_size);
    let run_with = |s: &mut Session, text: &str| {
        let iv = Interventions::parse(text).expect("parse");
        s.set_interventions(&iv).expect("set_interventions");
        bytes(gpu_run(s, &toks))
    };
    let plain = bytes(gpu_run(&mut session(&gm), &toks));
    assert!(
        run_with(&mut session(&gm), "[]") == plain,
        "empty set, fresh session"
    );
    let mut s = session(&gm);
    assert!(
        run_with(&mut s, other) != plain,
        "`{other}` changed nothing"
    );
    s.reset().expect("reset");
    assert!(run_with(&mut s, "[]") == plain, "empty set after `{other}`");
    assert!(run_with(&mut session(&gm), ident) == plain, "`{ident}`");
    // intra: factors of 1 on both branches
    let m = model(INTRA, 5);
    let gm = GpuModel::new(g, &m).expect("upload");
    let toks = tokens(m.config().vocab_size);
    let plain = bytes(gpu_run(&mut session(&gm), &toks));
    let mut s = session(&gm);
    let iv = Interventions::parse("L0.attn*1;L2.ssm*1").expect("parse");
    s.set_interventions(&iv).expect("identity");
    assert!(
        bytes(gpu_run(&mut s, &toks)) == plain,
        "intra identity factors"
    );
}

/// A probed prefill applies the set: its logits and probes (attention weights, dt, state
/// norms, implicit attention, branch norms) are the CPU engine's within `TOL`.
#[test]
fn probed_prefill_applies_the_set() {
    let Some(g) = gpu() else { return };
    let cases = [
        (
            INTER,
            "L1.hide=2..7;L3.window=3;L0.ssm_freeze[1]@5;L2.dt[0]*0.5;L0.ssm_reset@0",
        ),
        (
            INTRA,
            "L0.attn=0;L2.branch_norm=off;L0.window=4;L2.ssm_freeze@6;L1.ffn=skip",
        ),
    ];
    for (json, text) in cases {
        let m = model(json, 9);
        let gm = GpuModel::new(g.clone(), &m).expect("upload");
        let toks = tokens(m.config().vocab_size);
        let toks = &toks[..CHUNK];
        let iv = Interventions::parse(text).expect("parse");
        let opts = ForwardOptions {
            probes: true,
            ..Default::default()
        };
        let want = m.forward_with(&mut m.new_state(), toks, opts, &iv);
        let want = want.expect("cpu forward_with");
        let mut s = session(&gm);
        s.set_interventions(&iv).expect("set");
        let (logits, probes) = s.prefill_probed_blocking(toks).expect("probed");
        let e = rel_err(&logits, &want.logits);
        assert!(e < TOL, "`{text}`: probed logits rel err {e:e}");
        let Some(cpu) = want.probes.as_ref() else {
            panic!("the CPU engine returned no probes")
        };
        same_probes(&probes, cpu, text);
    }
}

fn same_probes(gpu: &Probes, cpu: &Probes, text: &str) {
    assert_eq!(gpu.layers.len(), cpu.layers.len());
    for (i, (a, b)) in gpu.layers.iter().zip(&cpu.layers).enumerate() {
        let fields = [
            ("attn_probs", &a.attn_probs, &b.attn_probs),
            ("dt", &a.dt, &b.dt),
            ("state_norm", &a.state_norm, &b.state_norm),
            ("implicit_attn", &a.implicit_attn, &b.implicit_attn),
            ("branch_norms", &a.branch_norms, &b.branch_norms),
        ];
        for (name, x, y) in fields {
            assert_eq!(x.is_some(), y.is_some(), "`{text}` layer {i} {name}");
            if let (Some(x), Some(y)) = (x, y) {
                let e = rel_err(x, y);
                assert!(e < TOL, "`{text}` layer {i} {name}: rel err {e:e}");
            }
        }
    }
}

/// Errors: a set that does not fit the model gives the core's message; disjoint hidden
/// ranges in one layer, a reset inside a probed chunk and a wider window past position 0
/// are refused with a message saying what to do instead.
#[test]
fn sets_the_gpu_engine_cannot_apply_are_clear_errors() {
    let Some(g) = gpu() else { return };
    let m = model(INTER, 1);
    let gm = GpuModel::new(g, &m).expect("upload");
    let mut s = session(&gm);
    let bad = Interventions::parse("L9.mixer=skip").expect("parse");
    let core = bad.plan(m.config()).expect_err("core refuses");
    let e = s.set_interventions(&bad).expect_err("gpu refuses");
    assert_eq!(e.to_string(), core.to_string());
    let two = Interventions::parse("L1.hide=1..3;L1.hide=6..8").expect("parse");
    let e = s
        .set_interventions(&two)
        .expect_err("two ranges")
        .to_string();
    assert!(e.contains("one key range per layer"), "{e}");
    let reset = Interventions::parse("L0.ssm_reset@5").expect("parse");
    s.set_interventions(&reset).expect("reset set");
    let e = s
        .prefill_probed_blocking(&[1; 8])
        .expect_err("reset inside");
    assert!(e.to_string().contains("token 5"), "{e}");
    let mut s = session(&gm);
    s.prefill_blocking(&[1, 2, 3]).expect("prefill");
    let wide = Interventions::parse("L3.window=20").expect("parse");
    let e = s.set_interventions(&wide).expect_err("wider ring past 0");
    assert!(e.to_string().contains("position 0"), "{e}");
}
