//! `NemotronHForCausalLM` (NVIDIA Nemotron-H): a stack of layers that are each one
//! pre-norm residual unit, a Mamba-2 mixer ("M" / "linear_attention"), an attention mixer
//! without positional encoding ("*" / "full_attention") or an MLP `down(relu(up x)^2)`
//! ("-" / "mlp"). An MLP layer becomes the FFN of the mixer layer before it (the engine's
//! block is a mixer unit, then an optional FFN unit): the same function.
//!
//! | Hugging Face | engine |
//! |---|---|
//! | `backbone.embeddings.weight` | `embed_tokens` |
//! | `backbone.layers.{j}.norm.weight` of a mixer layer j | block `mixer_norm` |
//! | `backbone.layers.{j}.mixer.*` (Mamba-2 names, or `{q,k,v,o}_proj`) | the mixer |
//! | `backbone.layers.{j+1}.norm.weight`, `.mixer.{up,down}_proj.weight` of an MLP layer | the block's relu2 FFN |
//! | `backbone.norm_f.weight`, `lm_head.weight` | `norm_f`, `lm_head` |
//! | `mtp.*` (multi-token prediction, not run by a forward pass) | skipped |

use serde_json::{json, Value};

use super::blocks::{attention, head, mamba};
use super::keys::Keys;
use super::mamba2::dt_limit_is_open;
use super::tensors::Checkpoint;
use crate::config::{AttentionConfig, FfnAct, LayerKind, MambaConfig, ModelConfig};
use crate::error::{Error, Result};
use crate::weights::{Block, Ffn, Mixer, Weights};

/// `NemotronHConfig`'s defaults for the keys read here.
pub(super) fn defaults() -> Value {
    json!({
        "vocab_size": 131072, "hidden_size": 4096, "tie_word_embeddings": false,
        "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
        "max_position_embeddings": 4096, "intermediate_size": 21504,
        "mlp_hidden_act": "relu2", "mamba_hidden_act": "silu", "ssm_state_size": 128,
        "mamba_num_heads": 128, "mamba_head_dim": 64, "n_groups": 8, "conv_kernel": 4,
        "expand": 2, "use_conv_bias": true, "mamba_proj_bias": false, "use_bias": false,
        "mlp_bias": false, "attention_bias": false, "layer_norm_epsilon": 1e-5,
        "layers_block_type": ["linear_attention", "moe", "full_attention", "mlp"],
    })
}

/// One layer of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Mixer(LayerKind),
    Mlp,
}

/// The plan of the engine's blocks: per block, its mixer layer's index and the index of
/// the MLP layer that follows it, if any.
pub(super) struct Plan {
    blocks: Vec<(usize, LayerKind, Option<usize>)>,
    conv_bias: bool,
}

/// The layers of `layers_block_type` (names) or `hybrid_override_pattern` (letters).
fn units(k: &mut Keys) -> Result<Vec<Unit>> {
    let (key, v) = match k.get("hybrid_override_pattern") {
        Some(p) => {
            k.no_effect(&["layers_block_type"]);
            ("hybrid_override_pattern", p)
        }
        None => (
            "layers_block_type",
            k.get("layers_block_type").unwrap_or(Value::Null),
        ),
    };
    let unit = |name: &str| match name {
        "M" | "mamba" | "linear_attention" => Some(Unit::Mixer(LayerKind::Mamba)),
        "*" | "attention" | "full_attention" => Some(Unit::Mixer(LayerKind::Attention)),
        "-" | "mlp" => Some(Unit::Mlp),
        _ => None,
    };
    let list: Option<Vec<Unit>> = match &v {
        Value::String(p) => p.chars().map(|c| unit(&c.to_string())).collect(),
        Value::Array(a) => a.iter().map(|t| t.as_str().and_then(unit)).collect(),
        _ => None,
    };
    list.ok_or_else(|| {
        k.refuse(
            key,
            &v,
            "Mamba-2 (\"M\" / \"linear_attention\"), attention (\"*\" / \"full_attention\") and MLP (\"-\" / \"mlp\") layers; mixture-of-experts layers are not supported",
        )
    })
}

