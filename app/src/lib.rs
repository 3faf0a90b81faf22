//! Hybrid Playground: the page.
//!
//! Five views over the same models and prompt: Compare (generate side by side), Attention
//! (attention maps and Mamba's implicit attention), State (what a Mamba layer carries),
//! Scaling (speed and memory against context, measured live) and Architecture (design a
//! layer plan). Models generate on the GPU engine (`hybrid_gpu` on WebGPU) where the
//! browser offers it, else on the CPU engine (`hybrid_core` in wasm); both are reached
//! only through [`engine`]. Probes run on the same engine (the GPU falls back to the CPU
//! on failure), sweeps on the CPU engine. Nothing the page fetches or the user types can
//! panic it: failures end up as messages in the page.
//!
//! # Modules and what they import (no import goes back up)
//!
//! ```text
//! lib (App)  ──> state, views, urlstate, web
//! views/*    ──> state, charts, analysis, arch, sweep, export, catalog, engine, urlstate, web
//! state/*    ──> generation, analysis, sweep, catalog, sampling, engine, urlstate, web
//! generation ──> engine, sampling            (one run: prefill, sample, decode)
//! analysis   ──> engine, charts              (probes -> maps)
//! sweep      ──> engine                      (the Scaling measurements)
//! arch       ──> engine                      (layer plans, analytic numbers)
//! sampling   ──> engine                      (the sampling form)
//! export     ──> urlstate
//! engine     ──> hybrid_core, hybrid_gpu     (the only module naming them)
//! catalog, charts, urlstate, web             (leaves)
//! ```
//!
//! Plain modules (unit-tested natively): [`analysis`], [`arch`], [`charts`] (colormaps,
//! scales, heatmap pixels, chart geometry), [`export`], [`sweep`], [`urlstate`],
//! `catalog`, `generation`, `sampling`. The page's state is in [`state`], split by
//! concern; docs/ARCHITECTURE.md ("The page") follows a click through it.
//!
//! Markers for tests: `#output[data-state][data-backend]` (first model),
//! `#backend-badge[data-webgpu][data-backend]`,
//! errors are `[data-testid=error]`; `window.__hybrid_status` mirrors the page state.

pub mod analysis;
pub mod arch;
pub mod arch_extra;
pub mod arch_notes;
pub mod bench;
pub mod bench_gemm;
pub mod bench_types;
mod catalog;
pub mod charts;
pub mod engine;
pub mod export;
mod generation;
pub mod hub;
pub mod paper;
pub mod presets;
mod sampling;
pub mod state;
pub mod sweep;
pub mod urlstate;
pub mod views;
mod web;
pub mod worker;

use leptos::prelude::*;

use state::Page;
use urlstate::HashState;
use views::{
    architecture::ArchitectureView,
    attention::AttentionView,
    common::ModelsAndPrompt,
    compare::CompareView,
    findings::FindingsView,
    header::{BackendBadge, ErrorList, ThemeToggles},
    interventions::InterventionsPanel,
    intro::{Intro, IntroState, IntroToggle},
    scaling::ScalingView,
    share::ShareBar,
    state::StateView,
    tour::TourPanel,
    Tabs, ViewPanel,
};

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let raw_hash = web::location_hash();
    let (hash, tour) = paper::url::with_paper_keys(HashState::decode(&raw_hash), &raw_hash);
    let page = Page::new(hash);
    page.paper.open(tour);
    state::start(page);
    let Page {
        ui,
        engine,
        models,
        generation,
        analysis,
        sweep,
        messages,
        design,
        hub,
        paper,
        intervene,
    } = page;
    let actions = page.actions();
    paper::apply::run_pending(actions, paper);
    paper::publish::publish(paper);
    let intro = IntroState::new();

    let view_body = move || match ui.view.get().as_str() {
        "attention" => view! { <AttentionView ui=ui models=models analysis=analysis /> }.into_any(),
        "state" => {
            view! { <StateView ui=ui models=models analysis=analysis token=ui.token /> }.into_any()
        }
        "scaling" => {
            view! { <ScalingView ui=ui models=models generation=generation sweep=sweep /> }
                .into_any()
        }
        "architecture" => view! { <ArchitectureView ui=ui sweep=sweep design=design /> }.into_any(),
        "findings" => {
            view! { <FindingsView ui=ui actions=actions paper=paper iv=intervene /> }.into_any()
        }
        _ => view! { <CompareView actions=actions /> }.into_any(),
    };
    view! {
        <div class="page">
            <a class="skip" href="#main">"Skip to the view"</a>
            <header class="top">
                <div>
                    <h1>"Hybrid Playground"</h1>
                    <p class="tagline">
                        "Small language models that mix attention with Mamba-2 state-space layers, "
                        "running entirely in your browser."
                    </p>
                </div>
                <div class="top-right">
                    <BackendBadge engine=engine />
                    <div class="toggles">
                        <IntroToggle intro=intro />
                        <ThemeToggles ui=ui />
                    </div>
                </div>
            </header>
            <Intro intro=intro />
            <ErrorList messages=messages />
            {move || messages.notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
            <ModelsAndPrompt actions=actions ui=ui hub=hub design=design />
            <main id="main" tabindex="-1">
                <Tabs ui=ui />
                <ShareBar ui=ui models=models />
                <TourPanel ui=ui actions=actions paper=paper iv=intervene />
                <ViewPanel ui=ui>{view_body}</ViewPanel>
                <InterventionsPanel ui=ui actions=actions iv=intervene />
            </main>
            <footer class="foot">
                "Every number drawn comes from the engine running the model, or from the config's formulas where it says analytic. "
                "Bring your own checkpoint: the format is in docs/FORMAT.md. Share this view: the link holds every setting (Copy link); after one visit the page works offline."
            </footer>
        </div>
    }
}
