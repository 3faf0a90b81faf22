//! Shared by the engines' tests (CPU here, GPU in `gpu/tests`): small configs of every
//! family, the committed fixtures, and the error measure the tolerances are stated in.

use std::path::PathBuf;

use crate::ModelConfig;

/// The repo's `tests/fixtures` folder (the workspace root is the parent of `core/`).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// Names of the committed fixtures (folders with a `golden.safetensors`).
pub fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .map(|rd| rd.filter_map(|e| e.ok()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.path().join("golden.safetensors").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Max |a - b| / max |b|: the relative error of `a` against the reference `b`.
pub fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::INFINITY;
    }
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// A small config of each family, for tests that need no fixture.
pub fn family_configs() -> Vec<(&'static str, ModelConfig)> {
    let base = |layers: &str, extra: &str| {
        let json = format!(
            r#"{{"name":"t","vocab_size":97,"d_model":32,"d_ffn":48,"layers":{layers},
            "attention":{{"n_heads":4,"n_kv_heads":2,"head_dim":8{extra}}},
            "mamba":{{"d_state":8,"head_dim":8,"n_groups":2}},
            "intra":{{"attn_heads":2,"attn_kv_heads":1,"ssm_heads":2,"fusion":"subtract"}}}}"#
        );
        ModelConfig::from_json(json.as_bytes()).expect("valid test config")
    };
    let intra = |fusion: &str, out: &str, scalars: bool, norm: bool| {
        let mut c = base(r#"["mamba","intra","mamba","intra"]"#, "");
        let i = c.intra.as_mut().expect("intra");
        i.fusion = serde_json::from_str(&format!("\"{fusion}\"")).expect("fusion");
        i.out_proj = serde_json::from_str(&format!("\"{out}\"")).expect("out_proj");
        i.branch_scalars = scalars;
        i.branch_norm = norm;
        i.ssm_heads = 2; // E_b = 16 = Ha*dh for joint add/subtract
        c.validate().expect("valid intra config");
        c
    };
    vec![
        ("transformer", base(r#"["attention","attention"]"#, "")),
        ("mamba", base(r#"["mamba","mamba"]"#, "")),
        (
            "inter",
            base(r#"["mamba","attention","mamba","mamba"]"#, ""),
        ),
        ("intra_add", intra("add", "separate", false, true)),
        ("intra_subtract", intra("subtract", "separate", false, true)),
        ("intra_concat", intra("concat", "joint", false, true)),
        (
            "intra_joint_scalars",
            intra("subtract", "joint", true, false),
        ),
        (
            "swa",
            base(
                r#"["attention","attention"]"#,
                r#","window":5,"sink_tokens":2"#,
            ),
        ),
        ("intra_vfull", {
            // Q/K of 8, V of 12 in attention blocks and 16 in the intra branch
            let mut c = base(
                r#"["mamba","intra","attention","intra"]"#,
                r#","v_head_dim":12"#,
            );
            if let Some(i) = c.intra.as_mut() {
                i.attn_v_head_dim = Some(16);
            }
            c.validate().expect("valid intra_vfull config");
            c
        }),
        ("swa_global", {
            // windows of 4 and 6 tokens around a global layer (attention.window is overridden)
            let mut c = base(
                r#"["attention","attention","mamba","intra"]"#,
                r#","window":3,"sink_tokens":1"#,
            );
            c.windows = Some(vec![Some(4), None, None, Some(6)]);
            c.validate().expect("valid swa_global config");
            c
        }),
    ]
}

/// The folder of the Hugging Face fixtures (`core/tests/fixtures/hf/<family>/`, written by
/// `train/hf_fixtures.py` with `transformers`).
pub fn hf_fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf")
}

/// A Hugging Face fixture loaded through `hf::load_folder`, and its prompt ids.
/// Panics (it is for tests) when the folder is missing or does not load.
pub fn hf_fixture(family: &str) -> (crate::Model, Vec<u32>) {
    let dir = hf_fixtures_dir().join(family);
    let read =
        |name: &str| -> crate::Result<Option<Vec<u8>>> { Ok(std::fs::read(dir.join(name)).ok()) };
    let model = crate::hf::load_folder(read).unwrap_or_else(|e| panic!("{family}: {e}"));
    let golden: serde_json::Value = std::fs::read(dir.join("golden.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| panic!("{family}: golden.json"));
    let prompt = golden["prompt_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_u64())
                .map(|v| v as u32)
                .collect()
        })
        .unwrap_or_else(|| panic!("{family}: prompt_ids"));
    (model, prompt)
}
