//! The model configuration (`config.json`, documented in docs/FORMAT.md) and the sizes,
//! parameter counts, cache bytes and FLOPs derived from it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod choices;
mod dims;
mod keys;
mod validate;

pub use choices::{FfnAct, Fusion, LayerKind, OutProj};
pub use dims::{AttnDims, MambaDims};

/// The keys `config.json` may hold: top level and per section.
pub use keys::{
    ATTENTION as ATTENTION_KEYS, INTRA as INTRA_KEYS, MAMBA as MAMBA_KEYS, TOP as TOP_KEYS,
};
pub use validate::Limits;

/// Attention hyper-parameters (shared by attention blocks and intra attention branches).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionConfig {
    /// Hq: query heads.
    pub n_heads: usize,
    /// Hkv: key/value heads (GQA groups).
    pub n_kv_heads: usize,
    /// dh: query/key head dimension (even, for rotate-half RoPE).
    pub head_dim: usize,
    /// dv: value head dimension (the width each head contributes to `o_proj`);
    /// null = `head_dim`.
    #[serde(default)]
    pub v_head_dim: Option<usize>,
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f32,
    /// Sliding window: a query sees at most this many most recent keys (itself included).
    #[serde(default)]
    pub window: Option<usize>,
    /// With a window: the first `sink_tokens` keys stay visible to every query.
    #[serde(default)]
    pub sink_tokens: usize,
    /// Leading dims of each query/key head that RoPE rotates (rotate-half within them,
    /// frequencies `theta^(-2i/rope_dim)`); null = `head_dim`, 0 = no positional encoding.
    #[serde(default)]
    pub rope_dim: Option<usize>,
    /// Softmax scale of the scores; null = `1/sqrt(head_dim)`.
    #[serde(default)]
    pub scale: Option<f32>,
}

impl AttentionConfig {
    /// Hq query heads, Hkv key/value heads of `head_dim`, with every optional setting at its
    /// default (RoPE theta 10,000 over the whole head, no window or sinks, dv = dh, scale
    /// 1/sqrt(dh)): what a config file gets by leaving those keys out.
    pub fn plain(n_heads: usize, n_kv_heads: usize, head_dim: usize) -> Self {
        AttentionConfig {
            n_heads,
            n_kv_heads,
            head_dim,
            v_head_dim: None,
            rope_theta: default_rope_theta(),
            window: None,
            sink_tokens: 0,
            rope_dim: None,
            scale: None,
        }
    }
}

/// Mamba-2 hyper-parameters (shared by Mamba blocks and intra Mamba branches).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MambaConfig {
    /// N: state size per head.
    pub d_state: usize,
    /// P: channels per SSM head.
    pub head_dim: usize,
    /// E = expand * D.
    #[serde(default = "default_expand")]
    pub expand: usize,
    /// G: groups sharing B and C.
    #[serde(default = "default_one")]
    pub n_groups: usize,
    /// W: causal depthwise conv width.
    #[serde(default = "default_conv")]
    pub conv_width: usize,
    /// Groups of the gated RMSNorm before `out_proj` (each normalizes E / norm_groups
    /// channels); null = `n_groups`. Hugging Face's Mamba-2, Bamba and Granite-4.0-H
    /// normalize all E channels at inference (1).
    #[serde(default)]
    pub norm_groups: Option<usize>,
}

/// Intra-layer hybrid hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntraConfig {
    /// Ha: query heads of the attention branch.
    pub attn_heads: usize,
    /// Hakv: KV heads of the attention branch.
    pub attn_kv_heads: usize,
    /// Hs: heads of the Mamba branch (E_b = Hs * P).
    pub ssm_heads: usize,
    /// dva: value head dimension of the attention branch; null = the attention blocks'
    /// value head dimension (`attention.v_head_dim`, itself defaulting to `head_dim`).
    #[serde(default)]
    pub attn_v_head_dim: Option<usize>,
    #[serde(default = "default_fusion")]
    pub fusion: Fusion,
    #[serde(default = "default_true")]
    pub branch_norm: bool,
    #[serde(default = "default_out_proj")]
    pub out_proj: OutProj,
    #[serde(default)]
    pub branch_scalars: bool,
}

