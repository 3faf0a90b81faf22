//! A wrong checkpoint is a typed error naming the tensor and the shapes, never a panic.

mod common;

use common::fixtures_dir;
use hybrid_core::{Error, Model};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

fn fixture(name: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = fixtures_dir().join(name);
    (
        std::fs::read(dir.join("config.json")).expect("config"),
        std::fs::read(dir.join("model.safetensors")).expect("weights"),
    )
}

/// Rewrite a safetensors file: `edit` may drop or replace tensors (name, dtype, shape, bytes).
fn rewrite(
    bytes: &[u8],
    edit: impl Fn(&str, Dtype, Vec<usize>, Vec<u8>) -> Option<(Dtype, Vec<usize>, Vec<u8>)>,
) -> Vec<u8> {
    let st = SafeTensors::deserialize(bytes).expect("valid fixture");
    let mut owned = Vec::new();
    for (name, view) in st.tensors() {
        if let Some(t) = edit(
            &name,
            view.dtype(),
            view.shape().to_vec(),
            view.data().to_vec(),
        ) {
            owned.push((name, t));
        }
    }
    let views: Vec<(String, TensorView)> = owned
        .iter()
        .map(|(n, (dt, shape, data))| {
            (
                n.clone(),
                TensorView::new(*dt, shape.clone(), data).expect("view"),
            )
        })
        .collect();
    safetensors::serialize(views, None).expect("serialize")
}

fn load_err(cfg: &[u8], weights: &[u8]) -> Error {
    Model::from_bytes(cfg, weights).expect_err("must be rejected")
}

#[test]
fn missing_tensor_names_it_and_its_shape() {
    let (cfg, w) = fixture("transformer");
    let w = rewrite(&w, |n, d, s, b| {
        (n != "layers.1.ffn.up_proj.weight").then_some((d, s, b))
    });
    let e = load_err(&cfg, &w);
    assert!(
        matches!(&e, Error::MissingTensor { name, expected } if name == "layers.1.ffn.up_proj.weight" && expected == &vec![128, 64]),
        "{e}"
    );
    assert!(e.to_string().contains("layers.1.ffn.up_proj.weight"));
}

#[test]
fn wrong_shape_names_expected_and_found() {
    let (cfg, w) = fixture("mamba2");
    let w = rewrite(&w, |n, d, s, b| {
        Some(if n == "layers.0.mixer.A_log" {
            (d, vec![2, s[0] / 2], b)
        } else {
            (d, s, b)
        })
    });
    let e = load_err(&cfg, &w);
    assert!(
        matches!(&e, Error::ShapeMismatch { name, expected, found }
            if name == "layers.0.mixer.A_log" && expected == &vec![8] && found == &vec![2, 4]),
        "{e}"
    );
}

#[test]
fn wrong_dtype_is_rejected() {
    let (cfg, w) = fixture("transformer");
    let w = rewrite(&w, |n, d, s, b| {
        Some(if n == "norm_f.weight" {
            (Dtype::I32, s, b)
        } else {
            (d, s, b)
        })
    });
    let e = load_err(&cfg, &w);
    assert!(
        matches!(&e, Error::DType { name, found } if name == "norm_f.weight" && found == "I32"),
        "{e}"
    );
}

#[test]
fn truncated_file_is_an_error_not_a_panic() {
    let (cfg, w) = fixture("intra_add");
    for cut in [0, 7, 100, w.len() / 2, w.len() - 1] {
        let e = load_err(&cfg, &w[..cut]);
        assert!(matches!(e, Error::Safetensors(_)), "cut at {cut}: {e}");
    }
}