/// The engine's config for a Nemotron-H `config.json`, and the block plan.
pub(super) fn config(k: &mut Keys, name: Option<String>) -> Result<(ModelConfig, Plan)> {
    let mut blocks: Vec<(usize, LayerKind, Option<usize>)> = Vec::new();
    for (j, u) in units(k)?.into_iter().enumerate() {
        match (u, blocks.last_mut()) {
            (Unit::Mixer(kind), _) => blocks.push((j, kind, None)),
            (Unit::Mlp, Some((_, _, ffn @ None))) => *ffn = Some(j),
            (Unit::Mlp, _) => {
                return Err(Error::Config(format!(
                    "NemotronHForCausalLM: layer {j} is an MLP that does not follow a mixer layer: not supported"
                )))
            }
        }
    }
    let d = k.usize("hidden_size")?;
    let (n_heads, head_dim) = (k.usize("num_attention_heads")?, k.usize("head_dim")?);
    let (ssm_heads, ssm_head_dim) = (k.usize("mamba_num_heads")?, k.usize("mamba_head_dim")?);
    let expand = k.usize("expand")?;
    if ssm_heads.checked_mul(ssm_head_dim) != expand.checked_mul(d) {
        return Err(Error::Config(format!(
            "NemotronHForCausalLM: `mamba_num_heads` * `mamba_head_dim` = {ssm_heads} * {ssm_head_dim} differs from `expand` * `hidden_size` = {expand} * {d}: not supported"
        )));
    }
    k.expect("mlp_hidden_act", &[json!("relu2")])?;
    k.expect("mamba_hidden_act", &[json!("silu")])?;
    for key in ["use_bias", "mamba_proj_bias", "mlp_bias", "attention_bias"] {
        k.expect(key, &[json!(false)])?;
    }
    k.expect("sliding_window", &[])?;
    dt_limit_is_open(k, "time_step_limit")?;
    k.no_effect(&[
        // training, cache dtype, kernels, the scan's blocking
        "attention_dropout",
        "hidden_dropout",
        "rescale_prenorm_residual",
        "residual_in_fp32",
        "time_step_min",
        "time_step_max",
        "time_step_floor",
        "chunk_size",
        "use_mamba_kernels",
        "mamba_ssm_cache_dtype",
        "num_logits_to_keep",
        "num_hidden_layers",
        // only for mixture-of-experts layers, which are refused above
        "n_routed_experts",
        "n_shared_experts",
        "moe_intermediate_size",
        "moe_shared_expert_intermediate_size",
        "moe_latent_size",
        "moe_shared_expert_overlap",
        "num_experts_per_tok",
        "routed_scaling_factor",
        "n_group",
        "topk_group",
        "norm_topk_prob",
        // multi-token prediction: not part of a forward pass
        "num_nextn_predict_layers",
        "mtp_layers_block_type",
    ]);
    let ffn_layers: Vec<bool> = blocks.iter().map(|b| b.2.is_some()).collect();
    let cfg = ModelConfig {
        name,
        vocab_size: k.usize("vocab_size")?,
        d_model: d,
        d_ffn: k.usize("intermediate_size")?,
        ffn_act: FfnAct::Relu2,
        ffn_layers: Some(ffn_layers),
        norm_eps: k.f32("layer_norm_epsilon")?,
        tie_embeddings: k.bool("tie_word_embeddings")?,
        max_seq_len: k.opt_usize("max_position_embeddings")?,
        layers: blocks.iter().map(|b| b.1).collect(),
        attention: Some(AttentionConfig {
            n_heads,
            n_kv_heads: k.usize("num_key_value_heads")?,
            head_dim,
            v_head_dim: None,
            rope_theta: 10000.0,
            window: None,
            sink_tokens: 0,
            // no positional encoding
            rope_dim: Some(0),
            scale: None,
        }),
        mamba: Some(MambaConfig {
            d_state: k.usize("ssm_state_size")?,
            head_dim: ssm_head_dim,
            expand,
            n_groups: k.usize("n_groups")?,
            conv_width: k.usize("conv_kernel")?,
            // the gated norm spans E / n_groups channels (Zamba2RMSNormGated)
            norm_groups: None,
        }),
        intra: None,
        windows: None,
        embed_scale: None,
        residual_scale: None,
        logit_scale: None,
        notes: None,
    };
    let conv_bias = k.bool("use_conv_bias")?;
    Ok((cfg, Plan { blocks, conv_bias }))
}

/// The weights of a Nemotron-H checkpoint for `cfg` and `plan` (from [`config`]).
pub(super) fn weights(cfg: &ModelConfig, plan: &Plan, ck: &mut Checkpoint) -> Result<Weights> {
    let (d, f) = (cfg.d_model, cfg.d_ffn);
    let missing = || Error::Config("a layer kind has no config section".into());
    let embed_tokens = ck.take("backbone.embeddings.weight", &[cfg.vocab_size, d])?;
    let mut blocks = Vec::with_capacity(plan.blocks.len());
    for &(j, kind, mlp) in &plan.blocks {
        let p = format!("backbone.layers.{j}.");
        let mixer = match kind {
            LayerKind::Attention => {
                let a = cfg.attn_dims().ok_or_else(missing)?;
                Mixer::Attention(Box::new(attention(ck, &format!("{p}mixer."), a, d)?))
            }
            LayerKind::Mamba => {
                let m = cfg.mamba_dims().ok_or_else(missing)?;
                let w = mamba(ck, &format!("{p}mixer."), m, d, (plan.conv_bias, true))?;
                Mixer::Mamba(Box::new(w))
            }
            LayerKind::Intra => return Err(Error::Config("no intra layers here".into())),
        };
        let ffn = match mlp {
            None => None,
            Some(m) => {
                let q = format!("backbone.layers.{m}.");
                Some(Ffn {
                    norm: ck.take(&format!("{q}norm.weight"), &[d])?,
                    gate_proj: None,
                    up_proj: ck.take(&format!("{q}mixer.up_proj.weight"), &[f, d])?,
                    down_proj: ck.take(&format!("{q}mixer.down_proj.weight"), &[d, f])?,
                })
            }
        };
        blocks.push(Block {
            mixer_norm: ck.take(&format!("{p}norm.weight"), &[d])?,
            mixer,
            ffn,
        });
    }
    ck.skip_prefix("mtp.");
    Ok(Weights {
        embed_tokens,
        blocks,
        norm_f: ck.take("backbone.norm_f.weight", &[d])?,
        lm_head: head(ck, cfg, "lm_head.weight")?,
    })
}
