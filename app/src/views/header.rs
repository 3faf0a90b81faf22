//! The page's top: the engine badge, the large-text and theme toggles, and the error list.

use leptos::prelude::*;

use crate::engine::{on_cpu_threads, CpuThreads};
use crate::state::{EngineChoice, EngineState, Messages, Ui};
use crate::web::WebGpu;

/// Which engine generates: "WebGPU: <adapter>", or the CPU engine and why not the GPU;
/// a button beside it switches engines (remembered in this browser, then a reload).
#[component]
pub fn BackendBadge(engine: EngineChoice) -> impl IntoView {
    let webgpu = engine.webgpu;
    let marker = move || match webgpu.get() {
        WebGpu::Checking => "checking",
        WebGpu::Available(_) => "yes",
        WebGpu::Missing(_) => "no",
    };
    // The CPU engine's threads, once its worker reports them (threaded where the page is
    // cross-origin isolated: the badge says how many, or why one).
    let threads = RwSignal::new(None::<CpuThreads>);
    on_cpu_threads(move |t| {
        threads.try_set(Some(t.clone()));
    });
    let title = move || match engine.state.get() {
        EngineState::Checking => "Engine: checking…".to_string(),
        EngineState::Gpu(adapter) => format!("WebGPU: {adapter}"),
        EngineState::Cpu(_) => match threads.get() {
            Some(t) => format!("Engine: CPU (wasm, {})", t.label()),
            None => "Engine: CPU (wasm)".to_string(),
        },
    };
    let threads_marker = move || threads.get().map(|t| t.threads.to_string());
    let detail = move || match engine.state.get() {
        EngineState::Checking => "looking for WebGPU…".to_string(),
        EngineState::Gpu(_) => "generation runs on the GPU".to_string(),
        EngineState::Cpu(why) => why,
    };
    // The switch: to the other engine, wherever WebGPU is there to switch to.
    let on_gpu = move || matches!(engine.state.get(), EngineState::Gpu(_));
    let toggle_label = move || if on_gpu() { "Use CPU" } else { "Use WebGPU" };
    let show_toggle = move || matches!(webgpu.get(), WebGpu::Available(_));
    let toggle = move |_| engine.switch_to(if on_gpu() { "cpu" } else { "gpu" });
    view! {
        <div id="backend-badge" class="badge" data-webgpu=marker
            data-backend=move || engine.state.get().marker() data-cpu-threads=threads_marker
            role="status">
            <strong>{title}</strong>
            " — "
            <span class="badge-detail">{detail}</span>
            <Show when=show_toggle>
                <button id="toggle-backend" class="badge-toggle" on:click=toggle>{toggle_label}</button>
            </Show>
        </div>
    }
}

/// "Large text" (the projector mode) and the theme: system, dark, light.
#[component]
pub fn ThemeToggles(ui: Ui) -> impl IntoView {
    view! {
        <div class="toggles" role="group" aria-label="Display">
            <button id="toggle-large" aria-pressed=move || ui.large.get().to_string()
                title="Larger text, charts and maps, high contrast: for a projector"
                on:click=move |_| ui.large.update(|l| *l = !*l)>"Presenter mode"</button>
            <button id="toggle-theme" title="Light, dark or follow the system"
                on:click=move |_| ui.theme.update(|t| *t = match t.as_deref() {
                    None => Some("dark".into()),
                    Some("dark") => Some("light".into()),
                    _ => None,
                })>
                {move || match ui.theme.get().as_deref() {
                    Some("dark") => "Theme: dark",
                    Some("light") => "Theme: light",
                    _ => "Theme: system",
                }}
            </button>
        </div>
    }
}

/// Every error in the page (the one error channel), each in its own alert.
#[component]
pub fn ErrorList(messages: Messages) -> impl IntoView {
    view! {
        <div class="errors">
            {move || {
                messages
                    .all()
                    .into_iter()
                    .map(|m| view! { <p class="error" role="alert" data-testid="error">{m}</p> })
                    .collect_view()
            }}
        </div>
    }
}
