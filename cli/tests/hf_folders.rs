//! `hybrid generate | inspect | bench` on a Hugging Face model folder (the fixtures of
//! core/tests/fixtures/hf/, written by `transformers`): greedy generation prints the
//! continuation `transformers` computed, inspect checks the weights, bench runs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(family: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/fixtures/hf")
        .join(family)
}

/// Run `hybrid` with `args`; its stdout, or a panic with stderr.
fn hybrid(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hybrid"))
        .args(args)
        .output()
        .expect("run hybrid");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert!(out.status.success(), "hybrid {args:?} failed:\n{stderr}");
    stdout
}

/// The words of the recall tokenizer for `ids` of a fixture's `golden.json` key.
fn words(dir: &Path, key: &str) -> Vec<String> {
    let golden: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("golden.json")).expect("golden"))
            .expect("json");
    let tok: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("tokenizer.json")).expect("tokenizer"))
            .expect("json");
    let vocab = tok["model"]["vocab"].as_object().expect("vocab");
    golden[key]
        .as_array()
        .expect("ids")
        .iter()
        .map(|id| {
            let (w, _) = vocab
                .iter()
                .find(|(_, v)| *v == id)
                .expect("id in the vocabulary");
            w.clone()
        })
        .collect()
}

#[test]
fn generate_prints_the_greedy_continuation_of_transformers() {
    for family in [
        "llama",
        "mamba2",
        "bamba",
        "granitemoehybrid",
        "falcon_h1",
        "nemotron_h",
    ] {
        let dir = fixture(family);
        let prompt = words(&dir, "prompt_ids");
        let greedy = words(&dir, "greedy_ids");
        let n = greedy.len().to_string();
        let d = dir.to_str().expect("utf-8 path");
        let out = hybrid(&["generate", d, "-p", &prompt.join(" "), "-n", &n, "-t", "0"]);
        // the recall tokenizer's stream joins words without spaces: compare the letters
        let got: String = out.split_whitespace().collect();
        let want: String = prompt.iter().chain(&greedy).map(String::as_str).collect();
        assert!(
            got.starts_with(&want),
            "{family}: printed {got:?}, expected {want:?}"
        );
    }
}

#[test]
fn inspect_and_bench_accept_a_hugging_face_folder() {
    let dir = fixture("mamba2");
    let d = dir.to_str().expect("utf-8 path");
    let out = hybrid(&["inspect", d, "-c", "64"]);
    assert!(out.contains("every tensor present"), "{out}");
    assert!(out.contains("Mamba-2") && !out.contains("SwiGLU"), "{out}");
    let out = hybrid(&["bench", d, "-c", "16", "-d", "2", "--prefill-runs", "1"]);
    assert!(out.contains("16"), "{out}");
    let out = hybrid(&[
        "inspect",
        fixture("nemotron_h").to_str().expect("utf-8"),
        "-c",
        "64",
    ]);
    // blocks 1 and 2 are followed by an MLP layer, block 0 is not
    assert_eq!(out.matches("+ relu2 MLP").count(), 2, "{out}");
    // the config alone: random weights of that shape
    let cfg = dir.join("config.json");
    let out = hybrid(&["inspect", cfg.to_str().expect("utf-8 path"), "-c", "64"]);
    assert!(out.contains("Mamba2ForCausalLM"), "{out}");
}
