//! The constraints of docs/FORMAT.md on a [`ModelConfig`], and the size limits that
//! keep every derived size (parameters, bytes, FLOPs) free of overflow.

use super::{Fusion, LayerKind, ModelConfig, OutProj};
use crate::error::{Error, Result};

/// The largest sizes a config may ask for (docs/FORMAT.md, "Limits"). Each is far above
/// the published models of these families; within them no derived size (parameters,
/// bytes, FLOPs) overflows a 64-bit count, and [`ModelConfig::validate`] checks the total
/// weight bytes against what the platform can address.
#[derive(Debug, Clone, Copy)]
pub struct Limits;

impl Limits {
    /// `vocab_size`.
    pub const VOCAB: usize = 1 << 21;
    /// `d_model`.
    pub const D_MODEL: usize = 1 << 16;
    /// `d_ffn`.
    pub const D_FFN: usize = 1 << 18;
    /// Entries of `layers`.
    pub const LAYERS: usize = 1024;
    /// Any head count (attention query or KV heads, intra branch heads).
    pub const HEADS: usize = 4096;
    /// `attention.head_dim`, `attention.v_head_dim`, `intra.attn_v_head_dim`,
    /// `mamba.head_dim`, `mamba.d_state`.
    pub const HEAD_DIM: usize = 4096;
    /// `mamba.expand`.
    pub const EXPAND: usize = 64;
    /// `mamba.conv_width`.
    pub const CONV_WIDTH: usize = 64;
    /// `attention.window`, entries of `windows`, `attention.sink_tokens`, `max_seq_len`.
    pub const POSITIONS: usize = 1 << 31;
}

