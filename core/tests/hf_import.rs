//! Hugging Face checkpoints on the CPU engine, against `transformers` itself: the tiny
//! random-weight models of core/tests/fixtures/hf/ (written by train/hf_fixtures.py, which
//! ran each class in float64) give logits within 1e-4 at every prompt position and the
//! same greedy continuation; a prefill equals the same tokens fed one by one; a sharded
//! copy loads the same model; options the engine lacks are refused by key.

use std::path::{Path, PathBuf};

use hybrid_core::hf::{self, Family, HfFiles};
use hybrid_core::sample::argmax;
use hybrid_core::testing::rel_err;
use hybrid_core::{Error, ForwardOptions, Model, Tokenizer};
use safetensors::SafeTensors;

/// Logits tolerance, relative to the largest |logit| (engine f32, reference float64).
const LOGIT_TOL: f32 = 1e-4;
/// The families with fixtures, by folder name.
const FAMILIES: [(&str, Family); 6] = [
    ("llama", Family::Llama),
    ("mamba2", Family::Mamba2),
    ("bamba", Family::Bamba),
    ("granitemoehybrid", Family::GraniteMoeHybrid),
    ("falcon_h1", Family::FalconH1),
    ("nemotron_h", Family::NemotronH),
];

fn dir(family: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf")
        .join(family)
}

fn read_in(dir: &Path) -> impl FnMut(&str) -> Result<Option<Vec<u8>>, Error> + '_ {
    move |name| match std::fs::read(dir.join(name)) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Safetensors(format!("{name}: {e}"))),
    }
}

fn load(family: &str) -> Model {
    hf::load_folder(read_in(&dir(family))).unwrap_or_else(|e| panic!("{family}: {e}"))
}

/// What `transformers` computed: the prompt, the logits at every position [T, V], the
/// greedy continuation.
struct Golden {
    prompt: Vec<u32>,
    greedy: Vec<u32>,
    logits: Vec<f32>,
    margin: f64,
}

fn golden(family: &str) -> Golden {
    let d = dir(family);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("golden.json")).expect("golden.json"))
            .expect("golden.json parses");
    let ids = |k: &str| -> Vec<u32> {
        json[k]
            .as_array()
            .unwrap_or_else(|| panic!("{k}"))
            .iter()
            .map(|v| v.as_u64().expect("id") as u32)
            .collect()
    };
    let bytes = std::fs::read(d.join("golden.safetensors")).expect("golden.safetensors");
    let st = SafeTensors::deserialize(&bytes).expect("golden.safetensors parses");
    let logits = st
        .tensor("logits")
        .expect("logits")
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Golden {
        prompt: ids("prompt_ids"),
        greedy: ids("greedy_ids"),
        logits,
        margin: json["greedy_min_margin"].as_f64().expect("margin"),
    }
}

#[test]
fn every_family_has_a_fixture_of_its_class() {
    for (name, fam) in FAMILIES {
        let cfg = std::fs::read(dir(name).join("config.json")).expect("config.json");
        assert!(hf::is_hf_config(&cfg), "{name}");
        let v = hf::parse_json(&cfg).expect("parses");
        assert_eq!(hf::family(&v).expect("family"), fam, "{name}");
    }
}

#[test]
fn logits_at_every_position_match_transformers() {
    for (name, _) in FAMILIES {
        let (model, g) = (load(name), golden(name));
        let mut st = model.new_state();
        let opts = ForwardOptions {
            all_logits: true,
            ..Default::default()
        };
        let out = model.forward(&mut st, &g.prompt, opts).expect("forward");
        assert_eq!(out.logits.len(), g.logits.len(), "{name}: [T, V]");
        let err = rel_err(&out.logits, &g.logits);
        eprintln!("{name}: logits rel err {err:.2e}");
        assert!(
            err <= LOGIT_TOL,
            "{name}: logits rel err {err:.2e} > {LOGIT_TOL:e}"
        );
    }
}

#[test]
fn greedy_continuation_matches_transformers() {
    for (name, _) in FAMILIES {
        let (model, g) = (load(name), golden(name));
        let mut st = model.new_state();
        let mut logits = model.prefill(&mut st, &g.prompt).expect("prefill");
        let mut out = Vec::new();
        for _ in 0..g.greedy.len() {
            let id = argmax(&logits);
            out.push(id);
            logits = model.step(&mut st, id).expect("step");
        }
        assert_eq!(out, g.greedy, "{name} (reference margin {:.3})", g.margin);
    }
}

