//! Loading models into slots: the first models once the catalog and the engine are ready,
//! picking, adding and removing slots, fetching a model's files with progress.
//! Checkpoints opened from disk are in `state::opened`.
//!
//! Hand-written, not a resource: a load reports progress per downloaded chunk, is
//! abandoned when the slot is given another model, uploads to the GPU after building on
//! the CPU, and its result is swapped in place later when the GPU engine fails
//! ([`Actions::gpu_failed`]).

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::engine_choice::EngineChoice;
use super::generation::GenerationState;
use super::messages::{ErrorKey, Messages};
use super::models::{LoadState, Models, Slot, MAX_MODELS};
use crate::catalog::{ModelEntry, MODEL_FILES};
use crate::engine::Backend;
use crate::web;

/// What the model strip and the Compare view do (load, pick, generate): the slots, the
/// engine models go to, the outputs a new model clears, and the error channel. The
/// generation run is in `state::generate`.
#[derive(Clone, Copy)]
pub struct Actions {
    pub models: Models,
    pub engine: EngineChoice,
    pub generation: GenerationState,
    pub messages: Messages,
}

impl Actions {
    /// Once the catalog has arrived and the engine is chosen: fills the slots from the
    /// URL hash (else the first model), or reports why there is no catalog.
    pub fn start(self) {
        let started = StoredValue::new(false);
        Effect::new(move |_| {
            let catalog = self.models.catalog.get();
            if started.get_value() || !self.engine.chosen() {
                return;
            }
            let Some(catalog) = catalog else { return };
            started.set_value(true);
            match catalog {
                Ok(models) => self.fill_slots(&models),
                Err(e) => self.messages.report(ErrorKey::Catalog, e),
            }
        });
    }

    fn fill_slots(self, models: &[ModelEntry]) {
        let wanted = self.models.pending.get_value();
        let (known, unknown): (Vec<String>, Vec<String>) = wanted
            .into_iter()
            .partition(|id| models.iter().any(|m| &m.id == id));
        if !unknown.is_empty() {
            self.messages.notice.set(Some(format!(
                "The link names models this page does not have: {}",
                unknown.join(", ")
            )));
        }
        let chosen: Vec<String> = if known.is_empty() {
            models.first().map(|m| m.id.clone()).into_iter().collect()
        } else {
            known
        };
        self.models.count.set(chosen.len().clamp(1, MAX_MODELS));
        for (i, id) in chosen.into_iter().take(MAX_MODELS).enumerate() {
            self.select(i, id);
        }
    }

    /// Slot `i` back to empty: no output, no errors.
    fn reset(self, slot: Slot) {
        self.generation.outputs[slot.index].reset();
        self.messages.clear(ErrorKey::Load(slot.index));
        self.messages.clear(ErrorKey::Generate(slot.index));
    }

    fn failed(self, slot: Slot, e: String) {
        let name = untrack(|| self.models.slot_name(slot));
        self.messages.report(
            ErrorKey::Load(slot.index),
            format!("Could not load the model ({name}): {e}"),
        );
        slot.load.set(LoadState::Failed(e));
    }

    /// Puts model `id` into slot `i` and loads it.
    pub fn select(self, i: usize, id: String) {
        let Some(slot) = self.models.slots.get(i).copied() else {
            return;
        };
        slot.key.set(Some(id.clone()));
        let opened = self
            .models
            .opened_models
            .with_value(|u| u.iter().find(|(k, _)| *k == id).cloned());
        if let Some((_, backend)) = opened {
            slot.load_seq.update_value(|s| *s += 1);
            self.reset(slot);
            slot.load.set(LoadState::Ready(backend.loaded().summary()));
            slot.set_backend(Some(backend));
            return;
        }
        let entry = untrack(|| self.models.entries())
            .into_iter()
            .find(|m| m.id == id);
        match entry {
            Some(entry) => spawn_local(self.load_model(slot, entry)),
            None => self.failed(slot, format!("no model with id {id:?}")),
        }
    }

