//! Controls shared by the views: the model slots, the prompt, load progress, small fields.

use std::sync::Arc;

use leptos::error::Errors;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::analysis::{robust_max, Analysis};
use crate::charts::colormap::ColorScale;
use crate::charts::heatmap::Matrix;

use crate::catalog::MODEL_FILES;
use crate::engine::{shard_files, INDEX_FILE, WEIGHTS_FILE};
use crate::state::{Actions, DesignState, HubState, LoadState, Maps, Slot, Ui, MAX_MODELS};
use crate::views::hub::HubPanel;
use crate::views::prompt_check::PromptCheck;
use crate::web;

/// The model's files among those chosen (a folder may hold more): config.json,
/// tokenizer.json and model.safetensors, or the index and then only the shards it names.
async fn read_model_files(
    input: &web_sys::HtmlInputElement,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let first = ["config.json", "tokenizer.json", WEIGHTS_FILE, INDEX_FILE];
    let mut files = web::read_files(input, |n| first.contains(&n)).await?;
    let index = files.iter().find(|(n, _)| n == INDEX_FILE);
    if let Some((_, index)) = index {
        let shards = shard_files(index).map_err(|e| format!("{INDEX_FILE}: {e}"))?;
        files.retain(|(n, _)| n != WEIGHTS_FILE);
        files.extend(web::read_files(input, |n| shards.iter().any(|s| s == n)).await?);
    }
    Ok(files)
}

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
    let marker = move || slot.load.get().marker();
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
fn SlotPicker(actions: Actions, which: Slot) -> impl IntoView {
    let Actions {
        models, generation, ..
    } = actions;
    let busy = move || generation.busy(models);
    let slot = which;
    let i = slot.index;
    let id = format!("model{}", slot.suffix());
    let description = move || {
        let key = slot.key.get()?;
        models
            .entries()
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
                    hidden=move || { models.count.get() <= 1 }
                    disabled=busy
                    on:click=move |_| actions.remove_slot(i)
                >"×"</button>
            </div>
            <select
                id=id
                disabled=move || busy() || models.entries().is_empty()
                on:change=move |ev| actions.select(i, event_target_value(&ev))
            >
                {move || {
                    models
                        .entries()
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

/// Models, prompt and Generate, shared by all views.
#[component]
pub fn ModelsAndPrompt(
    actions: Actions,
    ui: Ui,
    hub: HubState,
    design: DesignState,
) -> impl IntoView {
    let Actions {
        models, generation, ..
    } = actions;
    let busy = move || generation.busy(models);
    let slots = move || {
        models
            .active()
            .into_iter()
            .map(|slot| view! { <SlotPicker actions=actions which=slot /> })
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
            match read_model_files(&input).await {
                Ok(files) => actions.add_user_model(files),
                Err(e) => actions.checkpoint_failed(e),
            }
            input.set_value("");
        });
    };
    // a folder picker: `webkitdirectory` (every browser has it; Leptos has no attribute
    // of that name, so it is set once the input exists)
    let folder = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = folder.get() {
            input.set_webkitdirectory(true);
        }
    });
    // Generate is the page's main action: under the prompt, in every view (it opens
    // Compare, where the continuations stream in).
    let can_generate = move || models.any_ready() && !busy();
    let generate = move |_| {
        ui.view.set("compare".to_string());
        spawn_local(actions.generate());
    };
    view! {
        <section class="panel models" aria-label="Models and prompt">
            <div class="slots">{slots}</div>
            <label class="field-label" for="prompt">"Prompt"</label>
            <textarea
                id="prompt"
                rows="2"
                prop:value=move || generation.prompt.get()
                on:input=move |ev| generation.prompt.set(event_target_value(&ev))
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) && models.any_ready() && !busy() {
                        ev.prevent_default();
                        spawn_local(actions.generate());
                    }
                }
            ></textarea>
            <PromptCheck actions=actions />
            <div class="buttons wrap run-row">
                <button id="generate" class="primary" disabled=move || !can_generate() on:click=generate>
                    "Generate"
                </button>
                <button id="stop" disabled=move || !busy() on:click=move |_| generation.stop.set_value(true)>
                    "Stop"
                </button>
                <span class="hint">"or Ctrl+Enter in the prompt"</span>
                <span class="spacer"></span>
                <button
                    id="add-model"
                    disabled=move || { models.count.get() >= MAX_MODELS || busy() || models.entries().is_empty() }
                    on:click=move |_| actions.add_slot()
                >"+ Compare another model"</button>
                <label class="file-button" title="config.json, model.safetensors and tokenizer.json (docs/FORMAT.md)">
                    "Open your checkpoint…"
                    <input id="checkpoint-files" type="file" multiple accept=".json,.safetensors" on:change=open_files />
                </label>
                <label class="file-button" title="A model folder: the playground's format or a Hugging Face one (sharded too)">
                    "Open a local folder…"
                    <input id="checkpoint-folder" type="file" node_ref=folder on:change=open_files />
                </label>
                <button
                    id="hub-toggle"
                    aria-expanded=move || hub.shown.get().to_string()
                    aria-controls="hub-panel"
                    on:click=move |_| hub.shown.update(|s| *s = !*s)
                >"Open from Hugging Face…"</button>
            </div>
            <Show when=move || hub.shown.get()>
                <HubPanel hub=hub actions=actions design=design ui=ui />
            </Show>
        </section>
    }
}