#[test]
fn prefill_equals_token_by_token() {
    for (name, _) in FAMILIES {
        let (model, g) = (load(name), golden(name));
        let opts = ForwardOptions {
            all_logits: true,
            ..Default::default()
        };
        let mut st = model.new_state();
        let all = model.forward(&mut st, &g.prompt, opts).expect("prefill");
        let mut st = model.new_state();
        let v = model.config().vocab_size;
        for (t, &id) in g.prompt.iter().enumerate() {
            let one = model.step(&mut st, id).expect("step");
            let err = rel_err(&one, &all.logits[t * v..(t + 1) * v]);
            assert!(err < 1e-5, "{name} position {t}: rel err {err:.2e}");
        }
    }
}

#[test]
fn the_tokenizer_of_each_fixture_loads() {
    for (name, _) in FAMILIES {
        let bytes = std::fs::read(dir(name).join("tokenizer.json")).expect("tokenizer.json");
        let tok = Tokenizer::from_bytes(&bytes).expect("tokenizer");
        let g = golden(name);
        let text = tok.decode(&g.prompt).expect("decode");
        assert!(text.contains("k16"), "{name}: {text}");
    }
}

/// The Llama fixture split into two shards with an index, as `save_pretrained` writes
/// large checkpoints: the same model.
#[test]
fn a_sharded_checkpoint_loads_the_same_model() {
    let d = dir("llama");
    let config = std::fs::read(d.join("config.json")).expect("config");
    let single = std::fs::read(d.join("model.safetensors")).expect("weights");
    let st = SafeTensors::deserialize(&single).expect("parses");
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    let (a, b) = names.split_at(names.len() / 2);
    let shard = |part: &[String]| {
        let views: Vec<(String, _)> = part
            .iter()
            .map(|n| (n.clone(), st.tensor(n).expect("tensor")))
            .collect();
        safetensors::serialize(views, None).expect("serialize")
    };
    let (s1, s2) = (shard(a), shard(b));
    let (f1, f2) = (
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    );
    let map: serde_json::Map<String, serde_json::Value> = a
        .iter()
        .map(|n| (n.clone(), f1.into()))
        .chain(b.iter().map(|n| (n.clone(), f2.into())))
        .collect();
    let index = serde_json::json!({"metadata": {}, "weight_map": map}).to_string();
    assert_eq!(
        hf::shard_files(index.as_bytes()).expect("index"),
        vec![f1.to_string(), f2.to_string()]
    );
    let shards = [(f1, s1.as_slice()), (f2, s2.as_slice())];
    let files = HfFiles {
        config: &config,
        index: Some(index.as_bytes()),
        shards: &shards,
    };
    let sharded = hf::load(files).expect("sharded loads");
    let whole = load("llama");
    let g = golden("llama");
    let run = |m: &Model| m.prefill(&mut m.new_state(), &g.prompt).expect("prefill");
    assert_eq!(run(&sharded), run(&whole));
    // an index that puts a tensor in the wrong shard is refused, naming it
    let wrong = index.replacen(f1, f2, 1);
    let files = HfFiles {
        index: Some(wrong.as_bytes()),
        ..files
    };
    let e = hf::load(files).expect_err("wrong index").to_string();
    assert!(e.contains(&a[0]), "{e}");
}

