//! Computing the figures with the models in the slots: each run takes the ready slots,
//! calls `paper::run`, and fills the figure's signal model by model (a cancelled run keeps
//! what it has).

use std::rc::Rc;

use leptos::prelude::*;

use super::figures::{PositionCurve, QualityPoint, RecallCell};
use super::run::{self, CANCELLED};
use super::state::{PaperState, RECALL_LENGTHS, RECALL_PAIRS};
use crate::engine::{Backend, Interventions};
use crate::state::Models;

/// (model id, display name, backend) of every ready slot.
fn ready(models: Models) -> Vec<(String, String, Rc<Backend>)> {
    models
        .active_untracked()
        .into_iter()
        .filter_map(|s| {
            let id = s.key.get_untracked()?;
            let b = s.backend.get_value()?;
            Some((id.clone(), models.model_name(&id), b))
        })
        .collect()
}

impl PaperState {
    fn begin(self, what: &str) -> bool {
        if self.busy.get_untracked().is_some() {
            return false;
        }
        self.cancel.set_value(false);
        self.error.set(None);
        self.progress.set(0.0);
        self.busy.set(Some(what.to_string()));
        true
    }

    fn finish(self, result: Result<(), String>) {
        if let Err(e) = result {
            let text = if e == CANCELLED {
                "Stopped.".to_string()
            } else {
                e
            };
            self.error.set(Some(text));
        }
        self.busy.set(None);
    }

    /// Computes a figure by id ("quality", "position", "recall"); others need no engine.
    pub async fn compute(self, figure: &str, models: Models) {
        match figure {
            "quality" => self.quality_run(models).await,
            "position" => self.position_run(models).await,
            "recall" => self.recall_run(models).await,
            _ => {}
        }
    }

    /// Fig 1b: validation loss from metrics.json, decode tokens/s measured now.
    pub async fn quality_run(self, models: Models) {
        if !self.begin("measuring decode speed") {
            return;
        }
        self.quality.set(Vec::new());
        let zoo = self
            .zoo
            .get_untracked()
            .and_then(Result::ok)
            .map(|(z, _)| z);
        let list = ready(models);
        let mut result = Ok(());
        let cancelled = move || self.cancel.get_value();
        for (i, (id, name, backend)) in list.iter().enumerate() {
            self.busy.set(Some(format!("measuring {name}")));
            match run::decode_speed(backend, &cancelled).await {
                Ok((tokens_per_s, engine)) => self.quality.update(|v| {
                    v.push(QualityPoint {
                        model: name.clone(),
                        id: id.clone(),
                        val_loss: zoo.as_ref().and_then(|z| z.model(id)?.val_loss()),
                        tokens_per_s,
                        engine,
                    })
                }),
                Err(e) => {
                    result = Err(if e == CANCELLED {
                        e
                    } else {
                        format!("{name}: {e}")
                    });
                    break;
                }
            }
            self.progress.set((i + 1) as f64 / list.len() as f64);
            if self.cancel.get_value() {
                result = Err(CANCELLED.into());
                break;
            }
        }
        self.finish(result);
    }

    /// Fig 3c: loss by position over the held-out passage, per ready model.
    pub async fn position_run(self, models: Models) {
        if !self.begin("loss by position") {
            return;
        }
        self.position.set(Vec::new());
        let tokens = match self.heldout.get_untracked() {
            Some(Ok(h)) => h.tokens,
            Some(Err(e)) => return self.finish(Err(e)),
            None => return self.finish(Err("the held-out passage has not arrived yet".into())),
        };
        let list = ready(models);
        let n = list.len().max(1) as f64;
        let mut result = Ok(());
        for (i, (_, name, backend)) in list.iter().enumerate() {
            self.busy.set(Some(format!("loss by position: {name}")));
            let vocab = backend.config().vocab_size;
            if tokens.iter().any(|&t| t as usize >= vocab) {
                result = Err(format!("{name}: the passage is Shakespeare text; this model's vocabulary ({vocab}) cannot read it"));
                break;
            }
            let cancelled = move || self.cancel.get_value();
            let progress = move |f: f64| self.progress.set((i as f64 + f) / n);
            let none = Interventions::none();
            match run::token_losses(backend, &tokens, &none, &cancelled, &progress).await {
                Ok((losses, engine)) => self.position.update(|v| {
                    v.push(PositionCurve {
                        model: name.clone(),
                        engine,
                        losses,
                    })
                }),
                Err(e) => {
                    result = Err(if e == CANCELLED {
                        e
                    } else {
                        format!("{name}: {e}")
                    });
                    break;
                }
            }
        }
        self.finish(result);
    }

    /// Fig 4 analogue: recall accuracy over pairs x length, per ready model.
    pub async fn recall_run(self, models: Models) {
        if !self.begin("recall grid") {
            return;
        }
        self.recall.set(Vec::new());
        let zoo = self
            .zoo
            .get_untracked()
            .and_then(Result::ok)
            .map(|(z, _)| z);
        let cases = self.recall_cases.get_untracked().clamp(1, 512);
        let list = ready(models);
        let total = (list.len() * RECALL_LENGTHS.len() * RECALL_PAIRS.len()).max(1) as f64;
        let mut done = 0.0;
        let cancelled = move || self.cancel.get_value();
        for (id, name, backend) in &list {
            if backend.config().vocab_size < 256 || !id.starts_with("recall") {
                return self.finish(Err(format!(
                    "{name} is not a recall model: choose recall-* models (Show me does)"
                )));
            }
            for seq_len in RECALL_LENGTHS {
                for n_pairs in RECALL_PAIRS {
                    self.busy.set(Some(format!(
                        "recall: {name}, {n_pairs} pairs at {seq_len} tokens"
                    )));
                    match run::recall_accuracy(backend, n_pairs, seq_len, cases, &cancelled).await {
                        Ok(accuracy) => self.recall.update(|v| {
                            v.push(RecallCell {
                                model: name.clone(),
                                id: id.clone(),
                                seq_len,
                                n_pairs,
                                cases,
                                accuracy,
                                committed: zoo
                                    .as_ref()
                                    .and_then(|z| z.model(id)?.recall_grid()?.at(seq_len, n_pairs)),
                            })
                        }),
                        Err(e) => {
                            let e = if e == CANCELLED {
                                e
                            } else {
                                format!("{name}: {e}")
                            };
                            return self.finish(Err(e));
                        }
                    }
                    done += 1.0;
                    self.progress.set(done / total);
                }
            }
        }
        self.finish(Ok(()));
    }
}
