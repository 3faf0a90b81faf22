//! `FalconH1ForCausalLM` (TII Falcon-H1): attention and Mamba-2 side by side in every
//! layer on the same normed input, their outputs added: the engine's intra block with
//! `fusion` "add", separate output projections and no branch norm; then a SwiGLU FFN.
//!
//! Falcon-H1's muP multipliers each scale the input or output of a linear map, so they
//! are folded into that map's matrix at load (the same function, exactly):
//!
//! | multiplier | folded into |
//! |---|---|
//! | `attention_in_multiplier` | `q_proj`, `k_proj`, `v_proj` |
//! | `key_multiplier` | `k_proj` (before RoPE, which is linear) |
//! | `attention_out_multiplier` | `o_proj` |
//! | `ssm_in_multiplier` | `in_proj` |
//! | `ssm_multipliers` [z, x, B, C, dt] | the rows of `in_proj` that make z, x, B, C, dt |
//! | `ssm_out_multiplier` | Mamba `out_proj` |
//! | `mlp_multipliers` [gate, down] | `gate_proj`, `down_proj` |
//!
//! `embedding_multiplier` and `lm_head_multiplier` become `embed_scale` and `logit_scale`.
//! Tensors (`model.layers.{i}.` prefix): `input_layernorm` -> `mixer_norm`,
//! `self_attn.*` -> the attention branch, `mamba.*` -> the Mamba branch (no `norm`),
//! `pre_ff_layernorm` + `feed_forward.*` -> the FFN; `model.final_layernorm` -> `norm_f`.

use serde_json::{json, Value};

use super::blocks::{attention, head, mamba, swiglu};
use super::common::attention_keys;
use super::keys::{number, Keys};
use super::mamba2::dt_limit_is_open;
use super::tensors::Checkpoint;
use crate::config::{Fusion, IntraConfig, LayerKind, MambaConfig, ModelConfig, OutProj};
use crate::error::{Error, Result};
use crate::weights::{Block, IntraWeights, Mixer, Tensor, Weights};

/// `FalconH1Config`'s defaults for the keys read here.
pub(super) fn defaults() -> Value {
    json!({
        "vocab_size": 128000, "tie_word_embeddings": false, "hidden_size": 4096,
        "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
        "num_key_value_heads": 8, "hidden_act": "silu", "rms_norm_eps": 1e-5,
        "max_position_embeddings": 8192, "rope_theta": 10000.0,
        "mamba_d_ssm": 1024, "mamba_n_heads": 128, "mamba_d_head": "auto",
        "mamba_n_groups": 1, "mamba_d_state": 256, "mamba_d_conv": 4, "mamba_expand": 2,
        "mamba_conv_bias": true, "mamba_proj_bias": false, "mamba_rms_norm": false,
        "projectors_bias": false, "attention_bias": false, "mlp_bias": false,
        "lm_head_multiplier": 1.0, "embedding_multiplier": 1.0,
        "mlp_multipliers": [1.0, 1.0], "key_multiplier": 1.0,
        "attention_out_multiplier": 1.0, "attention_in_multiplier": 1.0,
        "ssm_multipliers": [1.0, 1.0, 1.0, 1.0, 1.0], "ssm_in_multiplier": 1.0,
        "ssm_out_multiplier": 1.0,
    })
}

/// The multipliers folded into the weights at load.
pub(super) struct Mup {
    conv_bias: bool,
    attn_in: f32,
    key: f32,
    attn_out: f32,
    ssm_in: f32,
    /// [z, x, B, C, dt]
    ssm: [f32; 5],
    ssm_out: f32,
    /// [gate, down]
    mlp: [f32; 2],
}

/// `n` numbers of the list `key`.
fn numbers<const N: usize>(k: &mut Keys, key: &str) -> Result<[f32; N]> {
    let v = k.get(key).unwrap_or(Value::Null);
    let list: Option<Vec<f32>> = v.as_array().and_then(|a| {
        a.iter()
            .map(|x| number(x).filter(|x| x.is_finite()))
            .collect::<Option<Vec<f32>>>()
    });
    list.and_then(|l| <[f32; N]>::try_from(l).ok())
        .ok_or_else(|| k.refuse(key, &v, &format!("a list of {N} finite numbers")))
}

