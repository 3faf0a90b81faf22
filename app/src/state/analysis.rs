//! The analysis of the prompt per slot (what the Attention and State views draw): one
//! [`LocalResource`] per slot over (the open view, the prompt, the slot's model). It
//! probes only while an analysis view is open and the typing has settled; otherwise it
//! keeps the maps it has for the same model (so switching views does not blank them).

use std::sync::Arc;

use leptos::prelude::*;

use super::models::{Models, Slot, MAX_MODELS};
use super::ui::Ui;
use crate::analysis::{self, Analysis};

/// Wait after the last change before probing, in milliseconds.
const SETTLE_MS: u32 = 250;

/// A slot's maps: `None` before any analysis of its model, else the analysis or why not.
pub type Maps = Option<Result<Arc<Analysis>, String>>;

/// One analysis resource per slot, by index.
#[derive(Clone, Copy)]
pub struct AnalysisState {
    pub maps: [LocalResource<Maps>; MAX_MODELS],
}

impl AnalysisState {
    pub fn new(models: Models, prompt: RwSignal<String>, ui: Ui) -> Self {
        AnalysisState {
            maps: std::array::from_fn(|i| maps_of(models, models.slots[i], prompt, ui)),
        }
    }

    /// Slot `i`'s maps (tracked; `None` while there are none).
    pub fn get(self, i: usize) -> Maps {
        self.maps.get(i).and_then(|m| m.get()).flatten()
    }

    /// Slot `i`'s analysis, if it succeeded (tracked).
    pub fn analysis(self, i: usize) -> Option<Arc<Analysis>> {
        self.get(i).and_then(Result::ok)
    }
}

/// The resource of one slot.
fn maps_of(models: Models, slot: Slot, prompt: RwSignal<String>, ui: Ui) -> LocalResource<Maps> {
    // (model version, maps) of the last analysis.
    let last = StoredValue::new_local((0u64, None::<Result<Arc<Analysis>, String>>));
    LocalResource::new(move || {
        let wanted = ui.shows_analysis() && slot.index < models.count.get();
        let text = prompt.get();
        let version = slot.version.get();
        async move {
            let kept = || {
                let (seen, maps) = last.get_value();
                if seen == version {
                    maps
                } else {
                    None
                }
            };
            if !wanted {
                return kept();
            }
            gloo_timers::future::TimeoutFuture::new(SETTLE_MS).await;
            let settled = prompt.get_untracked() == text && slot.version.get_untracked() == version;
            // Otherwise a newer run follows this one at once.
            if !settled {
                return kept();
            }
            let backend = slot.backend.get_value()?;
            let maps = analysis::analyze(&backend, &text).await.map(Arc::new);
            last.set_value((version, Some(maps.clone())));
            Some(maps)
        }
    })
}
