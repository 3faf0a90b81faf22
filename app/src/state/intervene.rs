//! The Interventions panel's state (issue #11): the slot whose model is intervened on,
//! the set as typed (JSON or the short syntax, checked by `Backend::interventions`), the
//! recall case count, and the A/B results of the last set applied. The set, the slot,
//! the case count and whether the panel is open are in the link (`iv`, `iv_slot`,
//! `iv_cases`, `iv_open`); a link with a set applies it once the slot's model is in.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::intervene_run::{self as run, LossAb, MapsAb, RecallAb};
use super::models::Models;
use super::ui::Ui;
use crate::engine::Backend;
use crate::paper::fetch::load_heldout;
use crate::paper::run::CANCELLED;
use crate::web;

/// Recall cases per A/B at most, and by default (`hybrid recall`'s default).
pub const MAX_CASES: usize = 512;
pub const DEFAULT_CASES: usize = 32;

/// A result, or why there is none.
pub type Outcome<T> = Option<Result<Arc<T>, String>>;

/// The panel's state.
#[derive(Clone, Copy)]
pub struct InterveneState {
    pub open: RwSignal<bool>,
    /// The slot (0-based) whose model the set applies to.
    pub slot: RwSignal<usize>,
    /// The set as typed.
    pub text: RwSignal<String>,
    pub cases: RwSignal<usize>,
    /// (model id, the set as the engine read it) of the results shown.
    pub applied: RwSignal<Option<(String, String)>>,
    pub loss: RwSignal<Outcome<LossAb>>,
    pub recall: RwSignal<Outcome<RecallAb>>,
    pub maps: RwSignal<Outcome<MapsAb>>,
    /// Why the set was refused.
    pub error: RwSignal<Option<String>>,
    /// What runs now.
    pub busy: RwSignal<Option<String>>,
    pub progress: RwSignal<f64>,
    pub cancel: StoredValue<bool>,
    /// Apply once the slot's model is loaded (a link, a finding or a tour step).
    pub pending: RwSignal<bool>,
}

impl InterveneState {
    /// From the link (`ui`'s fields); a set in the link is applied once its model is in.
    pub fn new(ui: Ui) -> Self {
        let s = InterveneState {
            open: RwSignal::new(false),
            slot: RwSignal::new(0),
            text: RwSignal::new(String::new()),
            cases: RwSignal::new(DEFAULT_CASES),
            applied: RwSignal::new(None),
            loss: RwSignal::new(None),
            recall: RwSignal::new(None),
            maps: RwSignal::new(None),
            error: RwSignal::new(None),
            busy: RwSignal::new(None),
            progress: RwSignal::new(0.0),
            cancel: StoredValue::new(false),
            pending: RwSignal::new(false),
        };
        ui.bind("iv_open", s.open, false);
        ui.bind("iv", s.text, String::new());
        ui.bind("iv_slot", s.slot, 0);
        ui.bind("iv_cases", s.cases, DEFAULT_CASES);
        s.pending.set(ui.field("iv").is_some());
        if s.pending.get_untracked() {
            s.open.set(true);
        }
        s
    }

    /// Opens the panel on slot 0 with `set`, applied once the model is in.
    pub fn open_with(self, set: &str) {
        self.slot.set(0);
        self.text.set(set.to_string());
        self.open.set(true);
        self.pending.set(true);
    }

    /// Applies the pending set when the slot holds its model, loaded.
    pub fn run_pending(self, models: Models, prompt: RwSignal<String>) {
        Effect::new(move |_| {
            if !self.pending.get() || self.busy.get().is_some() {
                return;
            }
            let Some(slot) = models.slots.get(self.slot.get()).copied() else {
                return;
            };
            let key = slot.key.get();
            slot.version.track();
            let loaded = slot
                .backend
                .with_value(|b| b.as_ref().map(|b| Some(&b.loaded().id) == key.as_ref()));
            if slot.ready() && loaded == Some(true) {
                self.pending.set(false);
                spawn_local(self.apply(models, prompt.get_untracked()));
            }
        });
    }

