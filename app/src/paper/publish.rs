//! `window.__hybrid_paper`, what tests read of the paper's part: the tour step, the
//! figure in focus, whether the metrics arrived, and the numbers each figure drew.

use leptos::prelude::*;

use super::state::PaperState;
use super::tables;
use crate::web;

/// Keeps `window.__hybrid_paper` in step.
pub fn publish(paper: PaperState) {
    Effect::new(move |_| {
        let zoo = paper.zoo.get();
        let (zoo_state, missing, ablation) = match &zoo {
            None => ("loading", Vec::new(), Vec::new()),
            Some(Err(e)) => ("error", vec![e.clone()], Vec::new()),
            Some(Ok((z, m))) => ("ready", m.clone(), tables::ablation(z)),
        };
        let ablation: Vec<serde_json::Value> = ablation
            .iter()
            .map(|r| {
                let cells: Vec<serde_json::Value> = tables::ABLATION_CELLS
                    .iter()
                    .zip(&r.cells)
                    .map(|(&(l, p), s)| {
                        serde_json::json!({"seq_len": l, "n_pairs": p,
                            "mean": s.map(|s| s.mean), "sd": s.and_then(|s| s.sd), "n": s.map(|s| s.n)})
                    })
                    .collect();
                serde_json::json!({"family": r.family, "cells": cells})
            })
            .collect();
        let quality: Vec<serde_json::Value> = paper
            .quality
            .get()
            .iter()
            .map(|q| serde_json::json!({"id": q.id, "val_loss": q.val_loss, "tokens_per_s": q.tokens_per_s, "engine": q.engine}))
            .collect();
        let position: Vec<serde_json::Value> = paper
            .position
            .get()
            .iter()
            .map(|c| {
                let (a, b) = c.split(256);
                serde_json::json!({"model": c.model, "positions": c.losses.len(), "mean_in_train_len": a, "mean_beyond": b})
            })
            .collect();
        let recall: Vec<serde_json::Value> = paper
            .recall
            .get()
            .iter()
            .map(|c| {
                serde_json::json!({"id": c.id, "seq_len": c.seq_len, "n_pairs": c.n_pairs,
                "cases": c.cases, "accuracy": c.accuracy, "committed": c.committed})
            })
            .collect();
        let status = serde_json::json!({
            "tour": paper.tour.get().map(|s| s + 1),
            "figure": paper.figure.get(),
            "zoo": zoo_state,
            "missing": missing,
            "busy": paper.busy.get(),
            "error": paper.error.get(),
            "figures": {"quality": quality, "position": position, "recall": recall, "ablation": ablation},
        });
        web::publish_value("__hybrid_paper", &status);
    });
}
