//! The Architecture view's model, plain Rust: bundled configs (the playground's models
//! and the paper's 1B-class ones, analytic only), editing a layer plan, and the numbers
//! derived from a config (parameters, cache at a context, FLOPs per token).

use crate::engine::{
    AttentionConfig, Fusion, IntraConfig, LayerKind, MambaConfig, ModelConfig, OutProj,
};

/// A bundled config.
pub struct Preset {
    pub id: &'static str,
    pub label: &'static str,
    pub json: &'static str,
    /// Too large to run in a page: its numbers are analytic only.
    pub analytic_only: bool,
}

macro_rules! cfg {
    ($f:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../assets/configs/",
            $f
        ))
    };
}

pub const PRESETS: [Preset; 9] = [
    Preset {
        id: "playground-inter",
        label: "Playground inter (2 attention in 8)",
        json: cfg!("playground-inter.json"),
        analytic_only: false,
    },
    Preset {
        id: "playground-intra",
        label: "Playground intra (2 intra in 8)",
        json: cfg!("playground-intra.json"),
        analytic_only: false,
    },
    Preset {
        id: "playground-mamba2",
        label: "Playground Mamba-2",
        json: cfg!("playground-mamba2.json"),
        analytic_only: false,
    },
    Preset {
        id: "playground-transformer",
        label: "Playground Transformer",
        json: cfg!("playground-transformer.json"),
        analytic_only: false,
    },
    Preset {
        id: "paper-transformer",
        label: "Paper 1B Transformer (analytic)",
        json: cfg!("paper-transformer.json"),
        analytic_only: true,
    },
    Preset {
        id: "paper-swa",
        label: "Paper 1B SWA, 3 global layers (analytic)",
        json: cfg!("paper-swa.json"),
        analytic_only: true,
    },
    Preset {
        id: "paper-mamba2",
        label: "Paper 1B Mamba-2 (analytic)",
        json: cfg!("paper-mamba2.json"),
        analytic_only: true,
    },
    Preset {
        id: "paper-inter",
        label: "Paper 1B inter 1:5 (analytic)",
        json: cfg!("paper-inter.json"),
        analytic_only: true,
    },
    Preset {
        id: "paper-intra",
        label: "Paper 1B intra (analytic)",
        json: cfg!("paper-intra.json"),
        analytic_only: true,
    },
];

/// A preset's config.
pub fn preset(id: &str) -> Result<ModelConfig, String> {
    let p = PRESETS
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| format!("no bundled config {id:?}"))?;
    ModelConfig::from_json(p.json.as_bytes()).map_err(|e| format!("{}: {e}", p.id))
}

/// The paper-scale configs (analytic lines on the Scaling chart).
pub fn paper_configs() -> Vec<(String, ModelConfig)> {
    PRESETS
        .iter()
        .filter(|p| p.analytic_only)
        .filter_map(|p| Some((p.label.to_string(), preset(p.id).ok()?)))
        .collect()
}

/// attention -> mamba -> intra -> attention.
pub fn next_kind(k: LayerKind) -> LayerKind {
    match k {
        LayerKind::Attention => LayerKind::Mamba,
        LayerKind::Mamba => LayerKind::Intra,
        LayerKind::Intra => LayerKind::Attention,
    }
}

/// Fills in the config sections the layer plan needs (defaults sized from d_model) and
/// drops the ones it no longer uses, so an edited plan stays a valid config.
pub fn fit_sections(cfg: &mut ModelConfig) {
    let d = cfg.d_model;
    let uses = |k: LayerKind| cfg.layers.contains(&k);
    let (attn, mamba, intra) = (
        uses(LayerKind::Attention) || uses(LayerKind::Intra),
        uses(LayerKind::Mamba) || uses(LayerKind::Intra),
        uses(LayerKind::Intra),
    );
    if attn && cfg.attention.is_none() {
        let head_dim = if d >= 1024 { 128 } else { 32 };
        let n_heads = (d / head_dim).max(2);
        cfg.attention = Some(AttentionConfig::plain(
            n_heads,
            (n_heads / 2).max(1),
            head_dim,
        ));
    }
    if mamba && cfg.mamba.is_none() {
        cfg.mamba = Some(MambaConfig {
            d_state: if d >= 1024 { 128 } else { 64 },
            head_dim: if d >= 1024 { 64 } else { 32 },
            expand: 2,
            n_groups: 1,
            conv_width: 4,
            norm_groups: None,
        });
    }
    if intra && cfg.intra.is_none() {
        if let (Some(a), Some(m)) = (&cfg.attention, &cfg.mamba) {
            let ssm_heads = (m.expand * d / m.head_dim / 2).max(1);
            cfg.intra = Some(IntraConfig {
                attn_heads: (a.n_heads / 2).max(1),
                attn_kv_heads: (a.n_kv_heads / 2).max(1),
                ssm_heads,
                attn_v_head_dim: None,
                fusion: Fusion::Subtract,
                branch_norm: true,
                out_proj: OutProj::Separate,
                branch_scalars: false,
            });
        }
    }
    // one window per layer, none on a layer without attention
    let kinds = cfg.layers.clone();
    if let Some(w) = cfg.windows.as_mut() {
        w.resize(kinds.len(), None);
        for (w, k) in w.iter_mut().zip(&kinds) {
            match k {
                LayerKind::Mamba => *w = None,
                LayerKind::Attention | LayerKind::Intra => {}
            }
        }
    }
    if !attn {
        cfg.attention = None;
        cfg.windows = None;
    }
    if !mamba {
        cfg.mamba = None;
    }
    if !intra {
        cfg.intra = None;
    }
}