#[test]
fn config_that_contradicts_the_tensors() {
    let (cfg, w) = fixture("inter_1to3");
    let text = String::from_utf8(cfg.clone()).expect("utf8");
    // a different vocabulary: the embedding's shape says otherwise
    let bad = text.replace("\"vocab_size\": 256", "\"vocab_size\": 300");
    assert_ne!(bad, text, "fixture config spells vocab_size as expected");
    let e = load_err(bad.as_bytes(), &w);
    assert!(
        matches!(&e, Error::ShapeMismatch { name, .. } if name == "embed_tokens.weight"),
        "{e}"
    );
    // one layer fewer: the fourth layer's tensors are unexplained
    let mut v: serde_json::Value = serde_json::from_slice(&cfg).expect("json");
    v["layers"] = serde_json::json!(["mamba", "attention", "mamba"]);
    let e = load_err(v.to_string().as_bytes(), &w);
    assert!(
        matches!(&e, Error::UnexpectedTensors { example, .. } if example.starts_with("layers.3.")),
        "{e}"
    );
    // attention where the weights hold Mamba
    v["layers"] = serde_json::json!(["attention", "attention", "mamba", "mamba"]);
    let e = load_err(v.to_string().as_bytes(), &w);
    assert!(
        matches!(&e, Error::MissingTensor { name, .. } if name == "layers.0.mixer.q_proj.weight"),
        "{e}"
    );
    // not JSON at all
    let e = load_err(b"{\"vocab_size\": 256,", &w);
    assert!(matches!(e, Error::ConfigSyntax(_)), "{e}");
}

#[test]
fn bad_tokens_and_empty_prompts_are_errors() {
    let (cfg, w) = fixture("transformer");
    let model = Model::from_bytes(&cfg, &w).expect("loads");
    let mut st = model.new_state();
    assert!(matches!(model.prefill(&mut st, &[]), Err(Error::Prompt(_))));
    assert!(matches!(
        model.prefill(&mut st, &[1, 256]),
        Err(Error::TokenOutOfRange {
            id: 256,
            vocab: 256
        })
    ));
    assert_eq!(st.pos, 0, "a rejected call leaves the state untouched");
}

#[test]
fn non_finite_weights_name_the_tensor() {
    let (cfg, w) = fixture("transformer");
    let w = rewrite(&w, |n, d, s, mut b| {
        if n == "layers.2.mixer.k_proj.weight" {
            // f32: the third value becomes NaN, the fifth +inf
            b[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
            b[16..20].copy_from_slice(&f32::INFINITY.to_le_bytes());
        }
        Some((d, s, b))
    });
    let e = load_err(&cfg, &w);
    assert!(
        matches!(&e, Error::NonFinite { name, count: 2, index: 2, .. } if name == "layers.2.mixer.k_proj.weight"),
        "{e}"
    );
}

#[test]
fn truncation_and_duplicate_names_are_named_plainly() {
    let (cfg, w) = fixture("mamba2");
    let e = load_err(&cfg, &w[..w.len() - 100]).to_string();
    assert!(e.contains("truncated") && e.contains("tensor data"), "{e}");
    // the same tensor entry twice in the JSON header (same length, so offsets still hold)
    let n = u64::from_le_bytes(w[..8].try_into().expect("8 bytes")) as usize;
    let header = std::str::from_utf8(&w[8..8 + n]).expect("utf8 header");
    let first = header.find("\"norm_f.weight\"").expect("norm_f entry");
    let other = header.find("\"embed_tokens.weight\"").expect("embed entry");
    assert_eq!(
        "\"norm_f.weight\"".len(),
        "\"embed_tokens.weight\"".len() - 6
    );
    // rename embed_tokens.weight to norm_f.weight padded with spaces inside the JSON
    let mut h = header.as_bytes().to_vec();
    let renamed = b"\"norm_f.weight\"      ";
    h[other..other + renamed.len()].copy_from_slice(renamed);
    assert!(first != other);
    let mut dup = w[..8].to_vec();
    dup.extend_from_slice(&h);
    dup.extend_from_slice(&w[8 + n..]);
    let e = load_err(&cfg, &dup).to_string();
    assert!(e.contains("`norm_f.weight` twice"), "{e}");
}