/// The whole model: `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    #[serde(default)]
    pub name: Option<String>,
    pub vocab_size: usize,
    pub d_model: usize,
    /// F: SwiGLU hidden width; 0 = blocks without an FFN (Mamba-2 models).
    pub d_ffn: usize,
    /// The FFN's form: "swiglu" (default) or "relu2".
    #[serde(default)]
    pub ffn_act: FfnAct,
    /// Which blocks have an FFN, one entry per layer; null = every block (when d_ffn > 0).
    #[serde(default)]
    pub ffn_layers: Option<Vec<bool>>,
    #[serde(default = "default_eps")]
    pub norm_eps: f32,
    #[serde(default = "default_true")]
    pub tie_embeddings: bool,
    #[serde(default)]
    pub max_seq_len: Option<usize>,
    pub layers: Vec<LayerKind>,
    #[serde(default)]
    pub attention: Option<AttentionConfig>,
    #[serde(default)]
    pub mamba: Option<MambaConfig>,
    #[serde(default)]
    pub intra: Option<IntraConfig>,
    /// Per-layer sliding window, one entry per layer: null = full attention, n = a window
    /// of n tokens. Overrides `attention.window`; entries of Mamba layers must be null.
    #[serde(default)]
    pub windows: Option<Vec<Option<usize>>>,
    /// Multiplies the token embeddings (Granite's `embedding_multiplier`); null = 1.
    #[serde(default)]
    pub embed_scale: Option<f32>,
    /// Multiplies each mixer and FFN output before it joins the residual stream (Granite's
    /// `residual_multiplier`); null = 1.
    #[serde(default)]
    pub residual_scale: Option<f32>,
    /// Multiplies the logits (Granite's `1 / logits_scaling`); null = 1.
    #[serde(default)]
    pub logit_scale: Option<f32>,
    /// Free text about the config, by topic (for example what a published model's config
    /// had to assume where the paper is silent); the engine ignores it.
    #[serde(default)]
    pub notes: Option<BTreeMap<String, String>>,
}

fn default_rope_theta() -> f32 {
    10000.0
}
fn default_expand() -> usize {
    2
}
fn default_one() -> usize {
    1
}
fn default_conv() -> usize {
    4
}
fn default_fusion() -> Fusion {
    Fusion::Subtract
}
fn default_true() -> bool {
    true
}
fn default_out_proj() -> OutProj {
    OutProj::Separate
}
fn default_eps() -> f32 {
    1e-5
}

/// Bytes per f32.
pub const F32_BYTES: usize = 4;

/// A u64 count as usize, saturating where usize is narrower (wasm32).
fn to_usize(x: u64) -> usize {
    usize::try_from(x).unwrap_or(usize::MAX)
}

