//! The engine agrees with itself: a prefill equals T single decode steps, and the chunked
//! SSD scan equals the recurrence, for every family (random weights, no fixture needed).

mod common;

use common::{family_configs, rel_err};
use hybrid_core::cpu::mamba::Scan;
use hybrid_core::weights::Weights;
use hybrid_core::{ForwardOptions, Model};

fn tokens(n: usize, vocab: usize) -> Vec<u32> {
    (0..n).map(|i| ((i * 31 + 7) % vocab) as u32).collect()
}

fn all_logits(model: &Model, toks: &[u32], scan: Scan) -> Vec<f32> {
    let mut st = model.new_state();
    let opts = ForwardOptions {
        all_logits: true,
        probes: false,
        scan,
    };
    model.forward(&mut st, toks, opts).expect("forward").logits
}

#[test]
fn prefill_equals_single_steps_for_every_family() {
    for (name, cfg) in family_configs() {
        let model = Model::new(
            cfg.clone(),
            Weights::random(&cfg, 3).expect("random weights"),
        );
        let toks = tokens(23, cfg.vocab_size);
        let whole = all_logits(&model, &toks, Scan::Chunked(8));
        let mut st = model.new_state();
        let mut stepped = Vec::new();
        for &t in &toks {
            stepped.extend(model.step(&mut st, t).expect("step"));
        }
        let e = rel_err(&stepped, &whole);
        assert!(e < 1e-5, "{name}: steps vs prefill rel err {e}");
        // and a split prefill: 10 tokens then 13
        let mut st = model.new_state();
        model.prefill(&mut st, &toks[..10]).expect("prefill");
        let out = model
            .forward(
                &mut st,
                &toks[10..],
                ForwardOptions {
                    all_logits: true,
                    ..Default::default()
                },
            )
            .expect("forward");
        let e = rel_err(&out.logits, &whole[10 * cfg.vocab_size..]);
        assert!(e < 1e-5, "{name}: split prefill rel err {e}");
        assert_eq!(st.pos, toks.len());
    }
}

#[test]
fn chunked_ssd_equals_recurrence() {
    for (name, cfg) in family_configs()
        .into_iter()
        .filter(|(n, _)| *n != "transformer" && *n != "swa")
    {
        let model = Model::new(
            cfg.clone(),
            Weights::random(&cfg, 5).expect("random weights"),
        );
        let toks = tokens(37, cfg.vocab_size);
        let reference = all_logits(&model, &toks, Scan::Recurrent);
        // chunk sizes that divide T = 37 (1, 37) and that don't (4, 16, 64)
        for chunk in [1, 4, 16, 37, 64] {
            let e = rel_err(&all_logits(&model, &toks, Scan::Chunked(chunk)), &reference);
            assert!(e < 1e-5, "{name}: chunk {chunk} rel err {e}");
        }
    }
}

#[test]
fn sliding_window_cache_holds_exactly_window_plus_sinks() {
    let (_, cfg) = family_configs()
        .into_iter()
        .find(|(n, _)| *n == "swa")
        .expect("swa");
    let model = Model::new(cfg.clone(), Weights::random(&cfg, 1).expect("weights"));
    let mut st = model.new_state();
    model
        .prefill(&mut st, &tokens(40, cfg.vocab_size))
        .expect("prefill");
    // 2 sinks + the last 4 (window 5 minus the next token), K and V of 2 heads x 8,
    // two layers, f32
    assert_eq!(st.bytes().kv_cache, 2 * 6 * 2 * 16 * 4);
    assert_eq!(st.bytes().kv_cache, cfg.kv_cache_bytes(40));
    // every family's cache matches the analytic size too (full attention, per-layer
    // windows, value heads apart from key heads)
    for (name, cfg) in family_configs() {
        let model = Model::new(cfg.clone(), Weights::random(&cfg, 1).expect("weights"));
        let mut st = model.new_state();
        model
            .prefill(&mut st, &tokens(40, cfg.vocab_size))
            .expect("prefill");
        let b = st.bytes();
        assert_eq!(b.kv_cache, cfg.kv_cache_bytes(40), "{name}");
        assert_eq!(b.ssm_state, cfg.ssm_state_bytes(), "{name}");
        assert_eq!(b.conv_state, cfg.conv_state_bytes(), "{name}");
    }
    // swa_global: windows of 4 and 6 with 1 sink keep 4 and 6 rows, the global layer 40;
    // K of 2 heads x 8 and V of 2 x 8 (attention) or 1 x 8 + 1 x 8 (the intra branch)
    let (_, cfg) = family_configs()
        .into_iter()
        .find(|(n, _)| *n == "swa_global")
        .expect("swa_global");
    assert_eq!(cfg.kv_cache_bytes(40), (4 * 32 + 40 * 32 + 6 * 16) * 4);
}

#[test]
fn probes_have_their_documented_shapes_and_meaning() {
    let (_, cfg) = family_configs()
        .into_iter()
        .find(|(n, _)| *n == "intra_add")
        .expect("intra");
    let model = Model::new(cfg.clone(), Weights::random(&cfg, 2).expect("weights"));
    let t = 9;
    let mut st = model.new_state();
    let opts = ForwardOptions {
        probes: true,
        ..Default::default()
    };
    let out = model
        .forward(&mut st, &tokens(t, cfg.vocab_size), opts)
        .expect("forward");
    let probes = out.probes.expect("probes");
    assert_eq!(probes.layers.len(), 4);
    let intra = &probes.layers[1];
    let attn = intra.attn_probs.as_ref().expect("attention map");
    assert_eq!(attn.len(), 2 * t * t);
    for row in attn.chunks_exact(t).enumerate() {
        let (r, vals) = row;
        let q = r % t;
        assert!(
            (vals.iter().sum::<f32>() - 1.0).abs() < 1e-5,
            "rows sum to one"
        );
        assert!(vals[q + 1..].iter().all(|&v| v == 0.0), "causal");
    }
    let imp = intra.implicit_attn.as_ref().expect("implicit attention");
    assert_eq!(imp.len(), 2 * t * t);
    assert!(intra.dt.as_ref().expect("dt").iter().all(|&v| v > 0.0));
    assert_eq!(intra.state_norm.as_ref().expect("state norm").len(), t * 2);
    let bn = intra.branch_norms.as_ref().expect("branch norms");
    assert_eq!(bn.len(), t * 2);
    assert!(bn.iter().all(|&v| v > 0.0));
    assert!(probes.layers[0].attn_probs.is_none() && probes.layers[0].implicit_attn.is_some());
    // probes do not change the result
    let mut st2 = model.new_state();
    let plain = model
        .prefill(&mut st2, &tokens(t, cfg.vocab_size))
        .expect("prefill");
    assert!(rel_err(&out.logits, &plain) < 1e-5);
}
