//! `GraniteMoeHybridForCausalLM`, its dense members (IBM Granite-4.0-H with
//! `num_local_experts` = 0): Mamba-2 and attention layers by `layer_types`, the shared
//! SwiGLU MLP in every layer, no positional encoding unless `position_embedding_type` is
//! "rope" (absent or "nope": none), and Granite's four scalars.
//!
//! | Hugging Face | engine |
//! |---|---|
//! | `embedding_multiplier` | `embed_scale` |
//! | `residual_multiplier` | `residual_scale` (mixer and FFN outputs) |
//! | `attention_multiplier` | `attention.scale` (replaces 1/sqrt(dh)) |
//! | `logits_scaling` | `logit_scale` = 1 / logits_scaling |
//! | `model.layers.{i}.input_layernorm.weight` | block `mixer_norm` |
//! | `model.layers.{i}.mamba.*`, `self_attn.{q,k,v,o}_proj.weight` | mixer |
//! | `model.layers.{i}.post_attention_layernorm.weight` | FFN `norm` |
//! | `model.layers.{i}.shared_mlp.input_linear.weight` [2F, D] | FFN `gate_proj` (rows 0..F), `up_proj` (rows F..2F) |
//! | `model.layers.{i}.shared_mlp.output_linear.weight` | FFN `down_proj` |
//! | `model.embed_tokens.weight`, `model.norm.weight`, `lm_head.weight` | `embed_tokens`, `norm_f`, `lm_head` |

use serde_json::{json, Value};

use super::common::attention_keys;
use super::hybrid::{mamba_defaults, mamba_keys, FfnNames, Names};
use super::keys::Keys;
use crate::config::{LayerKind, ModelConfig};
use crate::error::Result;

/// `GraniteMoeHybridConfig`'s defaults for the keys read here.
pub(super) fn defaults() -> Value {
    let mut d = json!({
        "vocab_size": 32000, "hidden_size": 4096, "num_hidden_layers": 32,
        "num_attention_heads": 32, "hidden_act": "silu", "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-6, "tie_word_embeddings": false, "rope_theta": 10000.0,
        "attention_bias": false, "embedding_multiplier": 1.0, "logits_scaling": 1.0,
        "residual_multiplier": 1.0, "attention_multiplier": 1.0, "num_local_experts": 8,
        "shared_intermediate_size": 1024,
    });
    if let (Some(o), Value::Object(m)) = (d.as_object_mut(), mamba_defaults()) {
        o.extend(m);
    }
    d
}

/// The tensor names.
pub(super) const NAMES: Names = Names {
    final_norm: "model.norm.weight",
    ffn_norm: "post_attention_layernorm",
    ffn: FfnNames::Fused("shared_mlp."),
};

/// The engine's config for a Granite-4.0-H `config.json`, and whether the conv has a bias.
pub(super) fn config(k: &mut Keys, name: Option<String>) -> Result<(ModelConfig, bool)> {
    let mut attn = attention_keys(k)?;
    attn.full_rope(k)?;
    // mixture-of-experts members are refused: only the shared MLP maps
    k.expect("num_local_experts", &[json!(0)])?;
    k.no_effect(&[
        "intermediate_size",
        "num_experts_per_tok",
        "output_router_logits",
        "router_aux_loss_coef",
        "attention_dropout",
    ]);
    let kinds = match k.get("layer_types") {
        None => vec![LayerKind::Mamba; attn.layers],
        Some(v) => {
            let kinds: Option<Vec<LayerKind>> = v.as_array().and_then(|a| {
                a.iter()
                    .map(|t| match t.as_str()? {
                        "mamba" | "linear_attention" => Some(LayerKind::Mamba),
                        "attention" | "full_attention" => Some(LayerKind::Attention),
                        _ => None,
                    })
                    .collect()
            });
            match kinds {
                Some(kinds) if kinds.len() == attn.layers => kinds,
                _ => {
                    return Err(k.refuse(
                        "layer_types",
                        &v,
                        "one of \"mamba\" / \"linear_attention\" or \"attention\" / \"full_attention\" per layer",
                    ))
                }
            }
        }
    };
    // transformers builds RoPE only for "rope"; the published Granite-4.0-H files say "nope"
    k.expect("position_embedding_type", &[json!("rope"), json!("nope")])?;
    if k.get("position_embedding_type") != Some(json!("rope")) {
        attn.config.rope_dim = Some(0);
    }
    // IBM's own keys in the published files: the norm is RMSNorm in transformers whatever
    // this says, so only "rmsnorm" is the same model; `init_method` is training-only
    k.expect("normalization_function", &[json!("rmsnorm")])?;
    k.no_effect(&["init_method"]);
    attn.config.scale = Some(k.f32("attention_multiplier")?);
    let (mamba, conv_bias) = mamba_keys(k, attn.d)?;
    let d_ffn = k.usize("shared_intermediate_size")?;
    let mut cfg = attn.model(k, name, d_ffn, kinds)?;
    cfg.mamba = Some(mamba);
    cfg.embed_scale = Some(k.f32("embedding_multiplier")?);
    cfg.residual_scale = Some(k.f32("residual_multiplier")?);
    cfg.logit_scale = Some(1.0 / k.f32("logits_scaling")?);
    Ok((cfg, conv_bias))
}