impl ModelConfig {
    /// Parse and validate `config.json`: unknown keys are refused (with the nearest
    /// known key suggested), then every constraint of [`Self::validate`].
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| Error::ConfigSyntax(e.to_string()))?;
        keys::check_known(&value)?;
        let cfg: ModelConfig =
            serde_json::from_value(value).map_err(|e| Error::ConfigSyntax(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Serialize to pretty JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A display name.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("model")
    }

    /// Attention sizes of an attention block.
    pub fn attn_dims(&self) -> Option<AttnDims> {
        self.attention.as_ref().map(|a| AttnDims {
            n_heads: a.n_heads,
            n_kv_heads: a.n_kv_heads,
            head_dim: a.head_dim,
            v_head_dim: a.v_head_dim.unwrap_or(a.head_dim),
        })
    }

    /// Attention sizes of an intra block's attention branch.
    pub fn intra_attn_dims(&self) -> Option<AttnDims> {
        let (a, i) = (self.attention.as_ref()?, self.intra.as_ref()?);
        Some(AttnDims {
            n_heads: i.attn_heads,
            n_kv_heads: i.attn_kv_heads,
            head_dim: a.head_dim,
            v_head_dim: i.attn_v_head_dim.or(a.v_head_dim).unwrap_or(a.head_dim),
        })
    }

    /// Mamba sizes of a Mamba block.
    pub fn mamba_dims(&self) -> Option<MambaDims> {
        let m = self.mamba.as_ref()?;
        Some(MambaDims {
            // head_dim >= 1 where Mamba is used; an unused section is not validated
            n_heads: (m.expand * self.d_model).checked_div(m.head_dim)?,
            head_dim: m.head_dim,
            d_state: m.d_state,
            n_groups: m.n_groups,
            conv_width: m.conv_width,
            norm_groups: m.norm_groups.unwrap_or(m.n_groups),
        })
    }

    /// Mamba sizes of an intra block's Mamba branch.
    pub fn intra_mamba_dims(&self) -> Option<MambaDims> {
        let (m, i) = (self.mamba.as_ref()?, self.intra.as_ref()?);
        Some(MambaDims {
            n_heads: i.ssm_heads,
            head_dim: m.head_dim,
            d_state: m.d_state,
            n_groups: m.n_groups,
            conv_width: m.conv_width,
            norm_groups: m.norm_groups.unwrap_or(m.n_groups),
        })
    }

    /// Parameters of block `i` (mixer, FFN and both norms).
    pub fn block_params(&self, i: usize) -> usize {
        to_usize(self.block_params_u64(i))
    }

    /// All parameters (embedding counted once when tied).
    pub fn param_count(&self) -> usize {
        to_usize(self.param_count_u64())
    }

    /// [`Self::block_params`] counted in u64 (exact within [`Limits`] on every platform;
    /// saturating beyond).
    pub fn block_params_u64(&self, i: usize) -> u64 {
        let n = |x: usize| x as u64;
        let d = n(self.d_model);
        // the mixer norm, and the FFN's matrices and norm where block i has one
        let mats = match self.ffn_act {
            FfnAct::Swiglu => 3,
            FfnAct::Relu2 => 2,
        };
        let common = if self.has_ffn(i) {
            (mats * d)
                .saturating_mul(n(self.d_ffn))
                .saturating_add(2 * d)
        } else {
            d
        };
        // q, k, v projections
        let attn = |a: AttnDims| d.saturating_mul(n(a.q_dim()) + n(a.kv_row()));
        let mamba = |m: MambaDims| {
            d.saturating_mul(n(m.in_proj_dim()))
                .saturating_add(n(m.conv_dim()) * n(m.conv_width + 1))
                .saturating_add(3 * n(m.n_heads))
        };
        let mixer = match self.layers.get(i) {
            Some(LayerKind::Attention) => self
                .attn_dims()
                .map_or(0, |a| attn(a).saturating_add(n(a.o_dim()) * d)),
            Some(LayerKind::Mamba) => self.mamba_dims().map_or(0, |m| {
                mamba(m)
                    .saturating_add(n(m.d_inner()))
                    .saturating_add(n(m.d_inner()).saturating_mul(d))
            }),
            Some(LayerKind::Intra) => match (
                self.intra.as_ref(),
                self.intra_attn_dims(),
                self.intra_mamba_dims(),
            ) {
                (Some(i), Some(a), Some(m)) => {
                    let (oa, eb) = (n(a.o_dim()), n(m.d_inner()));
                    let norms = if i.branch_norm { oa + eb } else { 0 };
                    let scalars = if i.branch_scalars { 2 } else { 0 };
                    let out = match (i.out_proj, i.fusion) {
                        (OutProj::Separate, Fusion::Add | Fusion::Subtract) => {
                            d.saturating_mul(oa + eb)
                        }
                        (OutProj::Joint, Fusion::Concat) => d.saturating_mul(oa + eb),
                        (OutProj::Joint, Fusion::Add | Fusion::Subtract) => d.saturating_mul(oa),
                        // refused by `validate`; counted as the concat it would be
                        (OutProj::Separate, Fusion::Concat) => d.saturating_mul(oa + eb),
                    };
                    attn(a)
                        .saturating_add(mamba(m))
                        .saturating_add(norms + scalars)
                        .saturating_add(out)
                }
                _ => 0,
            },
            None => 0,
        };
        common.saturating_add(mixer)
    }

    /// [`Self::param_count`] counted in u64.
    pub fn param_count_u64(&self) -> u64 {
        let blocks = (0..self.layers.len())
            .map(|i| self.block_params_u64(i))
            .fold(0u64, u64::saturating_add);
        let vd = (self.vocab_size as u64).saturating_mul(self.d_model as u64);
        let head = if self.tie_embeddings { 0 } else { vd };
        vd.saturating_add(blocks)
            .saturating_add(self.d_model as u64)
            .saturating_add(head)
    }

    /// True when block `i` has an FFN: `d_ffn` > 0 and `ffn_layers[i]` (when given).
    pub fn has_ffn(&self, i: usize) -> bool {
        self.d_ffn > 0
            && match &self.ffn_layers {
                Some(l) => l.get(i).copied().unwrap_or(false),
                None => true,
            }
    }

    /// Attention dims of block `i` if it holds attention.
    fn block_attn(&self, i: usize) -> Option<AttnDims> {
        match self.layers.get(i)? {
            LayerKind::Attention => self.attn_dims(),
            LayerKind::Intra => self.intra_attn_dims(),
            LayerKind::Mamba => None,
        }
    }

    /// Mamba dims of block `i` if it holds a Mamba mixer.
    fn block_mamba(&self, i: usize) -> Option<MambaDims> {
        match self.layers.get(i)? {
            LayerKind::Mamba => self.mamba_dims(),
            LayerKind::Intra => self.intra_mamba_dims(),
            LayerKind::Attention => None,
        }
    }

    /// The sliding window of block `i`'s attention: `windows[i]` when `windows` is given,
    /// else `attention.window`; None = full causal attention.
    pub fn layer_window(&self, i: usize) -> Option<usize> {
        match &self.windows {
            Some(w) => w.get(i).copied().flatten(),
            None => self.attention.as_ref().and_then(|a| a.window),
        }
    }

    /// KV-cache bytes that one more token adds (f32, all layers) while no window is full;
    /// a windowed layer stops growing at its window (see [`Self::kv_cache_bytes`]).
    pub fn kv_bytes_per_token(&self) -> usize {
        (0..self.layers.len())
            .filter_map(|i| self.block_attn(i))
            .map(|a| a.kv_row() * F32_BYTES)
            .sum()
    }

    /// Positions block `i`'s attention keeps after `t` tokens: all of them, or with a
    /// window `w` and `s` sinks only those a later query can still see, `min(t, s + w - 1)`.
    pub fn kv_positions(&self, i: usize, t: usize) -> usize {
        match self.layer_window(i) {
            // w >= 1 where attention is used; an unused section is not validated
            Some(w) => {
                let sinks = self.attention.as_ref().map_or(0, |a| a.sink_tokens);
                t.min(sinks.saturating_add(w.saturating_sub(1)))
            }
            None => t,
        }
    }

    /// KV-cache elements (keys and values, all layers) held after `t` tokens, in u64.
    pub fn kv_cache_elems(&self, t: usize) -> u64 {
        (0..self.layers.len())
            .filter_map(|i| Some((self.kv_positions(i, t) as u64, self.block_attn(i)?)))
            .map(|(p, a)| p.saturating_mul(a.kv_row() as u64))
            .fold(0, u64::saturating_add)
    }

    /// KV-cache bytes held after `t` tokens (f32, all layers).
    pub fn kv_cache_bytes(&self, t: usize) -> usize {
        to_usize(self.kv_cache_elems(t).saturating_mul(F32_BYTES as u64))
    }

    /// SSM state elements (all layers): H * P * N per Mamba mixer.
    pub fn ssm_state_elems(&self) -> u64 {
        (0..self.layers.len())
            .filter_map(|i| self.block_mamba(i))
            .map(|m| m.ssm_state_len() as u64)
            .sum()
    }

    /// KV cache + SSM state after `t` tokens at `elem_bytes` bytes per element (2 for bf16),
    /// the measure the paper reports as "cache"; the small conv state is left out.
    pub fn kv_and_ssm_bytes(&self, t: usize, elem_bytes: u64) -> u64 {
        self.kv_cache_elems(t)
            .saturating_add(self.ssm_state_elems())
            .saturating_mul(elem_bytes)
    }

    /// SSM state bytes (f32, all layers): H * P * N per Mamba mixer; constant in context.
    pub fn ssm_state_bytes(&self) -> usize {
        (0..self.layers.len())
            .filter_map(|i| self.block_mamba(i))
            .map(|m| m.ssm_state_len() * F32_BYTES)
            .sum()
    }

    /// Conv state bytes (f32, all layers): (W - 1) * conv_dim per Mamba mixer.
    pub fn conv_state_bytes(&self) -> usize {
        (0..self.layers.len())
            .filter_map(|i| self.block_mamba(i))
            .map(|m| m.conv_state_len() * F32_BYTES)
            .sum()
    }

    /// Everything a decode session keeps at context `t`: KV cache + SSM + conv state.
    pub fn cache_bytes(&self, t: usize) -> usize {
        self.kv_cache_bytes(t)
            .saturating_add(self.ssm_state_bytes() + self.conv_state_bytes())
    }

    /// Forward FLOPs (multiply-add = 2) to decode one token at context length `t`:
    /// matmuls, attention over the visible keys, and the SSM update; norms and
    /// element-wise work are ignored (they are O(D) per token).
    pub fn flops_per_token(&self, t: usize) -> usize {
        let d = self.d_model;
        let mut f = (2 * d).saturating_mul(self.vocab_size);
        for i in 0..self.layers.len() {
            let block = self.block_params(i).saturating_sub(2 * d);
            f = f.saturating_add(block.saturating_mul(2));
            if let Some(a) = self.block_attn(i) {
                // keys visible to the new token: the kept ones plus itself; Q.K over dh and
                // P.V over dv per head
                let keys = self.kv_positions(i, t).saturating_add(1);
                let per_key = 2 * (a.q_dim() + a.o_dim());
                f = f.saturating_add(per_key.saturating_mul(keys));
            }
            if let Some(m) = self.block_mamba(i) {
                f = f.saturating_add(m.ssm_state_len().saturating_mul(6));
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inter() -> ModelConfig {
        ModelConfig::from_json(
            br#"{"vocab_size":256,"d_model":64,"d_ffn":128,
            "layers":["mamba","attention","mamba","mamba"],
            "attention":{"n_heads":4,"n_kv_heads":2,"head_dim":16},
            "mamba":{"d_state":16,"head_dim":16}}"#,
        )
        .expect("valid config")
    }

    #[test]
    fn derived_sizes() {
        let c = inter();
        let m = c.mamba_dims().expect("mamba");
        assert_eq!((m.n_heads, m.d_inner(), m.conv_dim()), (8, 128, 160));
        assert_eq!(m.in_proj_dim(), 2 * 128 + 32 + 8);
        // one attention layer: K and V of 2 heads x 16, f32
        assert_eq!(c.kv_bytes_per_token(), 2 * 32 * 4);
        assert_eq!(c.kv_cache_bytes(100), 100 * 256);
        assert_eq!(c.ssm_state_bytes(), 3 * 8 * 16 * 16 * 4);
        assert_eq!(c.conv_state_bytes(), 3 * 3 * 160 * 4);
        // attention block: norms 2D + FFN 3DF + q,k,v,o
        assert_eq!(
            c.block_params(1),
            2 * 64 + 3 * 64 * 128 + 64 * (64 + 32 + 32) + 64 * 64
        );
        assert!(c.flops_per_token(1000) > c.flops_per_token(10));
    }

    #[test]
    fn rejects_contradictions() {
        let e = ModelConfig::from_json(
            br#"{"vocab_size":256,"d_model":64,"d_ffn":128,"layers":["attention"],
            "attention":{"n_heads":3,"n_kv_heads":2,"head_dim":16}}"#,
        )
        .expect_err("3 heads over 2 kv heads");
        assert!(e.to_string().contains("n_kv_heads"), "{e}");
        let e = ModelConfig::from_json(
            br#"{"vocab_size":256,"d_model":64,"d_ffn":128,"layers":["mamba"]}"#,
        )
        .expect_err("no mamba section");
        assert!(e.to_string().contains("mamba"), "{e}");
        let e = ModelConfig::from_json(br#"{"vocab_size":256"#).expect_err("truncated");
        assert!(matches!(e, Error::ConfigSyntax(_)));
        let e = ModelConfig::from_json(br#"{"vocab_size":256,"d_model":64,"d_ffn":128,"layers":["intra"],
            "attention":{"n_heads":4,"n_kv_heads":2,"head_dim":16},"mamba":{"d_state":16,"head_dim":16},
            "intra":{"attn_heads":2,"attn_kv_heads":1,"ssm_heads":4,"fusion":"concat","out_proj":"separate"}}"#)
            .expect_err("concat + separate");
        assert!(e.to_string().contains("concat"), "{e}");
    }
}