/// `n` layers with `k` attention (or intra) blocks placed evenly in the middle (never
/// first), the rest Mamba: the paper's placement (1:5 in 13 layers -> 4th and 8th).
pub fn spread_plan(n: usize, k: usize, hybrid: LayerKind) -> Vec<LayerKind> {
    let mut layers = vec![LayerKind::Mamba; n];
    let k = k.min(n.saturating_sub(1));
    for i in 1..=k {
        let pos = (i * n) / (k + 1);
        if let Some(l) = layers.get_mut(pos.max(1)) {
            *l = hybrid;
        }
    }
    layers
}

/// The numbers shown beside the drawing.
#[derive(Clone, Debug, PartialEq)]
pub struct Numbers {
    pub params: usize,
    pub cache_bytes: usize,
    pub kv_bytes: usize,
    pub ssm_bytes: usize,
    pub flops_per_token: usize,
}

/// Parameters, cache at `context`, FLOPs per token at `context`; validates first.
pub fn numbers(cfg: &ModelConfig, context: usize) -> Result<Numbers, String> {
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(Numbers {
        params: cfg.param_count(),
        cache_bytes: cfg.cache_bytes(context),
        kv_bytes: cfg.kv_cache_bytes(context),
        ssm_bytes: cfg.ssm_state_bytes() + cfg.conv_state_bytes(),
        flops_per_token: cfg.flops_per_token(context),
    })
}

/// Largest context the numbers are computed at.
pub const MAX_CONTEXT: usize = 1 << 20;

/// A whole number typed into a field, checked against `min..=max`; empty is `None` when
/// the field is optional. The error says what is allowed.
pub fn parse_count(
    text: &str,
    min: usize,
    max: usize,
    optional: bool,
) -> Result<Option<usize>, String> {
    let t = text.trim();
    if t.is_empty() {
        return if optional {
            Ok(None)
        } else {
            Err(format!("enter a whole number from {min} to {max}"))
        };
    }
    let digits = t.strip_prefix('+').unwrap_or(t);
    if t.starts_with('-') && digits.len() > 1 {
        return Err(format!(
            "{t} is negative: enter a whole number from {min} to {max}"
        ));
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{t:?} is not a whole number (from {min} to {max})"));
    }
    match digits.parse::<usize>() {
        Ok(v) if v < min => Err(format!("{v} is below the minimum of {min}")),
        Ok(v) if v <= max => Ok(Some(v)),
        _ => Err(format!("{t} is above the maximum of {max}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        for p in PRESETS {
            let c = preset(p.id).unwrap();
            numbers(&c, 1024).unwrap_or_else(|e| panic!("{}: {e}", p.id));
        }
        let paper = paper_configs();
        assert_eq!(paper.len(), 5);
        for (name, c) in &paper {
            let p = c.param_count() as f64;
            assert!(
                (0.7e9..1.3e9).contains(&p),
                "{name}: {p} parameters is not 1B-class"
            );
        }
        // Paper scale, 8K context: the Transformer's cache dwarfs the hybrids' (f32 here,
        // twice the paper's bf16 numbers).
        let t = preset("paper-transformer").unwrap().cache_bytes(8192);
        let inter = preset("paper-inter").unwrap().cache_bytes(8192);
        let mamba = preset("paper-mamba2").unwrap().cache_bytes(8192);
        assert_eq!(t, 512 << 20);
        assert!(mamba < inter && inter < t / 4);
    }

    #[test]
    fn editing_keeps_configs_valid() {
        let mut c = preset("playground-transformer").unwrap();
        for i in [1, 2, 5] {
            c.layers[i] = next_kind(c.layers[i]); // -> mamba
        }
        c.layers[2] = next_kind(c.layers[2]); // -> intra
        fit_sections(&mut c);
        numbers(&c, 512).unwrap();
        assert!(c.intra.is_some() && c.mamba.is_some());
        c.layers = vec![LayerKind::Mamba; 4];
        fit_sections(&mut c);
        assert!(c.attention.is_none() && c.intra.is_none());
        let n = numbers(&c, 100).unwrap();
        assert_eq!(n.kv_bytes, 0);
        assert_eq!(
            n.cache_bytes,
            numbers(&c, 100_000).unwrap().cache_bytes,
            "constant state"
        );
    }

    #[test]
    fn fields_say_what_is_wrong() {
        assert_eq!(parse_count(" 8192 ", 1, MAX_CONTEXT, false), Ok(Some(8192)));
        assert_eq!(parse_count("", 1, 9, true), Ok(None));
        for bad in [
            "-5",
            "0",
            "99999999999",
            "1e3",
            "abc",
            "",
            "99999999999999999999999",
        ] {
            let e = parse_count(bad, 1, MAX_CONTEXT, false).unwrap_err();
            assert!(
                e.contains("1048576") || e.contains("minimum of 1"),
                "{bad}: {e}"
            );
        }
        assert!(parse_count("-5", 1, 9, false)
            .unwrap_err()
            .contains("negative"));
        assert!(parse_count("0", 1, 9, false)
            .unwrap_err()
            .contains("minimum of 1"));
    }

    #[test]
    fn spreads_like_the_paper() {
        let p = spread_plan(13, 2, LayerKind::Attention);
        let at: Vec<usize> = (0..13).filter(|&i| p[i] == LayerKind::Attention).collect();
        assert_eq!(at, vec![4, 8]);
        assert_eq!(spread_plan(3, 9, LayerKind::Intra)[0], LayerKind::Mamba);
        assert_eq!(
            next_kind(next_kind(next_kind(LayerKind::Mamba))),
            LayerKind::Mamba
        );
    }
}
