//! What the sequential hybrids (`BambaForCausalLM`, `GraniteMoeHybridForCausalLM`) share:
//! their `mamba_*` config keys and their layout, a pre-norm mixer (Mamba-2 under `mamba.`,
//! attention under `self_attn.`) and a pre-norm SwiGLU FFN in every layer.

use serde_json::{json, Value};

use super::blocks::{attention, head, mamba, swiglu};
use super::keys::Keys;
use super::mamba2::dt_limit_is_open;
use super::tensors::Checkpoint;
use crate::config::{LayerKind, MambaConfig, ModelConfig};
use crate::error::{Error, Result};
use crate::weights::{Block, Ffn, Mixer, Tensor, Weights};

/// The class defaults of the `mamba_*` keys (equal in both config classes).
pub(super) fn mamba_defaults() -> Value {
    json!({
        "mamba_n_heads": 128, "mamba_d_head": "auto", "mamba_n_groups": 1,
        "mamba_d_state": 256, "mamba_d_conv": 4, "mamba_expand": 2,
        "mamba_conv_bias": true, "mamba_proj_bias": false,
    })
}

/// The Mamba section from the `mamba_*` keys of a model of width `d`, and whether the
/// conv has a bias.
pub(super) fn mamba_keys(k: &mut Keys, d: usize) -> Result<(MambaConfig, bool)> {
    let n_heads = k.usize("mamba_n_heads")?;
    let expand = k.usize("mamba_expand")?;
    let e = expand.saturating_mul(d);
    let head_dim = k.usize_or_auto("mamba_d_head", e.checked_div(n_heads).unwrap_or(0))?;
    if n_heads.checked_mul(head_dim) != Some(e) {
        return Err(Error::Config(format!(
            "`mamba_n_heads` * `mamba_d_head` = {n_heads} * {head_dim} differs from `mamba_expand` * `hidden_size` = {e}: not supported"
        )));
    }
    k.expect("mamba_proj_bias", &[json!(false)])?;
    dt_limit_is_open(k, "time_step_limit")?;
    k.no_effect(&[
        "mamba_chunk_size",
        "time_step_min",
        "time_step_max",
        "time_step_floor",
    ]);
    let conv_bias = k.bool("mamba_conv_bias")?;
    let cfg = MambaConfig {
        d_state: k.usize("mamba_d_state")?,
        head_dim,
        expand,
        n_groups: k.usize("mamba_n_groups")?,
        conv_width: k.usize("mamba_d_conv")?,
        // the gated norm of transformers' inference path spans all E channels
        norm_groups: Some(1),
    };
    Ok((cfg, conv_bias))
}

/// Where a family keeps its FFN.
pub(super) enum FfnNames {
    /// `{p}{prefix}gate_proj`, `up_proj`, `down_proj`.
    Separate(&'static str),
    /// `{p}{prefix}input_linear` = [gate; up] [2F, D] and `output_linear` [D, F].
    Fused(&'static str),
}

/// A family's tensor names (after `model.layers.{i}.` for the per-layer ones).
pub(super) struct Names {
    pub final_norm: &'static str,
    pub ffn_norm: &'static str,
    pub ffn: FfnNames,
}

/// The weights of a sequential hybrid for `cfg`.
pub(super) fn weights(
    cfg: &ModelConfig,
    conv_bias: bool,
    names: &Names,
    ck: &mut Checkpoint,
) -> Result<Weights> {
    let (d, f) = (cfg.d_model, cfg.d_ffn);
    let missing = || Error::Config("a layer kind has no config section".into());
    let embed_tokens = ck.take("model.embed_tokens.weight", &[cfg.vocab_size, d])?;
    let mut blocks = Vec::with_capacity(cfg.layers.len());
    for (i, kind) in cfg.layers.iter().enumerate() {
        let p = format!("model.layers.{i}.");
        let mixer = match kind {
            LayerKind::Attention => {
                let a = cfg.attn_dims().ok_or_else(missing)?;
                Mixer::Attention(Box::new(attention(ck, &format!("{p}self_attn."), a, d)?))
            }
            LayerKind::Mamba => {
                let m = cfg.mamba_dims().ok_or_else(missing)?;
                Mixer::Mamba(Box::new(mamba(
                    ck,
                    &format!("{p}mamba."),
                    m,
                    d,
                    (conv_bias, true),
                )?))
            }
            LayerKind::Intra => return Err(Error::Config("no intra layers here".into())),
        };
        let norm = format!("{p}{}.weight", names.ffn_norm);
        let ffn = match names.ffn {
            FfnNames::Separate(pre) => swiglu(ck, &norm, &format!("{p}{pre}"), d, f)?,
            FfnNames::Fused(pre) => {
                let both = ck.take(&format!("{p}{pre}input_linear.weight"), &[2 * f, d])?;
                let (gate, up) = both.data.split_at(f * d);
                let rows = |data: &[f32]| Tensor {
                    shape: vec![f, d],
                    data: data.to_vec(),
                };
                Ffn {
                    norm: ck.take(&norm, &[d])?,
                    gate_proj: Some(rows(gate)),
                    up_proj: rows(up),
                    down_proj: ck.take(&format!("{p}{pre}output_linear.weight"), &[d, f])?,
                }
            }
        };
        blocks.push(Block {
            mixer_norm: ck.take(&format!("{p}input_layernorm.weight"), &[d])?,
            mixer,
            ffn: Some(ffn),
        });
    }
    Ok(Weights {
        embed_tokens,
        blocks,
        norm_f: ck.take(names.final_norm, &[d])?,
        lm_head: head(ck, cfg, "lm_head.weight")?,
    })
}
