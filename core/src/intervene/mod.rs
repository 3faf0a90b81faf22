//! Interventions: switch parts of a model off or change them at run time, never by
//! changing the weights (issue #11). An [`Interventions`] set is validated against a
//! [`ModelConfig`] and turned into one [`LayerPlan`] per block, which the CPU engine reads
//! (`Model::forward_with`). The empty set is the unchanged model, bit for bit.
//!
//! JSON: `[{"kind": "branch_scale", "layer": 1, "branch": "attn", "scale": 0}, ...]`;
//! the short syntax of the command line is in [`text`].

mod text;

use crate::config::{LayerKind, ModelConfig};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// One branch of an intra-layer block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Branch {
    Attn,
    Ssm,
}

/// A part of a block that can be skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Mixer,
    Ffn,
}

/// What happens to dt (Δ, after softplus) of the chosen heads.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DtOp {
    /// Δ <- k Δ.
    Scale(f32),
    /// Δ <- min(Δ, max); JSON writes +inf as null, and reads null as +inf.
    Max(#[serde(deserialize_with = "inf_if_null")] f32),
}

/// A number, or null for +inf (JSON has no infinity).
fn inf_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f32, D::Error> {
    Ok(Option::<f32>::deserialize(d)?.unwrap_or(f32::INFINITY))
}

/// One intervention on one block (`layer` counts from 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Intervention {
    /// Multiply one branch of an intra block by `scale` after its norm (0 zeroes it).
    BranchScale {
        layer: usize,
        branch: Branch,
        scale: f32,
    },
    /// Drop the per-head RMS norm of one branch (None: both) of an intra block.
    BranchNormOff {
        layer: usize,
        #[serde(default)]
        branch: Option<Branch>,
    },
    /// Do not add the block's mixer (or FFN) output: the residual passes unchanged.
    Skip { layer: usize, part: Part },
    /// A sliding window of `window` tokens on the layer's attention (replaces its own).
    Window { layer: usize, window: usize },
    /// Key positions `from..to` are hidden from the layer's later queries (a query always
    /// sees its own key).
    Hide {
        layer: usize,
        from: usize,
        to: usize,
    },
    /// Zero the SSM state S of the chosen heads (None: all) just before token `at`.
    SsmReset {
        layer: usize,
        at: usize,
        #[serde(default)]
        heads: Option<Vec<usize>>,
    },
    /// Freeze the SSM state S of the chosen heads (None: all) from token `from` on: their
    /// Δ is 0 there, so S keeps its value (decay 1, no input) and y = S C + D x.
    SsmFreeze {
        layer: usize,
        from: usize,
        #[serde(default)]
        heads: Option<Vec<usize>>,
    },
    /// Change Δ of the chosen heads (None: all) at every token.
    Dt {
        layer: usize,
        #[serde(default)]
        heads: Option<Vec<usize>>,
        op: DtOp,
    },
}

/// A set of interventions, applied together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Interventions(pub Vec<Intervention>);

/// The SSM side of one block's plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SsmPlan {
    /// (token, heads): zero S of these heads (None: all) before that token.
    pub resets: Vec<(usize, Option<Vec<usize>>)>,
    /// Edits of Δ, in order.
    pub dt: Vec<(Option<Vec<usize>>, DtOp)>,
    /// (token, heads): Δ = 0 for these heads (None: all) from that token on.
    pub freezes: Vec<(usize, Option<Vec<usize>>)>,
}

/// What one block does differently; `LayerPlan::default()` changes nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerPlan {
    /// Extra factors on the intra branches (None: untouched).
    pub attn_scale: Option<f32>,
    pub ssm_scale: Option<f32>,
    /// Whether the intra branch norms run (true: as trained).
    pub attn_norm: bool,
    pub ssm_norm: bool,
    pub skip_mixer: bool,
    pub skip_ffn: bool,
    /// A window imposed on the attention.
    pub window: Option<usize>,
    /// Hidden key ranges [from, to).
    pub hide: Vec<(usize, usize)>,
    pub ssm: SsmPlan,
}

impl Default for LayerPlan {
    fn default() -> Self {
        LayerPlan {
            attn_scale: None,
            ssm_scale: None,
            attn_norm: true,
            ssm_norm: true,
            skip_mixer: false,
            skip_ffn: false,
            window: None,
            hide: Vec::new(),
            ssm: SsmPlan::default(),
        }
    }
}

impl Intervention {
    /// The block it acts on.
    pub fn layer(&self) -> usize {
        match self {
            Intervention::BranchScale { layer, .. }
            | Intervention::BranchNormOff { layer, .. }
            | Intervention::Skip { layer, .. }
            | Intervention::Window { layer, .. }
            | Intervention::Hide { layer, .. }
            | Intervention::SsmReset { layer, .. }
            | Intervention::SsmFreeze { layer, .. }
            | Intervention::Dt { layer, .. } => *layer,
        }
    }
}

impl Interventions {
    /// No intervention.
    pub fn none() -> Self {
        Interventions(Vec::new())
    }

