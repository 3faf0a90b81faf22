//! `BambaForCausalLM` (IBM Bamba): Mamba-2 layers with attention at `attn_layer_indices`,
//! a SwiGLU FFN in every layer, RoPE on half of each attention head.
//!
//! | Hugging Face (`model.layers.{i}.` prefix) | engine |
//! |---|---|
//! | `input_layernorm.weight` | block `mixer_norm` |
//! | `mamba.*` or `self_attn.{q,k,v,o}_proj.weight` | Mamba-2 or attention mixer |
//! | `pre_ff_layernorm.weight`, `feed_forward.{gate,up,down}_proj.weight` | FFN |
//! | `model.embed_tokens.weight`, `model.final_layernorm.weight`, `lm_head.weight` | `embed_tokens`, `norm_f`, `lm_head` |

use serde_json::{json, Value};

use super::common::attention_keys;
use super::hybrid::{mamba_defaults, mamba_keys, FfnNames, Names};
use super::keys::Keys;
use crate::config::{LayerKind, ModelConfig};
use crate::error::{Error, Result};

/// `BambaConfig`'s defaults for the keys read here.
pub(super) fn defaults() -> Value {
    let mut d = json!({
        "vocab_size": 128000, "tie_word_embeddings": false, "hidden_size": 4096,
        "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
        "num_key_value_heads": 8, "hidden_act": "silu", "rms_norm_eps": 1e-5,
        "max_position_embeddings": 262144, "rope_theta": 10000.0,
        // the config class sets it whatever the file says
        "partial_rotary_factor": 0.5,
        "attention_bias": false, "mlp_bias": false,
    });
    if let (Some(o), Value::Object(m)) = (d.as_object_mut(), mamba_defaults()) {
        o.extend(m);
    }
    d
}

/// The tensor names.
pub(super) const NAMES: Names = Names {
    final_norm: "model.final_layernorm.weight",
    ffn_norm: "pre_ff_layernorm",
    ffn: FfnNames::Separate("feed_forward."),
};

/// The engine's config for a Bamba `config.json`, and whether the conv has a bias.
pub(super) fn config(k: &mut Keys, name: Option<String>) -> Result<(ModelConfig, bool)> {
    let mut attn = attention_keys(k)?;
    attn.config.rope_dim = Some(rotary_dim(attn.config.head_dim, attn.partial)?);
    let mut kinds = vec![LayerKind::Mamba; attn.layers];
    if let Some(v) = k.get("attn_layer_indices") {
        let bad = || k.refuse("attn_layer_indices", &v, "a list of layer indices");
        for i in v.as_array().ok_or_else(bad)? {
            let i = i.as_u64().and_then(|i| usize::try_from(i).ok());
            *i.and_then(|i| kinds.get_mut(i)).ok_or_else(bad)? = LayerKind::Attention;
        }
    }
    k.expect("mlp_bias", &[json!(false)])?;
    k.no_effect(&[
        "attention_dropout",
        "num_logits_to_keep",
        "z_loss_coefficient",
    ]);
    let (mamba, conv_bias) = mamba_keys(k, attn.d)?;
    let d_ffn = k.usize("intermediate_size")?;
    let mut cfg = attn.model(k, name, d_ffn, kinds)?;
    cfg.mamba = Some(mamba);
    Ok((cfg, conv_bias))
}

/// Dims of each head rotated: `int(head_dim * partial_rotary_factor)`, as transformers
/// computes it; it must be even (rotate-half).
pub(super) fn rotary_dim(head_dim: usize, partial: f32) -> Result<usize> {
    let r = (head_dim as f64 * f64::from(partial)) as usize;
    if r.is_multiple_of(2) {
        Ok(r)
    } else {
        Err(Error::Config(format!(
            "partial_rotary_factor = {partial} rotates {r} of {head_dim} dims: an odd count is not supported"
        )))
    }
}
