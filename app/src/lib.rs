//! Hybrid Playground: the page.
//!
//! Five views over the same models and prompt: Compare (generate side by side), Attention
//! (attention maps and Mamba's implicit attention), State (what a Mamba layer carries),
//! Scaling (speed and memory against context, measured live) and Architecture (design a
//! layer plan). Models generate on the GPU engine (`hybrid_gpu` on WebGPU) where the
//! browser offers it, else on the CPU engine (`hybrid_core` in wasm), behind the
//! [`engine::Backend`] seam; probes run on the same engine (the GPU falls back to the CPU on failure), sweeps on the CPU engine. Nothing the page fetches or the user types can panic it:
//! failures end up as messages in the page.
//!
//! Plain modules (unit-tested natively): [`analysis`], [`arch`], [`charts`] (colormaps,
//! scales, heatmap pixels, chart geometry), [`export`], [`sweep`], [`urlstate`].
//!
//! Markers for tests: `#output[data-state][data-backend]` (first model),
//! `#backend-badge[data-webgpu][data-backend]`,
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

use app::{EngineState, Playground};
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
    spawn_local(async move {
        app.init_engine().await;
        app.load_index().await;
    });

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
                    <BackendBadge app=app />
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

/// Which engine generates: "WebGPU: <adapter>", or the CPU engine and why not the GPU;
/// a button switches between them (`#backend=cpu` in the link, then a reload).
#[component]
fn BackendBadge(app: Playground) -> impl IntoView {
    let webgpu = app.webgpu;
    let marker = move || match webgpu.get() {
        WebGpu::Checking => "checking",
        WebGpu::Available(_) => "yes",
        WebGpu::Missing(_) => "no",
    };
    let title = move || match app.engine.get() {
        EngineState::Checking => "Engine: checking…".to_string(),
        EngineState::Gpu(adapter) => format!("WebGPU: {adapter}"),
        EngineState::Cpu(_) => "Engine: CPU (wasm)".to_string(),
    };
    let detail = move || match app.engine.get() {
        EngineState::Checking => "looking for WebGPU…".to_string(),
        EngineState::Gpu(_) => "generation runs on the GPU".to_string(),
        EngineState::Cpu(why) => why,
    };
    let toggle_label = move || {
        if app.force_cpu.get() {
            "Use WebGPU"
        } else {
            "Use CPU"
        }
    };
    let show_toggle =
        move || app.force_cpu.get() || matches!(app.engine.get(), EngineState::Gpu(_));
    let toggle = move |_| {
        app.force_cpu.update(|f| *f = !*f);
        // The hash effect writes `backend=cpu` (or drops it); a reload picks the engine.
        request_animation_frame(web::reload);
    };
    view! {
        <div id="backend-badge" class="badge" data-webgpu=marker
            data-backend=move || app.engine.get().marker() role="status">
            <strong>{title}</strong>
            " — "
            <span class="badge-detail">{detail}</span>
            <Show when=show_toggle>
                <button id="toggle-backend" class="badge-toggle" on:click=toggle>{toggle_label}</button>
            </Show>
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
