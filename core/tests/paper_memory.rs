//! The paper's 1B models (`assets/configs/paper-*.json`): the analytic KV cache + SSM state
//! at bf16 against the cache the paper reports at 8K and 32K tokens (MiB). Each config's
//! `notes` say what the paper states and what was assumed.

use std::path::PathBuf;

use hybrid_core::ModelConfig;

const MIB: f64 = (1u64 << 20) as f64;

fn config(name: &str) -> ModelConfig {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/configs")
        .join(format!("{name}.json"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ModelConfig::from_json(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// KV cache + SSM state at bf16 after 8K and 32K tokens, in MiB.
fn cache_mib(cfg: &ModelConfig) -> [f64; 2] {
    [8192, 32768].map(|t| cfg.kv_and_ssm_bytes(t, 2) as f64 / MIB)
}

#[test]
fn analytic_cache_matches_the_paper_within_3_percent() {
    // (config, the paper's MiB at 8K and 32K)
    let paper = [
        ("paper-transformer", [256.0, 1024.0]),
        ("paper-swa", [63.0, 207.0]),
        ("paper-mamba2", [13.0, 13.0]),
        ("paper-inter", [43.0, 139.0]),
    ];
    let mut report = Vec::new();
    for (name, want) in paper {
        let got = cache_mib(&config(name));
        for (g, w) in got.iter().zip(want) {
            let rel = (g - w) / w;
            report.push(format!("{name}: {g:.1} MiB vs {w} ({:+.1}%)", 100.0 * rel));
            assert!(rel.abs() <= 0.03, "{}", report.join("\n"));
        }
    }
    println!("{}", report.join("\n"));
}

/// The intra model cannot match the paper with a config faithful to its description (its
/// `notes.mismatch` and docs/FORMAT.md say why): the gap is pinned here, so that a change
/// of the config or of the size formulas shows up, and stays named rather than hidden.
#[test]
fn intra_cache_gap_is_the_documented_one() {
    let cfg = config("paper-intra");
    let [a, b] = cache_mib(&cfg);
    assert_eq!((a, b), (36.0, 108.0), "paper-intra now holds {a} / {b} MiB");
    let mismatch = cfg
        .notes
        .as_ref()
        .and_then(|n| n.get("mismatch"))
        .expect("paper-intra.json notes the mismatch");
    assert!(mismatch.contains("36 / 108") && mismatch.contains("38 / 113"));
    // the value heads are the paper's "V full": the branch's values span d_model
    let a = cfg.intra_attn_dims().expect("intra attention");
    assert_eq!(a.o_dim(), cfg.d_model);
    assert!(a.head_dim < a.v_head_dim);
}

#[test]
fn paper_models_are_1b_class_and_swa_mixes_windows_with_global_layers() {
    for name in [
        "paper-transformer",
        "paper-swa",
        "paper-mamba2",
        "paper-inter",
        "paper-intra",
    ] {
        let p = config(name).param_count() as f64;
        assert!((0.7e9..1.3e9).contains(&p), "{name}: {p} parameters");
    }
    let swa = config("paper-swa");
    let global = (0..swa.layers.len())
        .filter(|&i| swa.layer_window(i).is_none())
        .count();
    assert_eq!((global, swa.layers.len()), (3, 18));
}
