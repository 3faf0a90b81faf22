//! The hub's URL layout, its listing, the files a model needs, and the estimate made
//! from a real fixture's config.json (core/tests/fixtures/hf, written by `transformers`).

use super::*;

const HUB: &str = "https://huggingface.co";

fn fixture(family: &str, file: &str) -> Vec<u8> {
    let path = format!(
        "{}/../core/tests/fixtures/hf/{family}/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn a_repository_is_read_from_an_id_or_its_address() {
    let r = RepoRef::parse(HUB, " HuggingFaceTB/SmolLM2-135M ", "").unwrap();
    assert_eq!(
        (r.repo.as_str(), r.revision.as_str()),
        ("HuggingFaceTB/SmolLM2-135M", "main")
    );
    assert_eq!(
        r.tree_url(),
        "https://huggingface.co/api/models/HuggingFaceTB/SmolLM2-135M/tree/main"
    );
    assert_eq!(
        r.file_url("config.json"),
        "https://huggingface.co/HuggingFaceTB/SmolLM2-135M/resolve/main/config.json"
    );
    let r = RepoRef::parse(
        "http://127.0.0.1:9/",
        "https://huggingface.co/ibm-granite/granite-4.0-h-350m/tree/v1.0",
        "",
    )
    .unwrap();
    assert_eq!(
        (r.repo.as_str(), r.revision.as_str()),
        ("ibm-granite/granite-4.0-h-350m", "v1.0")
    );
    assert_eq!(r.hub, "http://127.0.0.1:9");
    // a typed revision wins over the address's; "/" in a revision is escaped
    let r = RepoRef::parse(HUB, "a/b/blob/main/config.json", "refs/pr/1").unwrap();
    assert_eq!(
        r.file_url("x y.json"),
        "https://huggingface.co/a/b/resolve/refs%2Fpr%2F1/x%20y.json"
    );
    for bad in ["", "a/b/c", "../x", "a/b c", "https://huggingface.co/"] {
        let e = RepoRef::parse(HUB, bad, "").unwrap_err();
        assert!(e.contains("not a model repository"), "{bad}: {e}");
    }
    assert!(RepoRef::parse("ftp://x", "a/b", "")
        .unwrap_err()
        .contains("https://"));
}

#[test]
fn the_listing_gives_sizes_and_the_weights_entry() {
    // the shape of GET /api/models/{repo}/tree/{rev}: LFS files carry their real size
    let tree = br#"[
        {"type":"file","oid":"1","size":714,"path":"config.json"},
        {"type":"directory","oid":"2","size":0,"path":"onnx"},
        {"type":"file","oid":"3","size":135,"path":"model.safetensors","lfs":{"oid":"x","size":269060552,"pointerSize":135}},
        {"type":"file","oid":"4","size":2104556,"path":"tokenizer.json"}
    ]"#;
    let files = parse_tree(tree).unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[1].size, 269_060_552);
    assert_eq!(weights_entry(&files).unwrap(), WEIGHTS_FILE);
    let names = vec!["config.json".to_string(), WEIGHTS_FILE.to_string()];
    assert_eq!(listed_bytes(&files, &names), 269_061_266);

    let no_tokenizer: Vec<HubFile> = files
        .iter()
        .filter(|f| f.path != "tokenizer.json")
        .cloned()
        .collect();
    assert!(weights_entry(&no_tokenizer)
        .unwrap_err()
        .contains("no tokenizer.json"));
    let only_bin = parse_tree(br#"[{"type":"file","size":1,"path":"config.json"},{"type":"file","size":1,"path":"tokenizer.json"},{"type":"file","size":9,"path":"pytorch_model.bin"}]"#).unwrap();
    assert!(weights_entry(&only_bin)
        .unwrap_err()
        .contains("safetensors"));
    assert!(parse_tree(b"{}").unwrap_err().contains("array"));
    assert!(parse_tree(br#"[{"type":"file","path":"x"}]"#)
        .unwrap_err()
        .contains("size"));
}

#[test]
fn config_json_gives_family_plan_and_memory_before_the_weights() {
    let p = Preview::read("bamba", &fixture("bamba", "config.json")).unwrap();
    assert_eq!(p.architecture.as_deref(), Some("BambaForCausalLM"));
    // attn_layer_indices [1] of 3 layers, an FFN in each
    assert_eq!(p.plan(), "M+F A+F M+F");
    let weights = fixture("bamba", "model.safetensors").len() as u64;
    let e = Estimate::new(&p.config, weights, 100);
    assert_eq!(e.f32_weights, 4 * p.config.param_count_u64());
    // bf16 file: about 2 bytes a parameter (plus the header)
    assert!(e.download > 2 * p.config.param_count_u64() && e.download < e.f32_weights);
    // one attention layer: K and V of 2 heads x 8 dims (dh = 32/4) per token, f32
    let kv_per_token = 2 * 2 * 8 * 4;
    let ssm_and_conv = e.state - 100 * kv_per_token;
    assert_eq!(
        Estimate::new(&p.config, weights, 200).state,
        200 * kv_per_token + ssm_and_conv
    );
    assert_eq!(e.page, e.download + e.f32_weights);
    assert!(e.fits());

    let nemotron = Preview::read("n", &fixture("nemotron_h", "config.json")).unwrap();
    assert!(
        nemotron.plan().contains('M') && nemotron.plan().contains('A'),
        "{}",
        nemotron.plan()
    );
    // an unsupported key is the importer's error, naming it
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&fixture("llama", "config.json")).unwrap();
    cfg["rope_scaling"] = serde_json::json!({"rope_type": "llama3", "factor": 8.0});
    let e = Preview::read("llama", cfg.to_string().as_bytes()).unwrap_err();
    assert!(e.contains("rope_scaling"), "{e}");
}

#[test]
fn a_hugging_face_folder_builds_a_model_and_extra_files_are_ignored() {
    let files: Vec<(String, Vec<u8>)> = [
        "config.json",
        "tokenizer.json",
        "model.safetensors",
        "golden.json",
    ]
    .iter()
    .map(|f| (f.to_string(), fixture("granitemoehybrid", f)))
    .collect();
    let named: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let b = crate::engine::Backend::cpu_from_folder("granite", &named).unwrap();
    assert_eq!(b.config().vocab_size, 256);
    // without its weights: the error names the file
    let e = crate::engine::Backend::cpu_from_folder("granite", &named[..2])
        .err()
        .unwrap();
    assert!(e.contains("model.safetensors"), "{e}");
}
