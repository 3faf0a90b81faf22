//! Hybrid Playground: the page.
//!
//! Five views over the same models and prompt: Compare (generate side by side), Attention
//! (attention maps and Mamba's implicit attention), State (what a Mamba layer carries),
//! Scaling (speed and memory against context, measured live) and Architecture (design a
//! layer plan). Models run on the CPU engine (`hybrid_core` in wasm) behind the
//! [`engine::Backend`] seam. Nothing the page fetches or the user types can panic it:
//! failures end up as messages in the page.
//!
//! Plain modules (unit-tested natively): [`analysis`], [`arch`], [`charts`] (colormaps,
//! scales, heatmap pixels, chart geometry), [`export`], [`sweep`], [`urlstate`].
//!
//! Markers for tests: `#output[data-state]` (first model), `#backend-badge[data-webgpu]`,
//! errors are `[data-testid=error]`; `window.__hybrid_status` mirrors the page state.

pub mod analysis;
pub mod app;
pub mod arch;
mod catalog;
pub mod charts;
pub mod engine;
pub mod export;
mod params;
mod session;
pub mod sweep;
pub mod urlstate;
pub mod views;
mod web;

use leptos::prelude::*;
use leptos::task::spawn_local;

use app::Playground;
use urlstate::VIEWS;
use views::{
    architecture::ArchitectureView, attention::AttentionView, common::ModelsAndPrompt,
    compare::CompareView, scaling::ScalingView, state::StateView,
};
use web::WebGpu;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let app = Playground::new();
    app.publish();
    spawn_local(app.load_index());
    spawn_local(async move { app.webgpu.set(web::probe_webgpu().await) });

    let view_body = move || match app.view.get().as_str() {
        "attention" => view! { <AttentionView app=app /> }.into_any(),
        "state" => view! { <StateView app=app /> }.into_any(),
        "scaling" => view! { <ScalingView app=app /> }.into_any(),
        "architecture" => view! { <ArchitectureView app=app /> }.into_any(),
        _ => view! { <CompareView app=app /> }.into_any(),
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
                    <BackendBadge webgpu=app.webgpu />
                    <div class="toggles">
                        <button id="toggle-large" aria-pressed=move || app.large.get().to_string()
                            on:click=move |_| app.large.update(|l| *l = !*l)>"Large text"</button>
                        <button id="toggle-theme" title="Light, dark or follow the system"
                            on:click=move |_| app.theme.update(|t| *t = match t.as_deref() {
                                None => Some("dark".into()),
                                Some("dark") => Some("light".into()),
                                _ => None,
                            })>
                            {move || match app.theme.get().as_deref() {
                                Some("dark") => "Theme: dark",
                                Some("light") => "Theme: light",
                                _ => "Theme: system",
                            }}
                        </button>
                    </div>
                </div>
            </header>
            <Errors app=app />
            {move || app.notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
            <ModelsAndPrompt app=app />
            <nav class="tabs" role="tablist" aria-label="Views">
                {VIEWS.iter().map(|&(id, label)| view! {
                    <button role="tab" id=format!("tab-{id}") class="tab"
                        aria-selected=move || (app.view.get() == id).to_string()
                        on:click=move |_| app.view.set(id.to_string())>{label}</button>
                }).collect_view()}
            </nav>
            <main id="main" tabindex="-1">{view_body}</main>
            <footer class="foot">
                "Every number drawn comes from the engine running the model, or from the config's formulas where it says analytic. "
                "Bring your own checkpoint: the format is in docs/FORMAT.md. Share this view: the link holds the models, prompt and view."
            </footer>
        </div>
    }
}

/// Which engine runs, and whether the browser offers WebGPU (honestly: the GPU engine is
/// not in the page yet).
#[component]
fn BackendBadge(webgpu: RwSignal<WebGpu>) -> impl IntoView {
    let marker = move || match webgpu.get() {
        WebGpu::Checking => "checking",
        WebGpu::Available(_) => "yes",
        WebGpu::Missing(_) => "no",
    };
    let detail = move || match webgpu.get() {
        WebGpu::Checking => "checking for WebGPU…".to_string(),
        WebGpu::Available(adapter) => format!("WebGPU available ({adapter}) — GPU engine coming"),
        WebGpu::Missing(why) => format!("no WebGPU: {why}"),
    };
    view! {
        <div id="backend-badge" class="badge" data-webgpu=marker role="status">
            <strong>"Engine: CPU (wasm)"</strong>
            <span class="badge-detail">{detail}</span>
        </div>
    }
}

/// Every error in the page, each in its own alert.
#[component]
fn Errors(app: Playground) -> impl IntoView {
    view! {
        <div class="errors">
            {move || {
                app.errors()
                    .into_iter()
                    .map(|m| view! { <p class="error" role="alert" data-testid="error">{m}</p> })
                    .collect_view()
            }}
        </div>
    }
}
