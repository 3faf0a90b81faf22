//! `LlamaForCausalLM` (Llama 2/3 layout, SmolLM2): pre-norm attention (GQA, RoPE) and
//! SwiGLU blocks, the engine's Transformer exactly.
//!
//! | Hugging Face | engine |
//! |---|---|
//! | `model.embed_tokens.weight` | `embed_tokens` |
//! | `model.layers.{i}.input_layernorm.weight` | block `mixer_norm` |
//! | `model.layers.{i}.self_attn.{q,k,v,o}_proj.weight` | attention |
//! | `model.layers.{i}.post_attention_layernorm.weight` | FFN `norm` |
//! | `model.layers.{i}.mlp.{gate,up,down}_proj.weight` | FFN |
//! | `model.norm.weight`, `lm_head.weight` | `norm_f`, `lm_head` (or tied) |

use serde_json::{json, Value};

use super::blocks::{attention, head, swiglu};
use super::common::attention_keys;
use super::keys::Keys;
use super::tensors::Checkpoint;
use crate::config::{LayerKind, ModelConfig};
use crate::error::{Error, Result};
use crate::weights::{Block, Mixer, Weights};

/// `LlamaConfig`'s defaults for the keys read here.
pub(super) fn defaults() -> Value {
    json!({
        "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008,
        "num_hidden_layers": 32, "num_attention_heads": 32, "hidden_act": "silu",
        "max_position_embeddings": 2048, "rms_norm_eps": 1e-6, "tie_word_embeddings": false,
        "rope_theta": 10000.0, "attention_bias": false, "mlp_bias": false,
    })
}

/// The engine's config for a Llama `config.json`.
pub(super) fn config(k: &mut Keys, name: Option<String>) -> Result<ModelConfig> {
    let attn = attention_keys(k)?;
    attn.full_rope(k)?;
    k.expect("mlp_bias", &[json!(false)])?;
    // SmolLM2's configs carry these two nanotron flags
    k.expect("rope_interleaved", &[json!(false)])?;
    k.no_effect(&["is_llama_config", "attention_dropout", "pretraining_tp"]);
    let layers = vec![LayerKind::Attention; attn.layers];
    let d_ffn = k.usize("intermediate_size")?;
    attn.model(k, name, d_ffn, layers)
}

/// The weights of a Llama checkpoint for `cfg` (from [`config`]).
pub(super) fn weights(cfg: &ModelConfig, ck: &mut Checkpoint) -> Result<Weights> {
    let (d, f) = (cfg.d_model, cfg.d_ffn);
    let a = cfg
        .attn_dims()
        .ok_or_else(|| Error::Config("no attention section".into()))?;
    let embed_tokens = ck.take("model.embed_tokens.weight", &[cfg.vocab_size, d])?;
    let mut blocks = Vec::with_capacity(cfg.layers.len());
    for i in 0..cfg.layers.len() {
        let p = format!("model.layers.{i}.");
        // buffers that older checkpoints saved; recomputed from rope_theta
        ck.skip(&format!("{p}self_attn.rotary_emb.inv_freq"));
        blocks.push(Block {
            mixer_norm: ck.take(&format!("{p}input_layernorm.weight"), &[d])?,
            mixer: Mixer::Attention(Box::new(attention(ck, &format!("{p}self_attn."), a, d)?)),
            ffn: Some(swiglu(
                ck,
                &format!("{p}post_attention_layernorm.weight"),
                &format!("{p}mlp."),
                d,
                f,
            )?),
        });
    }
    Ok(Weights {
        embed_tokens,
        blocks,
        norm_f: ck.take("model.norm.weight", &[d])?,
        lm_head: head(ck, cfg, "lm_head.weight")?,
    })
}
