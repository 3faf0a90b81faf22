//! A config that is absurd, oversized or mistyped is a clear error naming the key, never
//! a panic, an overflow, an allocation failure or a silently different model.

mod common;

use common::fixtures_dir;
use hybrid_core::config::Limits;
use hybrid_core::{Error, ModelConfig};
use serde_json::{json, Value};

fn base(name: &str) -> Value {
    let text = std::fs::read(fixtures_dir().join(name).join("config.json")).expect("config");
    serde_json::from_slice(&text).expect("json")
}

fn err(v: &Value) -> String {
    match ModelConfig::from_json(v.to_string().as_bytes()) {
        Ok(_) => panic!("accepted: {v}"),
        Err(e @ (Error::Config(_) | Error::ConfigSyntax(_))) => e.to_string(),
        Err(e) => panic!("wrong error kind: {e}"),
    }
}

#[test]
fn the_fixtures_pass() {
    for name in common::fixture_names() {
        let v = base(&name);
        assert!(
            ModelConfig::from_json(v.to_string().as_bytes()).is_ok(),
            "{name}"
        );
    }
}

#[test]
fn oversized_dimensions_name_the_key_and_the_limit() {
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "transformer",
            json!({"attention": {"n_heads": 1u64 << 33, "n_kv_heads": 2, "head_dim": 1u64 << 31}}),
            "attention.n_heads",
        ),
        (
            "transformer",
            json!({"attention": {"n_heads": 4, "n_kv_heads": 2, "head_dim": 1u64 << 62}}),
            "attention.head_dim",
        ),
        (
            "mamba2",
            json!({"mamba": {"d_state": 16, "head_dim": 16, "expand": 1u64 << 57}}),
            "mamba.expand",
        ),
        (
            "transformer",
            json!({"vocab_size": 1u64 << 40}),
            "vocab_size",
        ),
        ("transformer", json!({"d_model": usize::MAX}), "d_model"),
        ("transformer", json!({"d_ffn": 1u64 << 30}), "d_ffn"),
        (
            "transformer",
            json!({"max_seq_len": 1u64 << 40}),
            "max_seq_len",
        ),
        (
            "swa",
            json!({"attention": {"n_heads": 4, "n_kv_heads": 2, "head_dim": 16, "window": usize::MAX}}),
            "attention.window",
        ),
        (
            "mamba2",
            json!({"mamba": {"d_state": 1 << 20, "head_dim": 16}}),
            "mamba.d_state",
        ),
        (
            "mamba2",
            json!({"mamba": {"d_state": 16, "head_dim": 16, "conv_width": 1000}}),
            "mamba.conv_width",
        ),
    ];
    for (fixture, patch, key) in cases {
        let mut v = base(fixture);
        for (k, val) in patch.as_object().expect("object") {
            v[k] = val.clone();
        }
        let e = err(&v);
        assert!(e.contains(key) && e.contains("limit"), "{key}: {e}");
    }
    let mut v = base("mamba2");
    v["layers"] = Value::Array(vec![json!("mamba"); 100_000]);
    let e = err(&v);
    assert!(
        e.contains("layers") && e.contains(&Limits::LAYERS.to_string()),
        "{e}"
    );
}

#[test]
fn unknown_keys_are_refused_with_a_suggestion() {
    let mut v = base("swa");
    let w = v["attention"]["window"].clone();
    v["attention"]
        .as_object_mut()
        .expect("attention")
        .remove("window");
    v["attention"]["windw"] = w;
    let e = err(&v);
    assert!(
        e.contains("`attention.windw`") && e.contains("`attention.window`"),
        "{e}"
    );
    let mut v = base("transformer");
    v["tie_embedding"] = json!(false);
    let e = err(&v);
    assert!(e.contains("did you mean `tie_embeddings`"), "{e}");
}

