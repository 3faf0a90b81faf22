//! `hybrid generate | inspect | bench` on a Hugging Face model folder (the fixtures of
//! core/tests/fixtures/hf/, written by `transformers`): greedy generation prints the
//! continuation `transformers` computed, inspect checks the weights, bench runs.

mod common;

use common::{hybrid, run};
use std::path::{Path, PathBuf};

fn fixture(family: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/fixtures/hf")
        .join(family)
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

/// `inspect` prints the GPU memory estimate by weight format; `bench -b gpu` refuses, before
/// loading, a point with a buffer over the device's limits, naming the buffer and limit.
#[test]
fn the_gpu_memory_is_estimated_before_loading() {
    let dir = fixture("granitemoehybrid");
    let d = dir.to_str().expect("utf-8 path");
    let out = hybrid(&["inspect", d, "-c", "64"]);
    assert!(out.contains("estimated before loading"), "{out}");
    assert!(
        out.contains("f16/bf16 matrices") && out.contains("largest buffer"),
        "{out}"
    );
    // a 64M-token chunk: even its token ids (256 MiB) are over the per-binding limit
    // (lavapipe: 128 MiB); elsewhere the residual stream [chunk, D] is
    let (code, _, err) = run(&["bench", d, "-b", "gpu", "-c", "16", "--chunk", "67108864"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(" needs ") && err.contains(" bytes"), "{err}");
    assert!(err.contains("over this device's limit"), "{err}");
    assert!(
        err.contains("16 tokens, chunk 67108864, f32 weights"),
        "{err}"
    );
}

/// A copy of the Llama fixture in a scratch folder, `edit` applied to its files.
fn edited_copy(name: &str, edit: impl Fn(&Path)) -> PathBuf {
    let dst = std::env::temp_dir().join(format!("hybrid-hf-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dst).expect("scratch dir");
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(fixture("llama").join(f), dst.join(f)).expect("copy");
    }
    edit(&dst);
    dst
}

#[test]
fn a_bad_hugging_face_folder_is_a_clear_error() {
    let set = |key: &'static str, value: serde_json::Value| {
        move |d: &Path| {
            let p = d.join("config.json");
            let mut v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
            v[key] = value.clone();
            std::fs::write(&p, v.to_string()).expect("write");
        }
    };
    let index = |d: &Path| {
        std::fs::remove_file(d.join("model.safetensors")).expect("rm");
        let index =
            r#"{"weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors"}}"#;
        std::fs::write(d.join("model.safetensors.index.json"), index).expect("write");
    };
    let cases: [(&str, PathBuf, &str); 4] = [
        (
            "an option the engine lacks",
            edited_copy("bias", set("attention_bias", true.into())),
            "`attention_bias` = true is not supported",
        ),
        (
            "an unknown key",
            edited_copy("unknown", set("rope_flavour", "new".into())),
            "unknown key `rope_flavour`",
        ),
        (
            "an unsupported class",
            edited_copy(
                "class",
                set("architectures", serde_json::json!(["GPT2LMHeadModel"])),
            ),
            "architecture `GPT2LMHeadModel` is not supported",
        ),
        (
            "a shard that is not there",
            edited_copy("shard", index),
            "model-00001-of-00002.safetensors",
        ),
    ];
    for (what, dir, want) in cases {
        let d = dir.to_str().expect("utf-8 path");
        let (code, _, stderr) = run(&["generate", d, "-p", "k16", "-n", "1"]);
        assert_eq!(code, 1, "{what}: exit {code}\n{stderr}");
        assert!(stderr.contains(want), "{what}: {stderr}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
