//! The value head size (`attention.v_head_dim`, `intra.attn_v_head_dim`) and the per-layer
//! windows (`windows`): parsed with their defaults, refused with a clear error when
//! contradictory, and counted in the analytic sizes (docs/FORMAT.md, "Cache and state sizes").

use hybrid_core::{Error, ModelConfig};
use serde_json::{json, Value};

/// Two attention layers around a Mamba layer, plus an intra layer.
fn base() -> Value {
    json!({
        "vocab_size": 64, "d_model": 32, "d_ffn": 64,
        "layers": ["attention", "mamba", "intra", "attention"],
        "attention": {"n_heads": 4, "n_kv_heads": 2, "head_dim": 8},
        "mamba": {"d_state": 8, "head_dim": 8},
        "intra": {"attn_heads": 2, "attn_kv_heads": 1, "ssm_heads": 4}
    })
}

fn parse(v: &Value) -> ModelConfig {
    ModelConfig::from_json(v.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}: {v}"))
}

fn err(v: &Value) -> String {
    match ModelConfig::from_json(v.to_string().as_bytes()) {
        Ok(_) => panic!("accepted: {v}"),
        Err(e @ Error::Config(_)) => e.to_string(),
        Err(e) => panic!("wrong error kind: {e}"),
    }
}

#[test]
fn value_head_sizes_default_to_the_query_key_size() {
    let c = parse(&base());
    let (a, i) = (
        c.attn_dims().expect("attn"),
        c.intra_attn_dims().expect("intra"),
    );
    assert_eq!((a.head_dim, a.v_head_dim, i.v_head_dim), (8, 8, 8));
    let mut v = base();
    v["attention"]["v_head_dim"] = json!(12);
    let c = parse(&v);
    let (a, i) = (
        c.attn_dims().expect("attn"),
        c.intra_attn_dims().expect("intra"),
    );
    // the intra branch inherits the attention blocks' dv unless it sets its own
    assert_eq!((a.v_head_dim, i.v_head_dim), (12, 12));
    assert_eq!(
        (a.q_dim(), a.k_dim(), a.v_dim(), a.o_dim()),
        (32, 16, 24, 48)
    );
    v["intra"]["attn_v_head_dim"] = json!(16);
    let c = parse(&v);
    assert_eq!(c.intra_attn_dims().expect("intra").o_dim(), 32);
    // re-parses from its own JSON
    assert_eq!(parse(&serde_json::from_str(&c.to_json()).expect("json")), c);
}

#[test]
fn value_head_sizes_change_parameters_and_cache() {
    let mut v = base();
    v["attention"]["v_head_dim"] = json!(12);
    v["intra"]["attn_v_head_dim"] = json!(16);
    let c = parse(&v);
    let d = 32;
    // attention block: q [32], k [16], v [2*12], o [4*12 -> D]
    let attn = d * (32 + 16 + 24) + 48 * d + 2 * d + 3 * d * 64;
    assert_eq!(c.block_params(0), attn);
    // intra: attn branch q [2*8], k [8], v [16], norm [2*16], o_proj [D, 32]
    let plain = parse(&base());
    let delta = d * (16 - 8) + 2 * (16 - 8) + d * 2 * (16 - 8);
    assert_eq!(c.block_params(2), plain.block_params(2) + delta);
    // K + V floats per token: two attention layers 2*(8+12), the intra branch 8+16
    assert_eq!(c.kv_bytes_per_token(), (2 * 2 * (8 + 12) + (8 + 16)) * 4);
    assert_eq!(c.kv_cache_bytes(10), 10 * c.kv_bytes_per_token());
}

#[test]
fn per_layer_windows_override_the_attention_window() {
    let mut v = base();
    v["attention"]["window"] = json!(100);
    v["attention"]["sink_tokens"] = json!(2);
    v["windows"] = json!([4, null, null, 6]);
    let c = parse(&v);
    let w: Vec<_> = (0..4).map(|i| c.layer_window(i)).collect();
    assert_eq!(w, [Some(4), None, None, Some(6)]);
    // kept positions: sinks + w - 1 for a windowed layer, t otherwise
    assert_eq!(c.kv_positions(0, 50), 5);
    assert_eq!(c.kv_positions(2, 50), 50);
    assert_eq!(c.kv_positions(3, 50), 7);
    let (a, i) = (c.attn_dims().expect("a"), c.intra_attn_dims().expect("i"));
    let elems = 5 * a.kv_row() + 50 * i.kv_row() + 7 * a.kv_row();
    assert_eq!(c.kv_cache_elems(50), elems as u64);
    assert_eq!(c.kv_cache_bytes(50), elems * 4);
    // without `windows`, every layer takes `attention.window`
    v["windows"] = Value::Null;
    let c = parse(&v);
    assert_eq!(c.layer_window(2), Some(100));
    assert_eq!(c.kv_positions(0, 50), 50);
}

#[test]
fn contradictory_windows_and_head_sizes_are_refused() {
    let cases = [
        (
            json!({"windows": [4, null, null]}),
            "3 entries but `layers` has 4",
        ),
        (
            json!({"windows": [4, 8, null, null]}),
            "windows[1] = 8 but layer 1 is \"mamba\"",
        ),
        (json!({"windows": [0, null, null, null]}), "windows[0] = 0"),
        (
            json!({"windows": [1u64 << 40, null, null, null]}),
            "windows[0]",
        ),
    ];
    for (patch, want) in cases {
        let mut v = base();
        v["windows"] = patch["windows"].clone();
        let e = err(&v);
        assert!(e.contains(want), "{want}: {e}");
    }
    let mut v = base();
    v["attention"]["v_head_dim"] = json!(0);
    assert!(err(&v).contains("attention.v_head_dim"));
    let mut v = base();
    v["intra"]["attn_v_head_dim"] = json!(0);
    assert!(err(&v).contains("intra.attn_v_head_dim"));
    let mut v = base();
    v["attention"]["v_head_dim"] = json!(1u64 << 40);
    let e = err(&v);
    assert!(
        e.contains("attention.v_head_dim") && e.contains("limit"),
        "{e}"
    );
    // joint add needs Ha*dva == E_b: 2*16 = 32 = 4*8 passes, 2*12 does not
    let mut v = base();
    v["intra"]["out_proj"] = json!("joint");
    v["intra"]["fusion"] = json!("add");
    v["intra"]["attn_v_head_dim"] = json!(16);
    parse(&v);
    v["intra"]["attn_v_head_dim"] = json!(12);
    let e = err(&v);
    assert!(e.contains("attn_heads * v_head_dim = 24"), "{e}");
}

#[test]
fn notes_are_free_text_the_engine_ignores() {
    let mut v = base();
    v["notes"] = json!({"d_ffn": "assumed", "vocab_size": "GPT-NeoX"});
    let c = parse(&v);
    assert_eq!(c.param_count(), parse(&base()).param_count());
    v["notes"] = json!({"d_ffn": 3});
    let e = ModelConfig::from_json(v.to_string().as_bytes()).expect_err("a number note");
    assert!(matches!(e, Error::ConfigSyntax(_)), "{e}");
}