/// The engine's config for a Falcon-H1 `config.json`, and the multipliers to fold.
pub(super) fn config(k: &mut Keys, name: Option<String>) -> Result<(ModelConfig, Mup)> {
    let attn = attention_keys(k)?;
    attn.full_rope(k)?;
    let expand = k.usize("mamba_expand")?;
    let d_ssm = match k.opt_usize("mamba_d_ssm")? {
        Some(e) => e,
        None => expand.saturating_mul(attn.d),
    };
    let ssm_heads = k.usize("mamba_n_heads")?;
    let ssm_head_dim =
        k.usize_or_auto("mamba_d_head", d_ssm.checked_div(ssm_heads).unwrap_or(0))?;
    if ssm_heads.checked_mul(ssm_head_dim) != Some(d_ssm) {
        return Err(Error::Config(format!(
            "FalconH1ForCausalLM: `mamba_n_heads` * `mamba_d_head` = {ssm_heads} * {ssm_head_dim} differs from `mamba_d_ssm` = {d_ssm}"
        )));
    }
    for key in ["mlp_bias", "mamba_proj_bias", "projectors_bias"] {
        k.expect(key, &[json!(false)])?;
    }
    // the gated RMSNorm of the Mamba branch is not in the engine's intra block yet
    k.expect("mamba_rms_norm", &[json!(false)])?;
    // TII's own keys in the published files, which transformers' model never reads: every
    // layer has attention and the FFN; `intermediate_size` gives the FFN width
    k.expect("attn_layer_indices", &[Value::Null])?;
    k.expect("mamba_use_mlp", &[json!(true)])?;
    k.no_effect(&["mlp_expansion_factor"]);
    dt_limit_is_open(k, "time_step_limit")?;
    k.no_effect(&[
        "attention_dropout",
        "num_logits_to_keep",
        "mamba_chunk_size",
        // only with mamba_rms_norm
        "mamba_norm_before_gate",
    ]);
    let mup = Mup {
        conv_bias: k.bool("mamba_conv_bias")?,
        attn_in: k.f32("attention_in_multiplier")?,
        key: k.f32("key_multiplier")?,
        attn_out: k.f32("attention_out_multiplier")?,
        ssm_in: k.f32("ssm_in_multiplier")?,
        ssm: numbers(k, "ssm_multipliers")?,
        ssm_out: k.f32("ssm_out_multiplier")?,
        mlp: numbers(k, "mlp_multipliers")?,
    };
    let intra = IntraConfig {
        attn_heads: attn.config.n_heads,
        attn_kv_heads: attn.config.n_kv_heads,
        ssm_heads,
        attn_v_head_dim: None,
        fusion: Fusion::Add,
        branch_norm: false,
        out_proj: OutProj::Separate,
        branch_scalars: false,
    };
    let layers = vec![LayerKind::Intra; attn.layers];
    let d_ffn = k.usize("intermediate_size")?;
    let mut cfg = attn.model(k, name, d_ffn, layers)?;
    cfg.mamba = Some(MambaConfig {
        d_state: k.usize("mamba_d_state")?,
        head_dim: ssm_head_dim,
        expand,
        n_groups: k.usize("mamba_n_groups")?,
        conv_width: k.usize("mamba_d_conv")?,
        norm_groups: None,
    });
    cfg.intra = Some(intra);
    cfg.embed_scale = Some(k.f32("embedding_multiplier")?);
    cfg.logit_scale = Some(k.f32("lm_head_multiplier")?);
    Ok((cfg, mup))
}

/// Multiply rows `rows` of `t` [R, C] by `s`.
fn scale_rows(t: &mut Tensor, rows: std::ops::Range<usize>, s: f32) {
    let c = t.cols();
    if let Some(part) = t.data.get_mut(rows.start * c..rows.end * c) {
        part.iter_mut().for_each(|v| *v *= s);
    }
}

/// Multiply all of `t` by `s`.
fn scale(t: &mut Tensor, s: f32) {
    let rows = t.rows();
    scale_rows(t, 0..rows, s);
}

/// The weights of a Falcon-H1 checkpoint for `cfg`, the multipliers folded in.
pub(super) fn weights(cfg: &ModelConfig, mup: &Mup, ck: &mut Checkpoint) -> Result<Weights> {
    let (d, f) = (cfg.d_model, cfg.d_ffn);
    let missing = || Error::Config("no intra sections".into());
    let a = cfg.intra_attn_dims().ok_or_else(missing)?;
    let m = cfg.intra_mamba_dims().ok_or_else(missing)?;
    let (e, gn) = (m.d_inner(), m.n_groups * m.d_state);
    let embed_tokens = ck.take("model.embed_tokens.weight", &[cfg.vocab_size, d])?;
    let mut blocks = Vec::with_capacity(cfg.layers.len());
    for i in 0..cfg.layers.len() {
        let p = format!("model.layers.{i}.");
        let mut at = attention(ck, &format!("{p}self_attn."), a, d)?;
        scale(&mut at.q_proj, mup.attn_in);
        scale(&mut at.k_proj, mup.attn_in * mup.key);
        scale(&mut at.v_proj, mup.attn_in);
        at.o_proj.iter_mut().for_each(|o| scale(o, mup.attn_out));
        let mut ssm = mamba(ck, &format!("{p}mamba."), m, d, (mup.conv_bias, false))?;
        // in_proj rows [z (E) | x (E) | B (GN) | C (GN) | dt (H)]
        let bounds = [0, e, 2 * e, 2 * e + gn, 2 * e + 2 * gn, m.in_proj_dim()];
        for (j, s) in mup.ssm.iter().enumerate() {
            scale_rows(&mut ssm.in_proj, bounds[j]..bounds[j + 1], s * mup.ssm_in);
        }
        ssm.out_proj.iter_mut().for_each(|o| scale(o, mup.ssm_out));
        let mut ffn = swiglu(
            ck,
            &format!("{p}pre_ff_layernorm.weight"),
            &format!("{p}feed_forward."),
            d,
            f,
        )?;
        ffn.gate_proj.iter_mut().for_each(|g| scale(g, mup.mlp[0]));
        scale(&mut ffn.down_proj, mup.mlp[1]);
        blocks.push(Block {
            mixer_norm: ck.take(&format!("{p}input_layernorm.weight"), &[d])?,
            mixer: Mixer::Intra(Box::new(IntraWeights {
                attn: at,
                ssm,
                attn_norm: None,
                ssm_norm: None,
                attn_scale: None,
                ssm_scale: None,
                out_proj: None,
            })),
            ffn: Some(ffn),
        });
    }
    Ok(Weights {
        embed_tokens,
        blocks,
        norm_f: ck.take("model.final_layernorm.weight", &[d])?,
        lm_head: head(ck, cfg, "lm_head.weight")?,
    })
}