    /// Checks the typed set against the slot's model, then runs the A/B: the maps of
    /// `prompt`, recall (recall models) and the loss over the held-out passage (models
    /// that read it). A refused set is a message; nothing runs.
    pub async fn apply(self, models: Models, prompt: String) {
        if self.busy.get_untracked().is_some() {
            return;
        }
        let slot = models.slots.get(self.slot.get_untracked()).copied();
        let Some(backend) = slot.and_then(|s| s.backend.get_value()) else {
            self.error
                .set(Some("the model of this slot is not loaded yet".into()));
            return;
        };
        let set = match backend.interventions(&self.text.get_untracked()) {
            Ok(set) => set,
            Err(e) => return self.error.set(Some(e)),
        };
        self.error.set(None);
        self.cancel.set_value(false);
        self.progress.set(0.0);
        self.loss.set(None);
        self.recall.set(None);
        self.applied
            .set(Some((backend.loaded().id.clone(), set.to_string())));
        let cancelled = move || self.cancel.get_value();
        self.busy.set(Some("maps".into()));
        self.maps
            .set(Some(run::maps_ab(&backend, &prompt, &set).map(Arc::new)));
        web::yield_to_browser().await;
        if run::is_recall_model(&backend) {
            self.busy.set(Some("recall".into()));
            let cases = self.cases.get_untracked().clamp(1, MAX_CASES);
            let r = run::recall_ab(&backend, &set, cases, &cancelled).await;
            self.recall.set(Some(r.map(Arc::new)));
        }
        self.busy.set(Some("loss over the held-out passage".into()));
        self.loss
            .set(self.loss_of(&backend, &set, &cancelled).await);
        self.busy.set(None);
    }

    /// The loss A/B, `None` for a model that cannot read the passage (it says why).
    async fn loss_of(
        self,
        backend: &Backend,
        set: &crate::engine::Interventions,
        cancelled: &dyn Fn() -> bool,
    ) -> Outcome<LossAb> {
        let tokens = match load_heldout().await {
            Ok(h) => h.tokens,
            Err(e) => return Some(Err(e)),
        };
        if let Some(why) = run::passage_unreadable(backend, &tokens) {
            return Some(Err(why));
        }
        let progress = move |f: f64| self.progress.set(f);
        let r = run::loss_ab(backend, &tokens, set, cancelled, &progress).await;
        Some(r.map(Arc::new))
    }

    /// Stops the running A/B (the parts already done stay).
    pub fn stop(self) {
        self.cancel.set_value(true);
    }

    /// Whether a result is a stop by the user.
    pub fn stopped<T>(r: &Outcome<T>) -> bool {
        matches!(r, Some(Err(e)) if e == CANCELLED)
    }
}

/// Keeps `window.__hybrid_iv` in step: what tests read of the panel (the set applied,
/// the A/B numbers, whether the two runs are identical, the engine of each number).
pub fn publish(iv: InterveneState) {
    Effect::new(move |_| {
        let err = |e: &String| serde_json::json!({ "error": e });
        let loss = iv.loss.get().map(|r| match r {
            Ok(l) => {
                let (b0, b1) = l.means(&l.before);
                let (a0, a1) = l.means(&l.after);
                let finite = l.before.iter().chain(&l.after).all(|x| x.is_finite());
                serde_json::json!({"tokens": l.before.len(), "train_len": l.train_len,
                    "before": [b0, b1], "after": [a0, a1], "finite": finite,
                    "identical": l.before == l.after, "engine": l.engine})
            }
            Err(e) => err(&e),
        });
        let run = |r: &run::RecallRun| serde_json::json!({"percent": format!("{:.1}", r.percent), "right": r.right, "asked": r.asked});
        let recall = iv.recall.get().map(|r| match r {
            Ok(r) => serde_json::json!({"cases": r.cases, "before": run(&r.before),
                "after": run(&r.after), "identical": r.before == r.after, "engine": r.engine}),
            Err(e) => err(&e),
        });
        let maps = iv.maps.get().map(|r| match r {
            Ok(m) => {
                serde_json::json!({"changes": run::layer_changes(&m), "engine": m.after.engine})
            }
            Err(e) => err(&e),
        });
        let status = serde_json::json!({
            "open": iv.open.get(),
            "slot": iv.slot.get(),
            "text": iv.text.get(),
            "applied": iv.applied.get(),
            "busy": iv.busy.get(),
            "error": iv.error.get(),
            "loss": loss,
            "recall": recall,
            "maps": maps,
        });
        web::publish_value("__hybrid_iv", &status);
    });
}
