//! The cases of issue #14 the first list left to other tests, tried here against the
//! command line too: device files as model files, an infinity, `inspect` on NaN weights,
//! tokenizers larger and smaller than the model's vocabulary, a duplicated tensor name,
//! the order of the checks, and sizes from the arguments.

use std::path::Path;

use super::cases::{case, Case};
use super::files::{duplicate_first_tensor, edit_weights, link, model_copy, one_token_more};
use super::root;

pub fn cases(dir: &Path, ok: &str) -> Vec<Case> {
    let p = |p: &Path| p.display().to_string();
    let zero = Path::new("/dev/zero");
    let zero_weights = model_copy(dir, "zero-weights", |d| link(d, "model.safetensors", zero));
    let zero_tok = model_copy(dir, "zero-tokenizer", |d| link(d, "tokenizer.json", zero));
    let inf = model_copy(dir, "inf", |d| {
        // the last f16 of the last tensor: +infinity
        edit_weights(d, |b| {
            let n = b.len();
            b[n - 2..].copy_from_slice(&0x7c00u16.to_le_bytes());
        })
    });
    let nan = model_copy(dir, "nan-inspect", |d| {
        edit_weights(d, |b| {
            let n = b.len();
            b[n - 2..].copy_from_slice(&super::files::half_nan());
        })
    });
    let dup = model_copy(dir, "duplicate-tensor", |d| {
        edit_weights(d, duplicate_first_tensor)
    });
    let big_tok = model_copy(dir, "big-tokenizer", one_token_more);
    let small_tok = model_copy(dir, "small-tokenizer", |d| {
        std::fs::copy(
            root().join("assets/models/recall-mamba2/tokenizer.json"),
            d.join("tokenizer.json"),
        )
        .expect("copy");
    });
    let head_dim = dir.join("head-dim.json");
    let transformer = root()
        .canonicalize()
        .expect("root")
        .join("assets/models/shakespeare-transformer/config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&transformer).expect("cfg")).expect("json");
    cfg["attention"]["head_dim"] = (1u64 << 62).into();
    std::fs::write(&head_dim, cfg.to_string()).expect("write");
    let models = root().canonicalize().expect("root").join("assets/models");
    let transformer_dir = p(&models.join("shakespeare-transformer"));
    let transformer = p(&transformer);
    vec![
        case(
            "model.safetensors is /dev/zero",
            &["generate", &p(&zero_weights)],
            1,
            "not a regular file",
        ),
        case(
            "tokenizer.json is /dev/zero",
            &["generate", &p(&zero_tok)],
            1,
            "not a regular file",
        ),
        case(
            "an infinity in the weights",
            &["generate", &p(&inf)],
            1,
            "non-finite",
        ),
        case(
            "inspect weights holding a NaN",
            &["inspect", &p(&nan)],
            1,
            "non-finite",
        ),
        case(
            "a tensor name twice in the header",
            &["inspect", &p(&dup)],
            1,
            "duplicate",
        ),
        case(
            "tokenizer larger than the model's vocabulary",
            &["generate", &p(&big_tok), "-n", "4"],
            1,
            "has only 2048",
        ),
        case(
            "tokenizer smaller than the model's vocabulary: unknown ids shown",
            &["generate", &p(&small_tok), "-p", "f3 f4 f5", "-n", "24"],
            0,
            "<id ",
        ),
        case(
            "head_dim = 2^62 (bench on a config)",
            &["bench", &p(&head_dim), "-c", "8", "-d", "1"],
            1,
            "attention.head_dim",
        ),
        case(
            "bench -c 10^12 on a transformer",
            &["bench", &transformer, "-c", "1000000000000"],
            1,
            "refusing to start",
        ),
        case(
            "a bad --json path is refused before the run",
            &[
                "bench",
                &transformer,
                "-c",
                "1000000000000",
                "--json",
                "/nonexistent/o.json",
            ],
            1,
            "--json /nonexistent/o.json",
        ),
        case(
            "generate -n 10^12 with a transformer (its KV cache grows)",
            &["generate", &transformer_dir, "-n", "1000000000000"],
            1,
            "refusing to start",
        ),
        case(
            "generate --max-tokens=-1 (the argument parser's usage error)",
            &["generate", ok, "--max-tokens=-1"],
            2,
            "invalid value '-1' for '--max-tokens",
        ),
        case(
            "generate --top-k 0 (off)",
            &["generate", ok, "-n", "4", "--top-k", "0", "-p", "Hi"],
            0,
            "Hi",
        ),
    ]
}
