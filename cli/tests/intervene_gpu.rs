//! `--intervene` with `-b gpu` (issue #11): `recall`, `loss` and greedy `generate` on the
//! GPU engine print what the CPU engine prints, with and without interventions (losses
//! within 1e-3). Without a GPU adapter the test fails, unless HYBRID_SKIP_GPU=1.
//!
//! The GPU engine runs its f32-arithmetic kernels here (`HYBRID_GPU_FEATURES=subgroups`):
//! where the device has `shader-f16` or tensor cores, prefills of 16-bit weights round
//! activations to f16 (gpu/tests/matmul_f16.rs and coop.rs bound that and check greedy
//! tokens at clear positions), and one of recall-intra's 128 answers sits at a near-tie
//! (96.9% on the f32 path and the CPU engine, 97.7% with f16 arithmetic on lavapipe).
//! Printing the same text is a claim about the same arithmetic.

mod common;

use common::{hybrid, run_with_env};

fn model_dir(id: &str) -> String {
    let p = common::model_dir(id);
    p.to_str().expect("utf-8 path").to_string()
}

/// `hybrid args -b gpu`: its stdout, or `None` without a GPU adapter when
/// HYBRID_SKIP_GPU=1 (else a failure).
fn on_gpu(args: &[&str]) -> Option<String> {
    let args = [args, &["-b", "gpu"]].concat();
    let (code, stdout, stderr) = run_with_env(&args, &[("HYBRID_GPU_FEATURES", "subgroups")]);
    if code != 0 && std::env::var("HYBRID_SKIP_GPU").as_deref() == Ok("1") {
        eprintln!("HYBRID_SKIP_GPU=1: skipping ({stderr})");
        return None;
    }
    assert_eq!(code, 0, "hybrid {args:?} -b gpu: {stderr}");
    Some(stdout)
}

/// The per-token losses `hybrid loss` prints.
fn losses(out: &str) -> Vec<f32> {
    (out.lines().skip(1))
        .filter_map(|l| l.split('\t').nth(1)?.parse().ok())
        .collect()
}

#[test]
fn the_gpu_engine_prints_what_the_cpu_engine_prints() {
    let recall = model_dir("recall-intra");
    for iv in [&[][..], &["--intervene", "L1.attn=0;L1.hide=5..9"]] {
        let base = [&["recall", &recall, "--cases", "8"][..], iv].concat();
        let Some(gpu) = on_gpu(&base) else { return };
        assert_eq!(gpu, hybrid(&base), "recall {iv:?}");
    }
    let inter = model_dir("shakespeare-inter");
    let text = std::env::temp_dir().join(format!("hybrid-gpu-loss-{}.txt", std::process::id()));
    std::fs::write(&text, "ALONSO, King of Naples\nSEBASTIAN, his brother\n").expect("text");
    let text = text.to_str().expect("utf-8").to_string();
    let iv = "L1.window=8;L2.ssm_reset@12;L0.dt*0.5;L4.ffn=skip";
    let cpu = losses(&hybrid(&["loss", &inter, &text, "--intervene", iv]));
    let Some(gpu) = on_gpu(&["loss", &inter, &text, "--intervene", iv]) else {
        return;
    };
    let gpu = losses(&gpu);
    assert!(
        cpu.len() > 12 && gpu.len() == cpu.len(),
        "{cpu:?} vs {gpu:?}"
    );
    for (t, (g, c)) in gpu.iter().zip(&cpu).enumerate() {
        assert!((g - c).abs() < 1e-3, "loss at {t}: GPU {g} vs CPU {c}");
    }
    std::fs::remove_file(&text).ok();
    let intra = model_dir("shakespeare-intra");
    let greedy = ["generate", &intra, "-p", "KING", "-n", "12", "-t", "0"];
    let greedy = [&greedy[..], &["--intervene", "L1.attn*0.5;L4.ssm_reset@3"]].concat();
    assert_eq!(on_gpu(&greedy), Some(hybrid(&greedy)));
}