impl ModelConfig {
    /// Every size within [`Limits`], and the f32 weights addressable on this platform.
    fn check_limits(&self) -> Result<()> {
        let over = |what: &str, v: usize, max: usize| {
            if v > max {
                Err(Error::Config(format!(
                    "{what} = {v} is over the limit of {max} (docs/FORMAT.md, \"Limits\")"
                )))
            } else {
                Ok(())
            }
        };
        over("vocab_size", self.vocab_size, Limits::VOCAB)?;
        over("d_model", self.d_model, Limits::D_MODEL)?;
        over("d_ffn", self.d_ffn, Limits::D_FFN)?;
        over("the number of layers", self.layers.len(), Limits::LAYERS)?;
        over(
            "max_seq_len",
            self.max_seq_len.unwrap_or(0),
            Limits::POSITIONS,
        )?;
        // a float too large for f32 parses as infinity: refused, or `to_json` would write
        // `null` and the config would not parse again
        let finite = |what: &str, v: f32| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(Error::Config(format!(
                    "{what} = {v} is not a finite 32-bit float"
                )))
            }
        };
        finite("norm_eps", self.norm_eps)?;
        for (what, v) in [
            ("embed_scale", self.embed_scale),
            ("residual_scale", self.residual_scale),
            ("logit_scale", self.logit_scale),
        ] {
            finite(what, v.unwrap_or(1.0))?;
        }
        if let Some(a) = &self.attention {
            finite("attention.rope_theta", a.rope_theta)?;
            finite("attention.scale", a.scale.unwrap_or(1.0))?;
            over("attention.n_heads", a.n_heads, Limits::HEADS)?;
            over("attention.n_kv_heads", a.n_kv_heads, Limits::HEADS)?;
            over("attention.head_dim", a.head_dim, Limits::HEAD_DIM)?;
            over(
                "attention.v_head_dim",
                a.v_head_dim.unwrap_or(0),
                Limits::HEAD_DIM,
            )?;
            over("attention.window", a.window.unwrap_or(0), Limits::POSITIONS)?;
            over("attention.sink_tokens", a.sink_tokens, Limits::POSITIONS)?;
        }
        if let Some(m) = &self.mamba {
            over("mamba.d_state", m.d_state, Limits::HEAD_DIM)?;
            over("mamba.head_dim", m.head_dim, Limits::HEAD_DIM)?;
            over("mamba.expand", m.expand, Limits::EXPAND)?;
            over("mamba.n_groups", m.n_groups, Limits::HEADS)?;
            over("mamba.conv_width", m.conv_width, Limits::CONV_WIDTH)?;
            over(
                "mamba.norm_groups",
                m.norm_groups.unwrap_or(0),
                Limits::HEADS,
            )?;
        }
        if let Some(i) = &self.intra {
            over("intra.attn_heads", i.attn_heads, Limits::HEADS)?;
            over("intra.attn_kv_heads", i.attn_kv_heads, Limits::HEADS)?;
            over("intra.ssm_heads", i.ssm_heads, Limits::HEADS)?;
            over(
                "intra.attn_v_head_dim",
                i.attn_v_head_dim.unwrap_or(0),
                Limits::HEAD_DIM,
            )?;
        }
        for (l, w) in self.windows.iter().flatten().enumerate() {
            over(&format!("windows[{l}]"), w.unwrap_or(0), Limits::POSITIONS)?;
        }
        Ok(())
    }

    /// The f32 weights must be addressable on this platform (4 GiB on wasm32).
    fn check_weight_bytes(&self) -> Result<()> {
        let params = self.param_count_u64();
        let bytes = params.saturating_mul(4);
        if bytes > usize::MAX as u64 {
            return Err(Error::Config(format!(
                "{params} parameters need {bytes} bytes as f32, more than this platform addresses ({} bytes)",
                usize::MAX
            )));
        }
        Ok(())
    }

    /// `windows`: one entry per layer, at least 1 where set, null on layers without
    /// attention.
    fn check_windows(&self) -> Result<()> {
        let Some(windows) = &self.windows else {
            return Ok(());
        };
        if windows.len() != self.layers.len() {
            return Err(Error::Config(format!(
                "`windows` has {} entries but `layers` has {}: give one per layer (null = full attention)",
                windows.len(),
                self.layers.len()
            )));
        }
        for (i, (w, kind)) in windows.iter().zip(&self.layers).enumerate() {
            let has_attn = match kind {
                LayerKind::Attention | LayerKind::Intra => true,
                LayerKind::Mamba => false,
            };
            match (w, has_attn) {
                (Some(0), _) => {
                    return Err(Error::Config(format!(
                        "windows[{i}] = 0: a window must be at least 1 (null = full attention)"
                    )))
                }
                (Some(w), false) => {
                    return Err(Error::Config(format!(
                        "windows[{i}] = {w} but layer {i} is \"mamba\" (no attention): write null"
                    )))
                }
                (Some(_), true) | (None, _) => {}
            }
        }
        Ok(())
    }

    /// Check every constraint of docs/FORMAT.md.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        self.check_limits()?;
        // d_ffn = 0 is allowed: blocks without an FFN (Mamba-2 models)
        if self.vocab_size == 0 || self.d_model == 0 {
            return bad("vocab_size and d_model must be positive".into());
        }
        if self.layers.is_empty() {
            return bad("`layers` is empty".into());
        }
        if self.norm_eps.is_nan() || self.norm_eps <= 0.0 {
            return bad("norm_eps must be positive".into());
        }
        let has = |k: LayerKind| self.layers.contains(&k);
        let needs_attn = has(LayerKind::Attention) || has(LayerKind::Intra);
        let needs_mamba = has(LayerKind::Mamba) || has(LayerKind::Intra);
        if needs_attn {
            let Some(a) = &self.attention else {
                return bad("layers use attention but the `attention` section is missing".into());
            };
            if a.n_heads == 0 || a.n_kv_heads == 0 || a.head_dim == 0 {
                return bad("attention: n_heads, n_kv_heads and head_dim must be positive".into());
            }
            if !a.head_dim.is_multiple_of(2) {
                return bad(format!(
                    "attention.head_dim = {} must be even (rotate-half RoPE)",
                    a.head_dim
                ));
            }
            if !a.n_heads.is_multiple_of(a.n_kv_heads) {
                return bad(format!(
                    "attention.n_heads = {} is not a multiple of n_kv_heads = {}",
                    a.n_heads, a.n_kv_heads
                ));
            }
            if a.window == Some(0) {
                return bad("attention.window must be at least 1 (or null)".into());
            }
            if a.v_head_dim == Some(0) {
                return bad("attention.v_head_dim must be at least 1 (or null)".into());
            }
            if a.rope_theta.is_nan() || a.rope_theta <= 0.0 {
                return bad("attention.rope_theta must be positive".into());
            }
            if let Some(r) = a.rope_dim {
                if r > a.head_dim || !r.is_multiple_of(2) {
                    return bad(format!(
                        "attention.rope_dim = {r} must be even and at most head_dim = {}",
                        a.head_dim
                    ));
                }
            }
        }
        if needs_mamba {
            let Some(m) = &self.mamba else {
                return bad("layers use Mamba but the `mamba` section is missing".into());
            };
            if m.d_state == 0 || m.head_dim == 0 || m.expand == 0 || m.n_groups == 0 {
                return bad(
                    "mamba: d_state, head_dim, expand and n_groups must be positive".into(),
                );
            }
            if m.conv_width == 0 {
                return bad("mamba.conv_width must be at least 1".into());
            }
            let e = m.expand * self.d_model;
            if has(LayerKind::Mamba) {
                if !e.is_multiple_of(m.head_dim) {
                    return bad(format!(
                        "mamba: d_inner = expand * d_model = {e} is not a multiple of head_dim = {}",
                        m.head_dim
                    ));
                }
                if !(e / m.head_dim).is_multiple_of(m.n_groups) {
                    return bad(format!(
                        "mamba: {} heads are not a multiple of n_groups = {}",
                        e / m.head_dim,
                        m.n_groups
                    ));
                }
                if let Some(g) = m.norm_groups {
                    if g == 0 || !e.is_multiple_of(g) {
                        return bad(format!(
                            "mamba.norm_groups = {g} must be at least 1 and divide d_inner = {e}"
                        ));
                    }
                }
            }
        }
        if has(LayerKind::Intra) {
            let Some(i) = &self.intra else {
                return bad("layers use intra blocks but the `intra` section is missing".into());
            };
            let m = self.mamba.as_ref().map(|m| m.n_groups).unwrap_or(1);
            if i.attn_heads == 0 || i.attn_kv_heads == 0 || i.ssm_heads == 0 {
                return bad(
                    "intra: attn_heads, attn_kv_heads and ssm_heads must be positive".into(),
                );
            }
            if !i.attn_heads.is_multiple_of(i.attn_kv_heads) {
                return bad(format!(
                    "intra.attn_heads = {} is not a multiple of attn_kv_heads = {}",
                    i.attn_heads, i.attn_kv_heads
                ));
            }
            if !i.ssm_heads.is_multiple_of(m) {
                return bad(format!(
                    "intra.ssm_heads = {} is not a multiple of mamba.n_groups = {m}",
                    i.ssm_heads
                ));
            }
            if i.attn_v_head_dim == Some(0) {
                return bad("intra.attn_v_head_dim must be at least 1 (or null)".into());
            }
            let (Some(a), Some(d)) = (self.intra_attn_dims(), self.intra_mamba_dims()) else {
                return bad("intra blocks need the `attention` and `mamba` sections".into());
            };
            match (i.out_proj, i.fusion) {
                (OutProj::Separate, Fusion::Concat) => {
                    return bad(
                        "intra: fusion \"concat\" needs out_proj \"joint\" (separate projections of a concat are an add)"
                            .into(),
                    );
                }
                (OutProj::Joint, Fusion::Add | Fusion::Subtract) if a.o_dim() != d.d_inner() => {
                    return bad(format!(
                        "intra: joint \"{}\" fusion needs equal branch widths, got attention attn_heads * v_head_dim = {} and Mamba ssm_heads * head_dim = {}",
                        i.fusion.name(),
                        a.o_dim(),
                        d.d_inner()
                    ));
                }
                (OutProj::Joint, Fusion::Add | Fusion::Subtract | Fusion::Concat)
                | (OutProj::Separate, Fusion::Add | Fusion::Subtract) => {}
            }
        }
        self.check_windows()?;
        if let Some(l) = &self.ffn_layers {
            if l.len() != self.layers.len() {
                return bad(format!(
                    "`ffn_layers` has {} entries but `layers` has {}: give one per layer",
                    l.len(),
                    self.layers.len()
                ));
            }
            if self.d_ffn == 0 && l.contains(&true) {
                return bad("`ffn_layers` gives a block an FFN but d_ffn = 0".into());
            }
        }
        self.check_weight_bytes()
    }
}