    /// Adds a slot with the next model not yet compared.
    pub fn add_slot(self) {
        let n = self.models.count.get_untracked();
        if n >= MAX_MODELS {
            return;
        }
        let used: Vec<String> = self
            .models
            .active_untracked()
            .iter()
            .filter_map(|s| s.key.get_untracked())
            .collect();
        let models = untrack(|| self.models.entries());
        let Some(next) = models
            .iter()
            .find(|m| !used.contains(&m.id))
            .or(models.first())
            .map(|m| m.id.clone())
        else {
            return;
        };
        self.models.count.set(n + 1);
        self.select(n, next);
    }

    /// Removes slot `i`, shifting the later ones down.
    pub fn remove_slot(self, i: usize) {
        let n = self.models.count.get_untracked();
        if n <= 1 || i >= n {
            return;
        }
        let keys: Vec<Option<String>> = self.models.slots[..n]
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, s)| s.key.get_untracked())
            .collect();
        self.models.count.set(n - 1);
        for (j, key) in keys.into_iter().enumerate() {
            if j >= i {
                if let Some(k) = key {
                    self.select(j, k);
                }
            }
        }
        let last = self.models.slots[n - 1];
        last.key.set(None);
        last.backend.set_value(None);
        last.load.set(LoadState::Idle);
        self.reset(last);
    }

    /// Fetches the three files with progress, builds the model, puts it on the engine.
    async fn load_model(self, slot: Slot, entry: ModelEntry) {
        let seq = slot.load_seq.get_value() + 1;
        slot.load_seq.set_value(seq);
        let current = move || slot.load_seq.get_value() == seq;
        slot.set_backend(None);
        self.reset(slot);
        self.messages.clear(ErrorKey::Run);

        let mut files: Vec<Vec<u8>> = Vec::with_capacity(MODEL_FILES.len());
        for (step, file) in MODEL_FILES.iter().enumerate() {
            let loading = |received, total| LoadState::Loading {
                what: file.to_string(),
                step,
                received,
                total,
            };
            slot.load.set(loading(0, None));
            let result = web::fetch_bytes(&entry.file_url(file), |received, total| {
                if current() {
                    slot.load.set(loading(received, total));
                }
            })
            .await;
            if !current() {
                return;
            }
            match result {
                // a model too large for the page is refused from its config, before the weights
                Ok(bytes) if *file == "config.json" => {
                    if let Err(e) = crate::engine::check_config_fits_page(&entry.id, &bytes) {
                        return self.failed(slot, e);
                    }
                    files.push(bytes)
                }
                Ok(bytes) => files.push(bytes),
                Err(e) => return self.failed(slot, e),
            }
        }
        slot.load.set(LoadState::Loading {
            what: "building the model".into(),
            step: MODEL_FILES.len(),
            received: 0,
            total: None,
        });
        web::yield_to_browser().await;
        if !current() {
            return;
        }
        let Ok([config, tokenizer, weights]) = <[Vec<u8>; 3]>::try_from(files) else {
            return self.failed(slot, "not all model files arrived".into());
        };
        match Backend::cpu_from_files(&entry.id, &config, &weights, &tokenizer) {
            Ok(backend) => {
                let backend = self.on_engine(backend).await;
                if !current() {
                    return;
                }
                slot.load.set(LoadState::Ready(backend.loaded().summary()));
                slot.set_backend(Some(Rc::new(backend)));
            }
            Err(e) => self.failed(slot, e),
        }
    }

    /// `backend` on the current engine; a GPU failure moves the page to the CPU engine.
    pub(super) async fn on_engine(self, backend: Backend) -> Backend {
        let (backend, failure) = self.engine.place(backend).await;
        if let Some(why) = failure {
            self.gpu_failed(&why);
        }
        backend
    }

    /// The GPU engine failed: every model moves to the CPU engine and the badge says why.
    pub fn gpu_failed(self, reason: &str) {
        if self.engine.gpu_failed(reason) {
            self.models.move_to_cpu();
        }
    }
}
