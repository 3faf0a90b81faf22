//! The CPU engine on several threads computes the same numbers as on one: every task
//! (a band of a GEMM, an attention head and block of queries, an SSD head) does the same
//! arithmetic on whichever thread runs it. One test function: the thread count is global.

mod common;

use common::family_configs;
use hybrid_core::cpu::mamba::Scan;
use hybrid_core::cpu::ops::{gemm, Mat};
use hybrid_core::cpu::par;
use hybrid_core::weights::Weights;
use hybrid_core::{ForwardOptions, Model};

/// All logits of a 300-token prefill (3 blocks of queries, 5 SSD chunks) and of one decode
/// step after it, then every probe of the same prefill (probes run the scan as the
/// recurrence, so the logits come from a run without them), as one flat list.
fn run(model: &Model, vocab: usize) -> Vec<f32> {
    let toks: Vec<u32> = (0..300).map(|i| ((i * 31 + 7) % vocab) as u32).collect();
    let opts = |probes| ForwardOptions {
        all_logits: true,
        probes,
        scan: Scan::Chunked(64),
    };
    let mut st = model.new_state();
    let mut out = model
        .forward(&mut st, &toks, opts(false))
        .expect("forward")
        .logits;
    out.extend(model.step(&mut st, 5).expect("step"));
    let mut st = model.new_state();
    let f = model.forward(&mut st, &toks, opts(true)).expect("forward");
    for l in f.probes.expect("probes asked for").layers {
        out.extend(l.attn_probs.unwrap_or_default());
        out.extend(l.implicit_attn.unwrap_or_default());
    }
    out
}

/// `gemm` of A [m, k] by W^T (W [n, k]) for the shapes that take each split: rows, columns
/// (few rows, a decode step's LM head), and one thread (small).
fn gemms() -> Vec<f32> {
    let mut out = Vec::new();
    for (m, k, n) in [
        (1, 256, 4096),
        (8, 256, 1000),
        (300, 96, 130),
        (600, 256, 768),
    ] {
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 7.0)
            .collect();
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 53 % 13) as f32 - 6.0) / 5.0)
            .collect();
        let mut c = vec![f32::NAN; m * n];
        gemm(m, k, n, Mat::rows(&a, k), Mat::cols(&w, k), &mut c, n);
        out.extend(c);
    }
    out
}

#[test]
fn two_threads_equal_one_for_every_family_and_gemm_split() {
    // the pool is really used with 2 threads, and not with 1
    par::set_threads(2);
    let on = par::map((0..8).collect(), |_| par::on_pool());
    assert!(
        on.iter().all(|&p| p),
        "2 threads: tasks must run on the pool"
    );
    par::set_threads(1);
    let on = par::map((0..8).collect(), |_| par::on_pool());
    assert!(on.iter().all(|&p| !p), "1 thread: tasks run on the caller");

    let mut one = gemms();
    let mut models = Vec::new();
    for (name, cfg) in family_configs() {
        let w = Weights::random(&cfg, 11).expect("random weights");
        let model = Model::new(cfg.clone(), w);
        one.extend(run(&model, cfg.vocab_size));
        models.push((name, model, cfg.vocab_size));
    }
    par::set_threads(2);
    let mut two = gemms();
    for (_, model, vocab) in &models {
        two.extend(run(model, *vocab));
    }
    assert_eq!(one.len(), two.len());
    assert!(one.iter().all(|v| v.is_finite()), "finite outputs");
    // bit for bit: the same kernels over the same K order, only on other threads
    let differ = one
        .iter()
        .zip(&two)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    assert_eq!(differ, 0, "{differ} of {} values differ", one.len());
}