/// Edit the fixture's config.json with `edit`, then map it.
fn edited(family: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Result<Model, Error> {
    let d = dir(family);
    let mut v =
        hf::parse_json(&std::fs::read(d.join("config.json")).expect("config")).expect("parses");
    edit(&mut v);
    let config = v.to_string();
    let mut read = read_in(&d);
    hf::load_folder(move |name| match name {
        "config.json" => Ok(Some(config.clone().into_bytes())),
        other => read(other),
    })
}

#[test]
fn options_the_engine_lacks_are_refused_by_key() {
    let cases: [(&str, &str, serde_json::Value, &str); 21] = [
        (
            "llama",
            "attention_bias",
            true.into(),
            "`attention_bias` = true",
        ),
        ("llama", "mlp_bias", true.into(), "`mlp_bias`"),
        (
            "llama",
            "hidden_act",
            "gelu".into(),
            "`hidden_act` = \"gelu\"",
        ),
        (
            "llama",
            "rope_scaling",
            serde_json::json!({"rope_type": "linear", "factor": 2.0}),
            "`rope_scaling.rope_type`",
        ),
        (
            "llama",
            "brand_new_option",
            1.into(),
            "unknown key `brand_new_option`",
        ),
        ("mamba2", "use_bias", true.into(), "`use_bias` = true"),
        (
            "mamba2",
            "time_step_limit",
            serde_json::json!([0.001, 0.1]),
            "`time_step_limit`",
        ),
        ("mamba2", "num_heads", 3.into(), "`num_heads`"),
        (
            "bamba",
            "mamba_proj_bias",
            true.into(),
            "`mamba_proj_bias` = true",
        ),
        (
            "bamba",
            "attn_layer_indices",
            serde_json::json!([7]),
            "`attn_layer_indices`",
        ),
        (
            "granitemoehybrid",
            "num_local_experts",
            4.into(),
            "`num_local_experts` = 4",
        ),
        (
            "granitemoehybrid",
            "position_embedding_type",
            "alibi".into(),
            "`position_embedding_type` = \"alibi\"",
        ),
        (
            "falcon_h1",
            "mamba_rms_norm",
            true.into(),
            "`mamba_rms_norm` = true",
        ),
        (
            "nemotron_h",
            "layers_block_type",
            serde_json::json!(["linear_attention", "moe"]),
            "`layers_block_type`",
        ),
        (
            "nemotron_h",
            "layers_block_type",
            serde_json::json!(["mlp", "linear_attention"]),
            "layer 0 is an MLP",
        ),
        (
            "nemotron_h",
            "mlp_hidden_act",
            "silu".into(),
            "`mlp_hidden_act`",
        ),
        (
            "falcon_h1",
            "ssm_multipliers",
            serde_json::json!([1.0, 2.0]),
            "`ssm_multipliers`",
        ),
        (
            "granitemoehybrid",
            "layer_types",
            serde_json::json!(["mamba"]),
            "`layer_types`",
        ),
        (
            "granitemoehybrid",
            "normalization_function",
            "layernorm".into(),
            "`normalization_function` = \"layernorm\"",
        ),
        (
            "falcon_h1",
            "attn_layer_indices",
            serde_json::json!([0]),
            "`attn_layer_indices`",
        ),
        (
            "falcon_h1",
            "mamba_use_mlp",
            false.into(),
            "`mamba_use_mlp` = false",
        ),
    ];
    for (family, key, value, want) in cases {
        let e = edited(family, |v| {
            v[key] = value.clone();
        })
        .expect_err(key)
        .to_string();
        assert!(e.contains(want), "{family} {key}: {e}");
    }
    let e = edited("llama", |v| {
        v["architectures"] = serde_json::json!(["GPT2LMHeadModel"]);
    })
    .expect_err("unsupported class")
    .to_string();
    assert!(
        e.contains("GPT2LMHeadModel") && e.contains("LlamaForCausalLM"),
        "{e}"
    );
}

#[test]
fn defaults_and_spellings_of_transformers_configs() {
    // the default time_step_limit as Python's json writes it (transformers 5 writes
    // {"__float__": "Infinity"}), and RoPE's theta in the transformers 4 spelling, are
    // accepted
    edited("mamba2", |v| {
        v["time_step_limit"] = serde_json::json!([0.0, "Infinity"]);
    })
    .expect("default time_step_limit");
    let text = br#"{"a": [0.0, Infinity, -Infinity, NaN], "b": "Infinity, NaN"}"#;
    let v = hf::parse_json(text).expect("parses");
    assert_eq!(v["a"][1], "Infinity");
    assert_eq!(v["a"][2], "-Infinity");
    assert_eq!(v["b"], "Infinity, NaN");
    let theta = |m: &Model| m.config().attention.as_ref().expect("attn").rope_theta;
    let m = edited("llama", |v| {
        let obj = v.as_object_mut().expect("object");
        let params = obj.remove("rope_parameters").expect("rope_parameters");
        obj.insert("rope_theta".into(), params["rope_theta"].clone());
    })
    .expect("rope_theta");
    assert_eq!(theta(&m), theta(&load("llama")));
    assert_eq!(theta(&m), 500.0);
    // the published Granite-4.0-H files say "nope": the same model as null (no RoPE)
    let m = edited("granitemoehybrid", |v| {
        v["position_embedding_type"] = "nope".into();
        v["normalization_function"] = "rmsnorm".into();
        v["init_method"] = "mup".into();
    })
    .expect("nope");
    assert_eq!(m.config(), load("granitemoehybrid").config());
    // the Mamba-2 fixture ties its head to the embedding
    let m = edited("mamba2", |_| {}).expect("tied");
    assert!(m.weights().lm_head.is_none());
}
