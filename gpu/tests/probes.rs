//! Probes on the GPU against the CPU engine's (`ForwardOptions { probes: true, .. }`): every
//! fixture's prompt, every block, every probe within 1e-4 relative, and `None` on both
//! sides where a block has no such probe; probes leave the normal plans and logits alone.

mod common;

use common::{family_configs, fixture, fixture_names, gpu, rel_err};
use hybrid_core::weights::Weights;
use hybrid_core::{ForwardOptions, LayerKind, Model, Probes};
use hybrid_gpu::{GpuError, GpuModel, SessionOptions};

/// Each probe against the CPU engine's: max |a - b| / max |b|.
const PROBE_TOL: f32 = 1e-4;
/// The probed call's logits against the CPU engine's (as in tests/models.rs).
const LOGIT_TOL: f32 = 1e-3;

fn opts(chunk: usize) -> SessionOptions {
    SessionOptions {
        max_context: 256,
        chunk,
    }
}

fn cpu_probes(model: &Model, tokens: &[u32]) -> (Vec<f32>, Probes) {
    let mut st = model.new_state();
    let out = model
        .forward(
            &mut st,
            tokens,
            ForwardOptions {
                probes: true,
                ..Default::default()
            },
        )
        .expect("cpu forward");
    (out.logits, out.probes.expect("cpu probes"))
}

const FIELDS: [&str; 5] = [
    "attn_probs",
    "implicit_attn",
    "dt",
    "state_norm",
    "branch_norms",
];

/// GPU probes against CPU probes; returns the worst rel err of each field.
fn compare(name: &str, kinds: &[LayerKind], got: &Probes, want: &Probes) -> [f32; 5] {
    assert_eq!(got.tokens, want.tokens, "{name}: tokens");
    assert_eq!(got.layers.len(), want.layers.len(), "{name}: layers");
    let mut worst = [0f32; 5];
    for (i, (g, w)) in got.layers.iter().zip(&want.layers).enumerate() {
        assert_eq!(g.attn_heads, w.attn_heads, "{name}: layer {i} attn_heads");
        assert_eq!(g.ssm_heads, w.ssm_heads, "{name}: layer {i} ssm_heads");
        let pairs = [
            (&g.attn_probs, &w.attn_probs),
            (&g.implicit_attn, &w.implicit_attn),
            (&g.dt, &w.dt),
            (&g.state_norm, &w.state_norm),
            (&g.branch_norms, &w.branch_norms),
        ];
        for (f, (a, b)) in pairs.into_iter().enumerate() {
            let field = FIELDS[f];
            match (a, b) {
                (Some(a), Some(b)) => {
                    assert_eq!(a.len(), b.len(), "{name}: layer {i} {field} length");
                    let e = rel_err(a, b);
                    assert!(
                        e < PROBE_TOL,
                        "{name}: layer {i} ({:?}) {field} rel err {e:.2e}",
                        kinds[i]
                    );
                    worst[f] = worst[f].max(e);
                }
                (None, None) => {}
                (a, b) => panic!(
                    "{name}: layer {i} ({:?}) {field}: GPU {} / CPU {}",
                    kinds[i],
                    a.is_some(),
                    b.is_some()
                ),
            }
        }
    }
    worst
}

/// One model's probes on the GPU against the CPU's; the worst rel err per field.
fn check(
    g: &std::sync::Arc<hybrid_gpu::Gpu>,
    name: &str,
    model: &Model,
    tokens: &[u32],
) -> [f32; 5] {
    let (cpu_logits, want) = cpu_probes(model, tokens);
    let gm = GpuModel::new(g.clone(), model).expect("upload");
    let mut s = gm.session(opts(64)).expect("session");
    let (logits, got) = s.prefill_probed_blocking(tokens).expect("prefill_probed");
    assert_eq!(
        s.pos(),
        tokens.len(),
        "{name}: position after the probed call"
    );
    let e = rel_err(&logits, &cpu_logits);
    assert!(e < LOGIT_TOL, "{name}: probed logits rel err {e:e}");
    compare(name, &model.config().layers, &got, &want)
}

#[test]
fn fixture_probes_match_the_cpu_engine() {
    let Some(g) = gpu() else { return };
    let names = fixture_names();
    assert!(names.len() >= 7, "fixtures missing: {names:?}");
    let mut report = Vec::new();
    let mut overall = [0f32; 5];
    for name in names {
        let (model, tokens) = fixture(&name);
        let worst = check(&g, &name, &model, &tokens);
        for (o, w) in overall.iter_mut().zip(worst) {
            *o = o.max(w);
        }
        let fields: Vec<String> = FIELDS
            .iter()
            .zip(worst)
            .map(|(f, w)| format!("{f} {w:.1e}"))
            .collect();
        report.push(format!(
            "{name:>20}: T={:>3} {}",
            tokens.len(),
            fields.join(", ")
        ));
    }
    let fields: Vec<String> = FIELDS
        .iter()
        .zip(overall)
        .map(|(f, w)| format!("{f} {w:.1e}"))
        .collect();
    eprintln!(
        "GPU vs CPU probes (max rel err) on {}:\n{}\n{:>20}: {}",
        g.adapter_string(),
        report.join("\n"),
        "all",
        fields.join(", ")
    );
}

