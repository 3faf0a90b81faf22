//! Properties of the Hugging Face importer (`hybrid_core::hf`) on mutated copies of the
//! fixtures that `transformers` wrote (core/tests/fixtures/hf/).

use super::*;

/// Keys of the families' configs worth adding or breaking.
const HF_KEYS: &[&str] = &[
    "architectures",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "intermediate_size",
    "rope_parameters",
    "rope_theta",
    "rope_scaling",
    "partial_rotary_factor",
    "tie_word_embeddings",
    "num_heads",
    "n_groups",
    "state_size",
    "expand",
    "time_step_limit",
    "attn_layer_indices",
    "layer_types",
    "layers_block_type",
    "hybrid_override_pattern",
    "mamba_n_heads",
    "mamba_d_head",
    "mamba_d_ssm",
    "mamba_n_groups",
    "ssm_multipliers",
    "mlp_multipliers",
    "embedding_multiplier",
    "logits_scaling",
    "attention_multiplier",
    "position_embedding_type",
    "num_local_experts",
];

/// The HF fixtures: (config.json, model.safetensors) of every family.
fn hf_fixtures() -> &'static [(Vec<u8>, Vec<u8>)] {
    static F: OnceLock<Vec<(Vec<u8>, Vec<u8>)>> = OnceLock::new();
    F.get_or_init(|| {
        let dir = hybrid_core::testing::hf_fixtures_dir();
        let mut all: Vec<(Vec<u8>, Vec<u8>)> = std::fs::read_dir(&dir)
            .expect("core/tests/fixtures/hf")
            .filter_map(|e| {
                let p = e.ok()?.path();
                Some((
                    std::fs::read(p.join("config.json")).ok()?,
                    std::fs::read(p.join("model.safetensors")).ok()?,
                ))
            })
            .collect();
        all.sort();
        assert!(all.len() >= 6, "Hugging Face fixtures missing");
        all
    })
}

#[test]
fn mutated_hf_configs_never_panic() {
    let edit = prop_oneof![
        3 => prop::collection::vec(json_edit(HF_KEYS), 1..4).prop_map(Ok),
        1 => prop::collection::vec(byte_edit(), 1..4).prop_map(Err),
    ];
    let (n, accepted) = run((any::<Index>(), edit), |(fixture, edit)| {
        let (cfg, weights) = &hf_fixtures()[fixture.index(hf_fixtures().len())];
        let bytes = match edit {
            Ok(edits) => {
                let mut v = hybrid_core::hf::parse_json(cfg).expect("fixture config");
                edits.iter().for_each(|e| apply_json(&mut v, e));
                serde_json::to_vec(&v).expect("json")
            }
            Err(edits) => {
                let mut b = cfg.clone();
                edits.iter().for_each(|e| apply_bytes(&mut b, e));
                b
            }
        };
        fuzz::hf_checkpoint(&bytes, weights);
        hybrid_core::hf::config(&bytes).is_ok()
    });
    assert!(accepted > 0 && accepted < n, "{accepted} of {n} accepted");
}

#[test]
fn mutated_hf_weights_never_panic() {
    let edits = prop::collection::vec(byte_edit(), 1..4);
    run((any::<Index>(), edits), |(fixture, edits)| {
        let (cfg, weights) = &hf_fixtures()[fixture.index(hf_fixtures().len())];
        let mut w = weights.clone();
        edits.iter().for_each(|e| apply_bytes(&mut w, e));
        fuzz::hf_checkpoint(cfg, &w);
        false
    });
}
