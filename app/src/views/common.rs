//! Controls shared by the views: the model slots, the prompt, load progress, small fields.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::app::{LoadState, Playground, Slot, MAX_MODELS};
use crate::catalog::MODEL_FILES;
use crate::web;

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// A caption: the one line saying what to look for.
#[component]
pub fn Caption(text: &'static str) -> impl IntoView {
    view! { <p class="caption">{text}</p> }
}

/// One labelled numeric input.
#[component]
pub fn NumberField(
    label: &'static str,
    id: &'static str,
    value: RwSignal<String>,
    step: &'static str,
    hint: &'static str,
    disabled: Signal<bool>,
) -> impl IntoView {
    view! {
        <label class="num" title=hint>
            <span>{label}</span>
            <input
                type="number"
                id=id
                step=step
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                disabled=move || disabled.get()
            />
        </label>
    }
}

/// Download progress of a slot's model, then its summary.
#[component]
pub fn LoadStatus(which: Slot) -> impl IntoView {
    let slot = which;
    let marker = move || match slot.load.get() {
        LoadState::Idle => "idle",
        LoadState::Loading { .. } => "loading",
        LoadState::Ready(_) => "ready",
        LoadState::Failed(_) => "error",
    };
    let body = move || match slot.load.get() {
        LoadState::Idle => view! { <p class="hint">"Loading the model list…"</p> }.into_any(),
        LoadState::Loading {
            what,
            step,
            received,
            total,
        } => {
            let n = MODEL_FILES.len();
            let (fraction, amount) = match total {
                Some(t) if t > 0 => (
                    (received as f64 / t as f64).min(1.0),
                    format!("{} of {}", megabytes(received), megabytes(t)),
                ),
                _ => (0.0, megabytes(received)),
            };
            let overall = ((step as f64 + fraction) / n as f64).min(1.0);
            let label = if step < n {
                format!("Fetching {what} ({} of {n}): {amount}", step + 1)
            } else {
                format!("{what}…")
            };
            view! {
                <progress max="1" value=format!("{overall:.3}")></progress>
                <p class="hint">{label}</p>
            }
            .into_any()
        }
        LoadState::Ready(summary) => view! { <p class="ok">"Ready — " {summary}</p> }.into_any(),
        LoadState::Failed(_) => {
            view! { <p class="hint">"Loading failed (see the message above)."</p> }.into_any()
        }
    };
    view! {
        <div id=format!("model-status{}", slot.suffix()) class="status" data-state=marker>{body}</div>
    }
}

/// The model picker of one slot.
#[component]
fn SlotPicker(app: Playground, which: Slot) -> impl IntoView {
    let slot = which;
    let i = slot.index;
    let id = format!("model{}", slot.suffix());
    let description = move || {
        let key = slot.key.get()?;
        app.models
            .get()
            .into_iter()
            .find(|m| m.id == key)
            .map(|m| m.description)
    };
    view! {
        <div class="slot" data-slot=i>
            <div class="slot-head">
                <label class="field-label" for=id.clone()>{format!("Model {}", i + 1)}</label>
                <button
                    class="icon"
                    title="Remove this model from the comparison"
                    aria-label=format!("Remove model {}", i + 1)
                    hidden=move || { app.count.get() <= 1 }
                    disabled=move || app.busy()
                    on:click=move |_| app.remove_slot(i)
                >"×"</button>
            </div>
            <select
                id=id
                disabled=move || app.busy() || app.models.get().is_empty()
                on:change=move |ev| app.select(i, event_target_value(&ev))
            >
                {move || {
                    app.models
                        .get()
                        .into_iter()
                        .map(|m| {
                            let mid = m.id.clone();
                            let is_selected = move || slot.key.get().as_deref() == Some(mid.as_str());
                            view! { <option value=m.id.clone() selected=is_selected>{m.name.clone()}</option> }
                        })
                        .collect_view()
                }}
            </select>
            <p class="hint">{description}</p>
            <LoadStatus which=slot />
        </div>
    }
}

/// Models and prompt, shared by all views.
#[component]
pub fn ModelsAndPrompt(app: Playground) -> impl IntoView {
    let slots = move || {
        app.active()
            .into_iter()
            .map(|slot| view! { <SlotPicker app=app which=slot /> })
            .collect_view()
    };
    let open_files = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        spawn_local(async move {
            match web::read_files(&input).await {
                Ok(files) => app.add_user_model(files),
                Err(e) => app.drop_error.set(Some(e)),
            }
            input.set_value("");
        });
    };
    view! {
        <section class="panel models" aria-label="Models and prompt">
            <div class="slots">{slots}</div>
            <div class="buttons wrap">
                <button
                    id="add-model"
                    disabled=move || { app.count.get() >= MAX_MODELS || app.busy() || app.models.get().is_empty() }
                    on:click=move |_| app.add_slot()
                >"+ Compare another model"</button>
                <label class="file-button" title="config.json, model.safetensors and tokenizer.json (docs/FORMAT.md)">
                    "Open your checkpoint…"
                    <input id="checkpoint-files" type="file" multiple accept=".json,.safetensors" on:change=open_files />
                </label>
            </div>
            <label class="field-label" for="prompt">"Prompt"</label>
            <textarea
                id="prompt"
                rows="3"
                prop:value=move || app.prompt.get()
                on:input=move |ev| app.prompt.set(event_target_value(&ev))
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) && app.any_ready() && !app.busy() {
                        ev.prevent_default();
                        spawn_local(app.generate());
                    }
                }
            ></textarea>
        </section>
    }
}
