//! The page's state, split by concern, each part a small `Copy` struct of signals:
//!
//! | module | struct | holds |
//! |---|---|---|
//! | `ui` | [`Ui`] | open view, large text, theme |
//! | `engine_choice` | [`EngineChoice`] | WebGPU probe, engine in use, the open GPU, `#backend=cpu` |
//! | `models` | [`Models`], [`Slot`] | catalog ([`leptos::prelude::LocalResource`]), opened checkpoints, slots, load progress |
//! | `generation` | [`GenerationState`], [`Output`] | prompt, sampling form, per slot: run, text, ids, stats |
//! | `analysis` | [`AnalysisState`] | per slot: the prompt's analysis ([`leptos::prelude::LocalResource`]) |
//! | `sweep` | [`SweepState`] | Scaling sweep: settings, run, progress, points, designed model |
//! | `messages` | [`Messages`] | the one error channel (keyed by origin) and the notice |
//! | `design` | [`DesignState`] | Architecture: the config designed, its preset, the context |
//! | `intervene` (+ `intervene_run`) | [`InterveneState`] | the Interventions panel: slot, set, A/B results |
//! | `hub` | [`HubState`] | "Open from Hugging Face": repository, files, estimate, download, stored models |
//!
//! What changes state: `loading`, `opened` and `generate` ([`Actions`]: load, pick, add,
//! remove, open a checkpoint, generate), [`SweepState::run`], [`EngineChoice::init`].
//! `status` publishes `window.__hybrid_status` and the URL hash; `page` bundles the parts
//! ([`Page`]).
//!
//! Imports between these modules go one way: `run`, `messages`, `ui`, `models`,
//! `engine_choice` import none of the others; `generation` imports `models`, `run`;
//! `analysis` imports `models`, `ui`; `sweep` imports `models`, `messages`, `run`;
//! `loading` imports `engine_choice`, `generation`, `messages`, `models`; `generate` and
//! `opened` import `loading` and those; `hub` imports `loading`; `page` imports the state parts and `loading`;
//! `intervene` imports `models`, `ui`, `intervene_run`; `status` imports `page` and the parts; this file imports `page`, `loading`, `status`.

mod analysis;
mod design;
mod engine_choice;
mod generate;
mod generation;
mod hub;
mod intervene;
pub mod intervene_run;
mod loading;
mod messages;
mod models;
mod opened;
mod page;
mod run;
mod status;
mod sweep;
mod ui;

use leptos::task::spawn_local;

pub use analysis::{AnalysisState, Maps};
pub use design::DesignState;
pub use engine_choice::{EngineChoice, EngineState};
pub use generation::{FormFields, GenerationState, Output, Stats};
pub use hub::{HubState, Lookup, Phase, Progress};
pub use intervene::{InterveneState, Outcome, MAX_CASES};
pub use loading::Actions;
pub use messages::{ErrorKey, Messages};
pub use models::{LoadState, Models, Slot, FILE_PREFIX, MAX_MODELS};
pub use page::Page;
pub use run::{RunState, SLICE_MS};
pub use status::overall_state;
pub use sweep::{Designed, SweepState};
pub use ui::Ui;

/// Starts the page: publishes the status and hash, chooses the engine, and fills the
/// slots once the catalog and the engine are ready.
pub fn start(page: Page) {
    status::publish(page);
    intervene::publish(page.intervene);
    page.intervene
        .run_pending(page.models, page.generation.prompt);
    page.actions().start();
    spawn_local(page.engine.init());
}