/// Random weights of every family, a prompt longer than one SSD chunk (32) and than the
/// attention probe's 64-thread rows, and a single-token prompt (the decode-form plan).
#[test]
fn random_family_probes_match_the_cpu_engine() {
    let Some(g) = gpu() else { return };
    let mut overall = [0f32; 5];
    for (name, cfg) in family_configs() {
        let model = Model::new(cfg.clone(), Weights::random(&cfg, 5).expect("weights"));
        for len in [1, 3, 70] {
            let tokens: Vec<u32> = (0..len)
                .map(|i| ((i * 37 + 11) % cfg.vocab_size) as u32)
                .collect();
            let gm = GpuModel::new(g.clone(), &model).expect("upload");
            let mut s = gm.session(opts(80)).expect("session");
            let (_, got) = s.prefill_probed_blocking(&tokens).expect("prefill_probed");
            let (_, want) = cpu_probes(&model, &tokens);
            let worst = compare(&format!("{name} T={len}"), &cfg.layers, &got, &want);
            for (o, w) in overall.iter_mut().zip(worst) {
                *o = o.max(w);
            }
        }
    }
    let fields: Vec<String> = FIELDS
        .iter()
        .zip(overall)
        .map(|(f, w)| format!("{f} {w:.1e}"))
        .collect();
    eprintln!(
        "random families, T = 1, 3, 70 (max rel err): {}",
        fields.join(", ")
    );
}

/// Probes off: the normal plans have no probe dispatch and are the same before and after
/// a probed call, and give the same logits; the probed call's own logits are the normal
/// prefill's, and the session continues from it as from a prefill.
#[test]
fn probes_leave_plans_and_logits_unchanged() {
    let Some(g) = gpu() else { return };
    for name in fixture_names() {
        let (model, tokens) = fixture(&name);
        let t = tokens.len();
        let gm = GpuModel::new(g.clone(), &model).expect("upload");
        // a session that never probes
        let mut plain = gm.session(opts(64)).expect("session");
        let prefill_plan = plain.prefill_dispatches(t).expect("plan");
        let decode_plan = plain.decode_dispatches().expect("plan");
        assert_eq!(
            plain.memory().probes,
            0,
            "{name}: probe memory before probing"
        );
        assert!(
            prefill_plan
                .iter()
                .chain(&decode_plan)
                .all(|l| !l.contains("probe")),
            "{name}: a normal plan has probe dispatches"
        );
        let want = plain.prefill_blocking(&tokens).expect("prefill");
        let want_next = plain.step_blocking(tokens[0]).expect("step");
        // a session that probes first
        let mut s = gm.session(opts(64)).expect("session");
        let (probed, _) = s.prefill_probed_blocking(&tokens).expect("probed");
        assert_eq!(
            probed, want,
            "{name}: probed logits differ from a prefill's"
        );
        let next = s.step_blocking(tokens[0]).expect("step after probes");
        assert_eq!(
            next, want_next,
            "{name}: a step after the probed call differs"
        );
        assert!(s.memory().probes > 0, "{name}: probe buffers not counted");
        let probe_plan = s.probe_dispatches(t).expect("probe plan");
        let extra = probe_plan.len() - prefill_plan.len();
        assert!(extra > 0, "{name}: no probe dispatches");
        assert_eq!(
            probe_plan
                .iter()
                .filter(|l| !l.contains(" probe "))
                .collect::<Vec<_>>(),
            prefill_plan.iter().collect::<Vec<_>>(),
            "{name}: the probe plan is not the prefill plan plus probes"
        );
        s.reset().expect("reset");
        assert_eq!(
            s.prefill_dispatches(t).expect("plan"),
            prefill_plan,
            "{name}"
        );
        assert_eq!(s.decode_dispatches().expect("plan"), decode_plan, "{name}");
        let again = s.prefill_blocking(&tokens).expect("prefill after probes");
        assert_eq!(
            again, want,
            "{name}: prefill logits after a probed call differ"
        );
    }
}

#[test]
fn probes_need_position_0_and_one_chunk() {
    let Some(g) = gpu() else { return };
    let (model, tokens) = fixture("intra_add");
    let gm = GpuModel::new(g.clone(), &model).expect("upload");
    let mut s = gm.session(opts(8)).expect("session");
    assert!(matches!(
        s.prefill_probed_blocking(&tokens[..9]),
        Err(GpuError::Model(_))
    ));
    s.prefill_blocking(&tokens[..2]).expect("prefill");
    assert!(matches!(
        s.prefill_probed_blocking(&tokens[..2]),
        Err(GpuError::Model(_))
    ));
    s.reset().expect("reset");
    let (_, p) = s
        .prefill_probed_blocking(&tokens[..8])
        .expect("a full chunk");
    assert_eq!(p.tokens, 8);
}