#[test]
fn the_largest_allowed_sizes_do_not_overflow() {
    // every limit at once: derived sizes saturate or stay exact, never wrap or panic
    let v = json!({
        "vocab_size": Limits::VOCAB, "d_model": Limits::D_MODEL, "d_ffn": Limits::D_FFN,
        "layers": vec!["intra"; Limits::LAYERS],
        "attention": {"n_heads": Limits::HEADS, "n_kv_heads": Limits::HEADS, "head_dim": 4096},
        "mamba": {"d_state": Limits::HEAD_DIM, "head_dim": 4096, "expand": Limits::EXPAND},
        "intra": {"attn_heads": Limits::HEADS, "attn_kv_heads": 1, "ssm_heads": Limits::HEADS}
    });
    let cfg: ModelConfig = serde_json::from_value(v).expect("parses");
    // valid in shape on 64-bit platforms: only its size is absurd
    let params = cfg.param_count_u64();
    assert!(params > 1 << 50, "{params}");
    assert_eq!(cfg.param_count() as u64, params);
    assert!(cfg.kv_cache_bytes(usize::MAX) > 0);
    assert!(cfg.cache_bytes(usize::MAX) >= cfg.kv_cache_bytes(usize::MAX));
    let _ = cfg.flops_per_token(usize::MAX);
}

/// Found by core/tests/properties/: a float over f32's range parsed as infinity and was
/// accepted (an infinite `norm_eps` zeroes every norm), and `to_json` then wrote `null`,
/// which does not parse again.
#[test]
fn floats_beyond_f32_are_refused() {
    let mut v = base("mamba2");
    v["norm_eps"] = json!(6.008900121875864e110);
    let e = err(&v);
    assert!(e.contains("norm_eps") && e.contains("finite"), "{e}");
    let mut v = base("transformer");
    v["attention"]["rope_theta"] = json!(1e39);
    let e = err(&v);
    assert!(
        e.contains("attention.rope_theta") && e.contains("finite"),
        "{e}"
    );
    // an unused section too: its values must survive to_json
    let mut v = base("mamba2");
    v["attention"] = json!({"n_heads": 1, "n_kv_heads": 1, "head_dim": 2, "rope_theta": 1e300});
    let e = err(&v);
    assert!(e.contains("attention.rope_theta"), "{e}");
}

/// Found by core/tests/properties/: an unused section is only limit-checked, and the
/// sizes derived from it divided by zero (`mamba.head_dim` = 0), or underflowed
/// (`attention.window` = 0, `mamba.conv_width` = 0), panicking on a valid config.
#[test]
fn unused_sections_with_zero_sizes_do_not_panic() {
    let mut v = base("mamba2");
    v["attention"] = json!({"n_heads": 0, "n_kv_heads": 0, "head_dim": 0, "window": 0});
    let cfg = ModelConfig::from_json(v.to_string().as_bytes()).expect("valid: attention unused");
    assert_eq!(cfg.kv_cache_bytes(1 << 20), 0);
    assert!(cfg.cache_bytes(1 << 40) > 0);
    let _ = cfg.flops_per_token(1 << 40);
    let mut v = base("transformer");
    v["mamba"] = json!({"d_state": 0, "head_dim": 0, "expand": 0, "conv_width": 0});
    let cfg = ModelConfig::from_json(v.to_string().as_bytes()).expect("valid: mamba unused");
    assert_eq!(cfg.mamba_dims(), None, "no Mamba heads of 0 channels");
    assert_eq!(cfg.ssm_state_bytes() + cfg.conv_state_bytes(), 0);
    v["mamba"] = json!({"d_state": 4, "head_dim": 4, "conv_width": 0});
    let cfg = ModelConfig::from_json(v.to_string().as_bytes()).expect("valid: mamba unused");
    let m = cfg.mamba_dims().expect("dims");
    assert_eq!(m.conv_state_len(), 0);
    hybrid_core::fuzz::config_sizes(&cfg);
}
