//! What the page says about a design: a short name that tells designs apart (Scaling's
//! legend), and the intra choices that compute the same functions as another.

use crate::engine::{Fusion, IntraConfig, LayerKind, ModelConfig, OutProj};

/// Design choices of an intra block that compute the same functions as another choice.
pub fn equivalences(i: &IntraConfig) -> Vec<&'static str> {
    let mut out = Vec::new();
    match (i.fusion, i.out_proj) {
        (Fusion::Subtract, OutProj::Separate) => out.push(
            "subtract with separate projections = add with the Mamba out_proj negated (W_a a - W_s s = W_a a + (-W_s) s): the same models, only trained from a different start.",
        ),
        (Fusion::Add, OutProj::Separate) => out.push(
            "add with separate projections = concat with one joint projection (W [a | s] = W_a a + W_s s), and = subtract with the Mamba out_proj negated.",
        ),
        (Fusion::Concat, OutProj::Separate | OutProj::Joint) => out.push(
            "concat with its joint projection = add with separate projections: the joint matrix is the two separate ones side by side (W [a | s] = W_a a + W_s s).",
        ),
        (Fusion::Subtract | Fusion::Add, OutProj::Joint) => out.push(
            "add or subtract with one joint projection shares W between the branches (out_proj(a ± s)): a special case of separate projections with W_s = ±W_a, fewer parameters.",
        ),
    }
    if i.branch_scalars && i.branch_norm {
        out.push("learned scalars after a per-branch norm fold into the norm weights: they add nothing the norm cannot learn (the paper's best recipe has none).");
    } else if i.branch_scalars && matches!(i.out_proj, OutProj::Separate) {
        out.push("learned scalars before separate projections fold into those projections.");
    }
    out
}

/// A short, distinct name of a plan: "2 intra (subtract, separate) + 6 Mamba · d256".
pub fn plan_name(cfg: &ModelConfig) -> String {
    let count = |k| cfg.layers.iter().filter(|&&l| l == k).count();
    let mut parts = Vec::new();
    for (k, n) in [
        (LayerKind::Attention, "attention"),
        (LayerKind::Intra, "intra"),
        (LayerKind::Mamba, "Mamba"),
    ] {
        let c = count(k);
        if c == 0 {
            continue;
        }
        let detail = match (k, &cfg.intra) {
            (LayerKind::Intra, Some(i)) => {
                let fusion = match i.fusion {
                    Fusion::Add => "add",
                    Fusion::Subtract => "subtract",
                    Fusion::Concat => "concat",
                };
                let proj = match i.out_proj {
                    OutProj::Separate => "separate",
                    OutProj::Joint => "joint",
                };
                let norm = if i.branch_norm { "" } else { ", no norm" };
                let scalars = if i.branch_scalars { ", scalars" } else { "" };
                format!(" ({fusion}, {proj}{norm}{scalars})")
            }
            _ => String::new(),
        };
        parts.push(format!("{c} {n}{detail}"));
    }
    let window = cfg
        .attention
        .as_ref()
        .and_then(|a| a.window)
        .map(|w| format!(" · window {w}"))
        .unwrap_or_default();
    format!("{} · d{}{window}", parts.join(" + "), cfg.d_model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intra_designs_get_distinct_names_and_equivalences() {
        let c = crate::arch::preset("playground-intra").unwrap();
        let mut names = std::collections::BTreeSet::new();
        for (f, o) in [
            (Fusion::Subtract, OutProj::Separate),
            (Fusion::Add, OutProj::Separate),
            (Fusion::Concat, OutProj::Joint),
        ] {
            let mut c = c.clone();
            let i = c.intra.as_mut().unwrap();
            i.fusion = f;
            i.out_proj = o;
            crate::arch::numbers(&c, 64).unwrap_or_else(|e| panic!("{f:?}: {e}"));
            assert!(!equivalences(c.intra.as_ref().unwrap()).is_empty());
            names.insert(plan_name(&c));
        }
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(
            names.iter().any(|n| n.contains("concat, joint")),
            "{names:?}"
        );
    }
}
