//! The config keys that the attention families share under Llama's names: width, layers,
//! heads, RoPE, norm epsilon, head tying, context length.

use serde_json::json;

use super::keys::Keys;
use super::rope::rope;
use crate::config::{AttentionConfig, FfnAct, LayerKind, ModelConfig};
use crate::error::Result;

/// What [`attention_keys`] reads.
pub(super) struct Attn {
    /// `hidden_size`.
    pub d: usize,
    /// `num_hidden_layers`.
    pub layers: usize,
    /// Heads, `head_dim` (absent = hidden / heads), RoPE's theta; full RoPE, no scale.
    pub config: AttentionConfig,
    /// `partial_rotary_factor`.
    pub partial: f32,
}

/// `hidden_size`, `num_hidden_layers`, `num_attention_heads`, `num_key_value_heads`
/// (absent = heads), `head_dim`, RoPE; `hidden_act` must be "silu" and `attention_bias`
/// false.
pub(super) fn attention_keys(k: &mut Keys) -> Result<Attn> {
    let d = k.usize("hidden_size")?;
    let n_heads = k.usize("num_attention_heads")?;
    let n_kv_heads = k.opt_usize("num_key_value_heads")?.unwrap_or(n_heads);
    let head_dim = k
        .opt_usize("head_dim")?
        .unwrap_or(d.checked_div(n_heads).unwrap_or(0));
    k.expect("hidden_act", &[json!("silu")])?;
    k.expect("attention_bias", &[json!(false)])?;
    let (rope_theta, partial) = rope(k)?;
    Ok(Attn {
        d,
        layers: k.usize("num_hidden_layers")?,
        config: AttentionConfig {
            n_heads,
            n_kv_heads,
            head_dim,
            v_head_dim: None,
            rope_theta,
            window: None,
            sink_tokens: 0,
            rope_dim: None,
            scale: None,
        },
        partial,
    })
}

impl Attn {
    /// Refuse a partial RoPE (the families that rotate whole heads).
    pub(super) fn full_rope(&self, k: &Keys) -> Result<()> {
        if self.partial == 1.0 {
            Ok(())
        } else {
            Err(k.refuse("partial_rotary_factor", &json!(self.partial), "1"))
        }
    }

    /// The engine's config with these attention settings, `layers`, an FFN of `d_ffn`,
    /// and `vocab_size`, `rms_norm_eps`, `tie_word_embeddings`, `max_position_embeddings`;
    /// no Mamba or intra section and no scales (the family adds them).
    pub(super) fn model(
        self,
        k: &mut Keys,
        name: Option<String>,
        d_ffn: usize,
        layers: Vec<LayerKind>,
    ) -> Result<ModelConfig> {
        Ok(ModelConfig {
            name,
            vocab_size: k.usize("vocab_size")?,
            d_model: self.d,
            d_ffn,
            ffn_act: FfnAct::Swiglu,
            ffn_layers: None,
            norm_eps: k.f32("rms_norm_eps")?,
            tie_embeddings: k.bool("tie_word_embeddings")?,
            max_seq_len: k.opt_usize("max_position_embeddings")?,
            layers,
            attention: Some(self.config),
            mamba: None,
            intra: None,
            windows: None,
            embed_scale: None,
            residual_scale: None,
            logit_scale: None,
            notes: None,
        })
    }
}
