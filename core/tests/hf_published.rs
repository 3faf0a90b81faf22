//! The Hugging Face `config.json` files of assets/configs/hf/ (Granite-4.0-H-350M and
//! Falcon-H1-0.5B at their published dimensions; the H200 benchmark runs them with random
//! weights) are accepted by the importer, map to the published parameter counts, and keep
//! their layer plans: 4 attention layers among 32 for Granite, 36 intra layers for Falcon.

use std::path::Path;

use hybrid_core::config::LayerKind;
use hybrid_core::hf;

fn config(name: &str) -> hybrid_core::config::ModelConfig {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/configs/hf")
        .join(name)
        .join("config.json");
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    hf::config(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn count(cfg: &hybrid_core::config::ModelConfig, kind: LayerKind) -> usize {
    cfg.layers.iter().filter(|k| **k == kind).count()
}

/// Within 1% of the count the model card gives (it rounds).
fn near(got: usize, published: f64) -> bool {
    (got as f64 - published).abs() <= 0.01 * published
}

#[test]
fn granite_4_0_h_350m_has_its_published_shape() {
    let cfg = config("granite-4.0-h-350m");
    assert_eq!(cfg.layers.len(), 32);
    assert_eq!(count(&cfg, LayerKind::Attention), 4);
    assert_eq!(count(&cfg, LayerKind::Mamba), 28);
    // NoPE: "position_embedding_type": "nope"
    assert_eq!(cfg.attention.as_ref().and_then(|a| a.rope_dim), Some(0));
    let p = cfg.param_count();
    assert!(near(p, 340e6), "{p} parameters, the model card says 340M");
}

#[test]
fn falcon_h1_0_5b_has_its_published_shape() {
    let cfg = config("falcon-h1-0.5b");
    assert_eq!(cfg.layers.len(), 36);
    assert_eq!(count(&cfg, LayerKind::Intra), 36);
    assert_eq!(cfg.mamba.as_ref().map(|m| m.head_dim), Some(64));
    let p = cfg.param_count();
    assert!(near(p, 0.52e9), "{p} parameters, the model card says 0.52B");
}
