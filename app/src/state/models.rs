//! The models: the catalog (`assets/models/index.json`, fetched once by a
//! [`LocalResource`]), checkpoints opened from disk, and up to four comparison slots,
//! each with the model chosen and where its loading is. What loads a model into a slot
//! is in `state::loading`.
//!
//! The catalog is read with `.get()`, not under `Suspense`: the model strip draws at once
//! (its pickers disabled and "Loading the model list…" until the list arrives), so the
//! first paint is never blank; a failed fetch becomes an error in `state::messages`.

use std::rc::Rc;

use leptos::prelude::*;

use crate::catalog::{self, ModelEntry, INDEX_URL};
use crate::engine::Backend;
use crate::web;

/// Most models compared at once.
pub const MAX_MODELS: usize = 4;
/// Prefix of the ids of checkpoints the user opened from disk.
pub const FILE_PREFIX: &str = "file:";

/// Where a slot's model is in its loading.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadState {
    Idle,
    Loading {
        what: String,
        step: usize,
        received: u64,
        total: Option<u64>,
    },
    Ready(String),
    Failed(String),
}

impl LoadState {
    /// The word tests read.
    pub fn marker(&self) -> &'static str {
        match self {
            LoadState::Idle => "idle",
            LoadState::Loading { .. } => "loading",
            LoadState::Ready(_) => "ready",
            LoadState::Failed(_) => "error",
        }
    }
}

/// One compared model.
#[derive(Clone, Copy)]
pub struct Slot {
    pub index: usize,
    /// The chosen model id.
    pub key: RwSignal<Option<String>>,
    pub load: RwSignal<LoadState>,
    pub backend: StoredValue<Option<Rc<Backend>>, LocalStorage>,
    /// Bumped whenever `backend` changes (effects and resources track it).
    pub version: RwSignal<u64>,
    /// Bumped by every new load; a load that finds it changed gives up.
    pub(super) load_seq: StoredValue<u64>,
}

impl Slot {
    fn new(index: usize) -> Self {
        Slot {
            index,
            key: RwSignal::new(None),
            load: RwSignal::new(LoadState::Idle),
            backend: StoredValue::new_local(None),
            version: RwSignal::new(0),
            load_seq: StoredValue::new(0),
        }
    }

    /// DOM id suffix: "" for the first slot (so `#model`, `#output`), "-2".. for others.
    pub fn suffix(&self) -> String {
        if self.index == 0 {
            String::new()
        } else {
            format!("-{}", self.index + 1)
        }
    }

    /// Whether its model is loaded (tracked).
    pub fn ready(&self) -> bool {
        matches!(self.load.get(), LoadState::Ready(_))
    }

    /// Puts `backend` in (or takes it out) and tells whoever tracks the version.
    pub fn set_backend(&self, backend: Option<Rc<Backend>>) {
        self.backend.set_value(backend);
        self.version.update(|v| *v += 1);
    }
}

/// The catalog, opened checkpoints and the slots.
#[derive(Clone, Copy)]
pub struct Models {
    /// The bundled models, once `index.json` has arrived (or why not).
    pub catalog: LocalResource<Result<Vec<ModelEntry>, String>>,
    /// Entries of the checkpoints opened from disk, after the catalog's.
    pub opened: RwSignal<Vec<ModelEntry>>,
    /// Checkpoints opened from disk, by id.
    pub opened_models: StoredValue<Vec<(String, Rc<Backend>)>, LocalStorage>,
    pub slots: [Slot; MAX_MODELS],
    /// How many slots are in use (1..=4).
    pub count: RwSignal<usize>,
    /// Model ids from the URL hash, waiting for the catalog.
    pub(super) pending: StoredValue<Vec<String>>,
}

impl Models {
    /// Starts fetching the catalog; `wanted` are the model ids from the URL hash.
    pub fn new(wanted: Vec<String>) -> Self {
        Models {
            catalog: LocalResource::new(fetch_catalog),
            opened: RwSignal::new(Vec::new()),
            opened_models: StoredValue::new_local(Vec::new()),
            slots: std::array::from_fn(Slot::new),
            count: RwSignal::new(1),
            pending: StoredValue::new(wanted),
        }
    }

    /// Every model the pickers offer: the catalog's, then the opened ones (tracked).
    pub fn entries(self) -> Vec<ModelEntry> {
        let mut all = match self.catalog.get() {
            Some(Ok(list)) => list,
            _ => Vec::new(),
        };
        all.extend(self.opened.get());
        all
    }

    /// The slots in use (tracked).
    pub fn active(self) -> Vec<Slot> {
        self.slots[..self.count.get().clamp(1, MAX_MODELS)].to_vec()
    }

    /// The slots in use (untracked).
    pub fn active_untracked(self) -> Vec<Slot> {
        self.slots[..self.count.get_untracked().clamp(1, MAX_MODELS)].to_vec()
    }

    /// Whether any slot in use has its model loaded (tracked).
    pub fn any_ready(self) -> bool {
        self.active().iter().any(|s| s.ready())
    }

    /// The display name of a model id (untracked).
    pub fn model_name(self, id: &str) -> String {
        untrack(|| self.entries())
            .into_iter()
            .find(|m| m.id == id)
            .map(|m| m.name)
            .unwrap_or_else(|| id.to_string())
    }

    /// The display name of a slot's model (tracks the slot's key).
    pub fn slot_name(self, slot: Slot) -> String {
        slot.key
            .get()
            .map(|k| self.model_name(&k))
            .unwrap_or_default()
    }

    /// Moves every loaded model off the GPU (after the GPU engine failed).
    pub fn move_to_cpu(self) {
        let to_cpu = |b: &Rc<Backend>| {
            if b.is_gpu() {
                Rc::new(b.cpu_only())
            } else {
                b.clone()
            }
        };
        for slot in self.slots {
            if let Some(b) = slot.backend.get_value() {
                slot.backend.set_value(Some(to_cpu(&b)));
            }
        }
        self.opened_models.update_value(|u| {
            for (_, b) in u.iter_mut() {
                *b = to_cpu(b);
            }
        });
    }
}

/// Fetches and checks the model list.
async fn fetch_catalog() -> Result<Vec<ModelEntry>, String> {
    let bytes = web::fetch_bytes(INDEX_URL, |_, _| {})
        .await
        .map_err(|e| format!("could not read the model list: {e}"))?;
    match catalog::parse_index(&bytes)? {
        m if m.is_empty() => Err(format!("{INDEX_URL} lists no models")),
        m => Ok(m),
    }
}
