//! `Mamba2ForCausalLM`: pre-norm Mamba-2 blocks with no FFN and no positional encoding.
//! The mixer's tensors have the engine's names; its gated RMSNorm normalizes groups of
//! `E / n_groups` channels, as the engine's does.
//!
//! | Hugging Face | engine |
//! |---|---|
//! | `backbone.embeddings.weight` | `embed_tokens` |
//! | `backbone.layers.{i}.norm.weight` | block `mixer_norm` |
//! | `backbone.layers.{i}.mixer.*` | Mamba-2 mixer (same names) |
//! | `backbone.norm_f.weight`, `lm_head.weight` | `norm_f`, `lm_head` (or tied) |

use serde_json::{json, Value};

use super::blocks::{head, mamba};
use super::keys::Keys;
use super::tensors::Checkpoint;
use crate::config::{FfnAct, LayerKind, MambaConfig, ModelConfig};
use crate::error::{Error, Result};
use crate::weights::{Block, Mixer, Weights};

/// `Mamba2Config`'s defaults for the keys read here.
pub(super) fn defaults() -> Value {
    json!({
        "num_heads": 128, "head_dim": 64, "vocab_size": 32768, "hidden_size": 4096,
        "state_size": 128, "num_hidden_layers": 64, "layer_norm_epsilon": 1e-5,
        "expand": 2, "conv_kernel": 4, "n_groups": 8, "use_bias": false,
        "use_conv_bias": true, "hidden_act": "silu", "rms_norm": true,
        "tie_word_embeddings": true,
    })
}

/// What the weights need beyond the engine's config.
pub(super) struct Options {
    /// `use_conv_bias`.
    pub conv_bias: bool,
}

/// The engine's config for a Mamba-2 `config.json`.
pub(super) fn config(k: &mut Keys, name: Option<String>) -> Result<(ModelConfig, Options)> {
    let d = k.usize("hidden_size")?;
    let n_heads = k.usize("num_heads")?;
    let head_dim = k.usize("head_dim")?;
    let expand = k.usize("expand")?;
    if n_heads.checked_mul(head_dim) != expand.checked_mul(d) {
        return Err(Error::Config(format!(
            "Mamba2ForCausalLM: `num_heads` * `head_dim` = {n_heads} * {head_dim} differs from `expand` * `hidden_size` = {expand} * {d}: not supported"
        )));
    }
    k.expect("hidden_act", &[json!("silu")])?;
    k.expect("use_bias", &[json!(false)])?;
    k.expect("rms_norm", &[json!(true)])?;
    dt_limit_is_open(k, "time_step_limit")?;
    // training-only settings, and numerics-only ones (chunk_size: the scan's blocking)
    k.no_effect(&[
        "time_step_min",
        "time_step_max",
        "time_step_floor",
        "time_step_rank",
        "rescale_prenorm_residual",
        "residual_in_fp32",
        "chunk_size",
        "norm_before_gate",
        "emb_dropout",
    ]);
    let conv_bias = k.bool("use_conv_bias")?;
    let layers = k.usize("num_hidden_layers")?;
    let cfg = ModelConfig {
        name,
        vocab_size: k.usize("vocab_size")?,
        d_model: d,
        d_ffn: 0,
        ffn_act: FfnAct::Swiglu,
        ffn_layers: None,
        norm_eps: k.f32("layer_norm_epsilon")?,
        tie_embeddings: k.bool("tie_word_embeddings")?,
        max_seq_len: None,
        layers: vec![LayerKind::Mamba; layers],
        attention: None,
        mamba: Some(MambaConfig {
            d_state: k.usize("state_size")?,
            head_dim,
            expand,
            n_groups: k.usize("n_groups")?,
            conv_width: k.usize("conv_kernel")?,
            // transformers' inference path normalizes all E channels at once, whatever
            // n_groups (MambaRMSNormGated has no group size)
            norm_groups: Some(1),
        }),
        intra: None,
        windows: None,
        embed_scale: None,
        residual_scale: None,
        logit_scale: None,
        notes: None,
    };
    Ok((cfg, Options { conv_bias }))
}

/// `key` = [lo, hi], the clamp of dt after softplus, must change nothing: lo <= 0 and
/// hi = infinity (the default, `(0.0, inf)`).
pub(super) fn dt_limit_is_open(k: &mut Keys, key: &str) -> Result<()> {
    let Some(v) = k.get(key) else { return Ok(()) };
    let open = match v.as_array().map(Vec::as_slice) {
        Some([lo, hi]) => matches!(
            (super::keys::number(lo), super::keys::number(hi)),
            (Some(lo), Some(hi)) if lo <= 0.0 && hi == f32::INFINITY
        ),
        _ => false,
    };
    if open {
        Ok(())
    } else {
        Err(k.refuse(key, &v, "[0.0, Infinity]: no clamp of dt"))
    }
}

/// The weights of a Mamba-2 checkpoint for `cfg` (from [`config`]).
pub(super) fn weights(cfg: &ModelConfig, opts: &Options, ck: &mut Checkpoint) -> Result<Weights> {
    let d = cfg.d_model;
    let m = cfg
        .mamba_dims()
        .ok_or_else(|| Error::Config("no mamba section".into()))?;
    let embed_tokens = ck.take("backbone.embeddings.weight", &[cfg.vocab_size, d])?;
    let mut blocks = Vec::with_capacity(cfg.layers.len());
    for i in 0..cfg.layers.len() {
        let p = format!("backbone.layers.{i}.");
        let mixer = mamba(ck, &format!("{p}mixer."), m, d, (opts.conv_bias, true))?;
        blocks.push(Block {
            mixer_norm: ck.take(&format!("{p}norm.weight"), &[d])?,
            mixer: Mixer::Mamba(Box::new(mixer)),
            ffn: None,
        });
    }
    Ok(Weights {
        embed_tokens,
        blocks,
        norm_f: ck.take("backbone.norm_f.weight", &[d])?,
        lm_head: head(ck, cfg, "lm_head.weight")?,
    })
}
