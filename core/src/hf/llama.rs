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
use super::keys::Keys;
use super::rope::rope;
use super::tensors::Checkpoint;
use crate::config::{AttentionConfig, LayerKind, ModelConfig};
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
    let d = k.usize("hidden_size")?;
    let n_heads = k.usize("num_attention_heads")?;
    let n_kv_heads = k.opt_usize("num_key_value_heads")?.unwrap_or(n_heads);
    let head_dim = match k.opt_usize("head_dim")? {
        Some(h) => h,
        None => d.checked_div(n_heads).unwrap_or(0),
    };
    k.expect("hidden_act", &[json!("silu")])?;
    k.expect("attention_bias", &[json!(false)])?;
    k.expect("mlp_bias", &[json!(false)])?;
    // SmolLM2's configs carry these two nanotron flags
    k.expect("rope_interleaved", &[json!(false)])?;
    k.no_effect(&["is_llama_config", "attention_dropout", "pretraining_tp"]);
    let (rope_theta, partial) = rope(k)?;
    if partial != 1.0 {
        return Err(k.refuse("partial_rotary_factor", &json!(partial), "1"));
    }
    let layers = k.usize("num_hidden_layers")?;
    Ok(ModelConfig {
        name,
        vocab_size: k.usize("vocab_size")?,
        d_model: d,
        d_ffn: k.usize("intermediate_size")?,
        norm_eps: k.f32("rms_norm_eps")?,
        tie_embeddings: k.bool("tie_word_embeddings")?,
        max_seq_len: k.opt_usize("max_position_embeddings")?,
        layers: vec![LayerKind::Attention; layers],
        attention: Some(AttentionConfig {
            n_heads,
            n_kv_heads,
            head_dim,
            v_head_dim: None,
            rope_theta,
            window: None,
            sink_tokens: 0,
            rope_dim: None,
            scale: None,
        }),
        mamba: None,
        intra: None,
        windows: None,
        embed_scale: None,
        residual_scale: None,
        logit_scale: None,
        notes: None,
    })
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