/// Why a model has no maps, as an error [`ErrorBoundary`] can catch.
#[derive(Clone, Debug)]
pub struct NoAnalysis(pub String);

impl std::fmt::Display for NoAnalysis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoAnalysis {}

/// A model's analysis drawn by `body`: "Analyzing the prompt…" before there is one, and
/// when it failed, an [`ErrorBoundary`] shows "`prefix`: why" in its place.
pub fn analysis_body<V>(
    maps: Maps,
    prefix: &'static str,
    body: impl FnOnce(Arc<Analysis>) -> V,
) -> AnyView
where
    V: IntoView + Send + 'static,
{
    let Some(result) = maps else {
        return view! { <p class="hint">"Analyzing the prompt…"</p> }.into_any();
    };
    let shown = result.map(body).map_err(NoAnalysis);
    let fallback = move |errors: ArcRwSignal<Errors>| {
        let text = move || {
            errors.with(|e| {
                e.iter()
                    .map(|(_, why)| format!("{prefix}: {why}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        };
        view! { <p class="hint">{text}</p> }
    };
    view! { <ErrorBoundary fallback=fallback>{shown}</ErrorBoundary> }.into_any()
}

/// The color scale of one map: the view's shared scale, or (`per_map`) the same kind of
/// scale over this map's own range (the 98th percentile of |value| for signed maps, as
/// the shared scale uses, so a few large entries do not wash out the rest).
pub fn map_scale(shared: ColorScale, m: &Matrix, per_map: bool) -> ColorScale {
    if !per_map {
        return shared;
    }
    match shared {
        ColorScale::Sequential { .. } => ColorScale::Sequential {
            max: m.max_abs().max(1e-6),
        },
        ColorScale::Diverging { .. } => ColorScale::Diverging {
            max: robust_max(m.values.iter(), 0.98).max(1e-6),
        },
    }
}

/// "Color scale: shared by all maps / each map its own", a checkbox (`id`).
#[component]
pub fn ScaleChoice(per_map: RwSignal<bool>, id: &'static str) -> impl IntoView {
    view! {
        <label class="check">
            <input type="checkbox" id=id prop:checked=move || per_map.try_get().unwrap_or(false)
                on:change=move |ev| per_map.set(event_target_checked(&ev)) />
            "Each map on its own color scale (default: one scale shared by all models, to compare them)"
        </label>
    }
}