    /// True when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parse JSON (an array or one object) or the short syntax (see [`text`]).
    pub fn parse(s: &str) -> Result<Self> {
        let t = s.trim();
        if t.starts_with('[') {
            serde_json::from_str(t).map_err(|e| bad(format!("JSON: {e}")))
        } else if t.starts_with('{') {
            let one: Intervention =
                serde_json::from_str(t).map_err(|e| bad(format!("JSON: {e}")))?;
            Ok(Interventions(vec![one]))
        } else {
            text::parse_set(t)
        }
    }

    /// Check every intervention against `cfg` and build one plan per block.
    pub fn plan(&self, cfg: &ModelConfig) -> Result<Vec<LayerPlan>> {
        let mut plans = vec![LayerPlan::default(); cfg.layers.len()];
        for iv in &self.0 {
            let i = iv.layer();
            let (Some(kind), Some(p)) = (cfg.layers.get(i), plans.get_mut(i)) else {
                return Err(bad(format!(
                    "`{iv}`: layer {i} does not exist (the model has {} layers, 0..{})",
                    cfg.layers.len(),
                    cfg.layers.len()
                )));
            };
            apply(iv, i, *kind, cfg, p)?;
        }
        Ok(plans)
    }
}

/// An intervention error.
fn bad(msg: String) -> Error {
    Error::Intervention(msg)
}

/// Check `iv` on block `i` of kind `kind` and fold it into its plan.
fn apply(
    iv: &Intervention,
    i: usize,
    kind: LayerKind,
    cfg: &ModelConfig,
    p: &mut LayerPlan,
) -> Result<()> {
    let no = |what: &str| Err(bad(format!("`{iv}`: layer {i} ({kind:?}) has no {what}")));
    let intra = matches!(kind, LayerKind::Intra);
    let has_attn = !matches!(kind, LayerKind::Mamba);
    let ssm_heads = match kind {
        LayerKind::Attention => None,
        LayerKind::Mamba => cfg.mamba_dims().map(|m| m.n_heads),
        LayerKind::Intra => cfg.intra_mamba_dims().map(|m| m.n_heads),
    };
    let check_heads = |heads: &Option<Vec<usize>>| -> Result<()> {
        let n = ssm_heads.unwrap_or(0);
        match heads.iter().flatten().find(|&&h| h >= n) {
            Some(h) => Err(bad(format!(
                "`{iv}`: layer {i} has {n} SSM heads, no head {h}"
            ))),
            None => Ok(()),
        }
    };
    match iv {
        Intervention::BranchScale { branch, scale, .. } => {
            if !intra {
                return no("intra branches");
            }
            if !scale.is_finite() {
                return Err(bad(format!("`{iv}`: the scale must be a finite number")));
            }
            let s = match branch {
                Branch::Attn => &mut p.attn_scale,
                Branch::Ssm => &mut p.ssm_scale,
            };
            *s = Some(s.unwrap_or(1.0) * scale);
        }
        Intervention::BranchNormOff { branch, .. } => {
            if !intra {
                return no("intra branches");
            }
            if !cfg.intra.as_ref().is_some_and(|c| c.branch_norm) {
                return no("branch norm");
            }
            if *branch != Some(Branch::Ssm) {
                p.attn_norm = false;
            }
            if *branch != Some(Branch::Attn) {
                p.ssm_norm = false;
            }
        }
        Intervention::Skip {
            part: Part::Mixer, ..
        } => p.skip_mixer = true,
        Intervention::Skip {
            part: Part::Ffn, ..
        } => {
            if !cfg.has_ffn(i) {
                return no("FFN");
            }
            p.skip_ffn = true;
        }
        Intervention::Window { window, .. } => {
            if !has_attn {
                return no("attention");
            }
            if *window == 0 || p.window.is_some() {
                return Err(bad(format!(
                    "`{iv}`: the window must be >= 1, one per layer"
                )));
            }
            p.window = Some(*window);
        }
        Intervention::Hide { from, to, .. } => {
            if !has_attn {
                return no("attention");
            }
            if from >= to {
                return Err(bad(format!("`{iv}`: the range {from}..{to} is empty")));
            }
            p.hide.push((*from, *to));
        }
        Intervention::SsmReset { at, heads, .. } => {
            if ssm_heads.is_none() {
                return no("SSM");
            }
            check_heads(heads)?;
            p.ssm.resets.push((*at, heads.clone()));
        }
        Intervention::SsmFreeze { from, heads, .. } => {
            if ssm_heads.is_none() {
                return no("SSM");
            }
            check_heads(heads)?;
            p.ssm.freezes.push((*from, heads.clone()));
        }
        Intervention::Dt { heads, op, .. } => {
            if ssm_heads.is_none() {
                return no("SSM");
            }
            check_heads(heads)?;
            let ok = match op {
                DtOp::Scale(k) => k.is_finite() && *k >= 0.0,
                DtOp::Max(m) => *m > 0.0,
            };
            if !ok {
                return Err(bad(format!(
                    "`{iv}`: a dt scale must be finite and >= 0, a dt max > 0"
                )));
            }
            p.ssm.dt.push((heads.clone(), *op));
        }
    }
    Ok(())
}
