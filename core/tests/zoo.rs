//! Golden tests of the bundled model zoo (assets/models/*): greedy output of the CPU engine
//! on each model's fixed prompt equals the committed `golden.json` exactly.
//! After retraining, regenerate with `HYBRID_BLESS=1 cargo test -p hybrid-core --test zoo`.

mod common;

use std::path::{Path, PathBuf};

use hybrid_core::sample::argmax;
use hybrid_core::{Model, Tokenizer};

const NEW_TOKENS: usize = 32;

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/models")
}

/// Trained models: folders with a checkpoint and a metrics file (test models have none).
fn zoo() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(models_dir())
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.retain(|d| d.join("model.safetensors").exists() && d.join("metrics.json").exists());
    dirs.sort();
    dirs
}

fn greedy(dir: &Path, prompt: &str) -> (Vec<u32>, String) {
    let read = |f: &str| {
        std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()))
    };
    let model = Model::from_bytes(&read("config.json"), &read("model.safetensors"))
        .expect("zoo model loads");
    let tok = Tokenizer::from_bytes(&read("tokenizer.json")).expect("tokenizer loads");
    let ids = tok.encode(prompt).expect("encode");
    let mut st = model.new_state();
    let mut logits = model.prefill(&mut st, &ids).expect("prefill");
    let mut out = Vec::new();
    for _ in 0..NEW_TOKENS {
        let t = argmax(&logits);
        out.push(t);
        logits = model.step(&mut st, t).expect("step");
    }
    let text = tok.decode(&out).expect("decode");
    (out, text)
}

fn default_prompt(dir: &Path) -> &'static str {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with("recall") {
        "<bos> k20 v130 k33 v200 k17 v141 f3 f4 <sep> k33"
    } else {
        "ROMEO:\nBut soft, what light"
    }
}

#[test]
fn zoo_greedy_outputs_match_golden() {
    // only exactly `1` blesses: `HYBRID_BLESS=0` (or empty) must check, not rewrite
    let bless = std::env::var("HYBRID_BLESS").as_deref() == Ok("1");
    let dirs = zoo();
    assert!(
        dirs.len() >= 14,
        "the zoo ships 14 trained models, found {}",
        dirs.len()
    );
    for dir in dirs {
        let golden = dir.join("golden.json");
        if bless {
            let prompt = default_prompt(&dir);
            let (tokens, text) = greedy(&dir, prompt);
            let v = serde_json::json!({ "prompt": prompt, "tokens": tokens, "text": text });
            std::fs::write(
                &golden,
                serde_json::to_string_pretty(&v).expect("json") + "\n",
            )
            .expect("write golden");
            println!("blessed {}: {text:?}", dir.display());
            continue;
        }
        let g: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&golden).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (run with HYBRID_BLESS=1 to write it)",
                    golden.display()
                )
            }))
            .expect("golden.json");
        let prompt = g["prompt"].as_str().expect("prompt");
        let want: Vec<u32> = serde_json::from_value(g["tokens"].clone()).expect("tokens");
        let (got, text) = greedy(&dir, prompt);
        assert_eq!(
            got,
            want,
            "{}: greedy output changed: {text:?}",
            dir.display()
        );
        assert_eq!(Some(text.as_str()), g["text"].as_str());
    }
}

/// The engine reproduces the training script's recall metric on the bundled models
/// (metrics.json = the run's atlas record, test split): the Transformer and the intra hybrid
/// recall, the Mamba-2 as trained and the sliding-window model do not.
#[test]
fn recall_zoo_accuracy_matches_its_metrics() {
    use hybrid_core::tasks::recall;
    use hybrid_core::ForwardOptions;
    let score = |id: &str| {
        let dir = models_dir().join(id);
        let read = |f: &str| std::fs::read(dir.join(f)).expect("zoo file");
        let model =
            Model::from_bytes(&read("config.json"), &read("model.safetensors")).expect("loads");
        let cases = recall::make_batch(7, 16, 16, 256).expect("cases");
        let total: f32 = cases
            .iter()
            .map(|c| {
                let mut st = model.new_state();
                let opts = ForwardOptions {
                    all_logits: true,
                    ..Default::default()
                };
                let out = model.forward(&mut st, &c.tokens, opts).expect("forward");
                recall::accuracy(c, &out.logits, recall::VOCAB)
            })
            .sum();
        total / cases.len() as f32
    };
    // the training script's test-split accuracy at 16 pairs, 256 tokens (512 cases)
    let trained = |id: &str| -> f32 {
        let p = models_dir().join(id).join("metrics.json");
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&p).expect("metrics.json")).expect("json");
        m["test"]["grid"]["256"]["16"]
            .as_f64()
            .expect("grid 256/16") as f32
    };
    for id in [
        "recall-transformer",
        "recall-mamba2",
        "recall-intra",
        "recall-swa",
    ] {
        let (ours, theirs) = (score(id), trained(id));
        println!(
            "{id}: recall at 16 pairs, 256 tokens: engine {ours:.3}, metrics.json {theirs:.3}"
        );
        // 16 cases here (about 256 queries) against 512 there: binomial noise < 0.05
        assert!(
            (ours - theirs).abs() < 0.1,
            "{id}: engine {ours} vs metrics.json {theirs}"
        );
    }
    // attention solves the task within the training length; Mamba-2 (as trained) does not,
    // nor does a 64-token window, which cannot see most pairs from the queries
    assert!(score("recall-transformer") > 0.9);
    assert!(score("recall-mamba2") < 0.3);
    assert!(score("recall-swa") < 0.3);
}
