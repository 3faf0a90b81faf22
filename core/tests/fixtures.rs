//! The CPU engine against the PyTorch twin (`train/hybrid_twin.py`) on the committed
//! fixtures: logits at every prompt position within 1e-4 relative, the 32-token greedy
//! continuation exactly, and the probes within 1e-4 relative.

mod common;

use common::{fixture_names, fixtures_dir, rel_err};
use hybrid_core::sample::argmax;
use hybrid_core::{ForwardOptions, Model};
use safetensors::{Dtype, SafeTensors};

/// Logits tolerance (relative to the largest |logit|), f32 against f32.
const LOGIT_TOL: f32 = 1e-4;
/// Probe tolerance (relative to the largest |value| of the probe).
const PROBE_TOL: f32 = 1e-4;

fn load(name: &str) -> (Model, Vec<u8>) {
    let dir = fixtures_dir().join(name);
    let cfg = std::fs::read(dir.join("config.json")).expect("config.json");
    let weights = std::fs::read(dir.join("model.safetensors")).expect("model.safetensors");
    let golden = std::fs::read(dir.join("golden.safetensors")).expect("golden.safetensors");
    (
        Model::from_bytes(&cfg, &weights).expect("fixture loads"),
        golden,
    )
}

fn f32s(st: &SafeTensors, name: &str) -> Option<Vec<f32>> {
    let v = st.tensor(name).ok()?;
    assert_eq!(v.dtype(), Dtype::F32, "{name}");
    Some(
        v.data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

fn ids(st: &SafeTensors, name: &str) -> Vec<u32> {
    let v = st.tensor(name).expect(name);
    v.data()
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u32)
        .collect()
}

#[test]
fn fixtures_are_present() {
    let names = fixture_names();
    for want in [
        "transformer",
        "mamba2",
        "inter_1to3",
        "intra_add",
        "intra_subtract",
        "intra_concat",
        "swa",
        "intra_vfull",
        "swa_global",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "fixture {want} missing: {names:?}"
        );
    }
}

#[test]
fn logits_and_probes_match_the_pytorch_twin() {
    let mut report = Vec::new();
    for name in fixture_names() {
        let (model, golden) = load(&name);
        let g = SafeTensors::deserialize(&golden).expect("golden");
        let tokens = ids(&g, "tokens");
        let mut st = model.new_state();
        let opts = ForwardOptions {
            all_logits: true,
            probes: true,
            ..Default::default()
        };
        let out = model.forward(&mut st, &tokens, opts).expect("forward");
        let want = f32s(&g, "logits").expect("logits");
        let e = rel_err(&out.logits, &want);
        assert!(e < LOGIT_TOL, "{name}: logits rel err {e:.2e}");
        let mut worst_probe = 0f32;
        let probes = out.probes.expect("probes");
        for (i, lp) in probes.layers.iter().enumerate() {
            let pairs = [
                ("attn_probs", &lp.attn_probs),
                ("implicit_attn", &lp.implicit_attn),
                ("dt", &lp.dt),
                ("state_norm", &lp.state_norm),
                ("branch_norms", &lp.branch_norms),
            ];
            for (probe, ours) in pairs {
                let theirs = f32s(&g, &format!("probe.{i}.{probe}"));
                match (ours, theirs) {
                    (Some(a), Some(b)) => {
                        let e = rel_err(a, &b);
                        worst_probe = worst_probe.max(e);
                        assert!(e < PROBE_TOL, "{name}: probe.{i}.{probe} rel err {e:.2e}");
                    }
                    (None, None) => {}
                    (a, b) => panic!(
                        "{name}: probe.{i}.{probe}: engine {} / twin {}",
                        a.is_some(),
                        b.is_some()
                    ),
                }
            }
        }
        report.push(format!(
            "{name:>20}: logits {e:.2e}, probes {worst_probe:.2e}"
        ));
    }
    println!(
        "max relative error against the PyTorch twin:\n{}",
        report.join("\n")
    );
}

#[test]
fn greedy_continuations_match_exactly() {
    for name in fixture_names() {
        let (model, golden) = load(&name);
        let g = SafeTensors::deserialize(&golden).expect("golden");
        let tokens = ids(&g, "tokens");
        let want = ids(&g, "greedy");
        let mut st = model.new_state();
        let mut logits = model.prefill(&mut st, &tokens).expect("prefill");
        let mut got = Vec::new();
        for _ in 0..want.len() {
            let t = argmax(&logits);
            got.push(t);
            logits = model.step(&mut st, t).expect("step");
        }
        assert_eq!(got, want, "{name}: greedy continuation");
    }
}

#[test]
fn param_count_equals_the_tensors_in_each_checkpoint() {
    for name in fixture_names() {
        let dir = fixtures_dir().join(&name);
        let bytes = std::fs::read(dir.join("model.safetensors")).expect("weights");
        let st = SafeTensors::deserialize(&bytes).expect("safetensors");
        let numel: usize = st
            .tensors()
            .iter()
            .map(|(_, v)| v.shape().iter().product::<usize>())
            .sum();
        let (model, _) = load(&name);
        assert_eq!(model.config().param_count(), numel, "{name}");
    }
}
