//! "Open from Hugging Face" (`state::HubState`): a repository and revision; its files and
//! sizes, the family, layer plan and memory estimate read from `config.json` before any
//! weight is fetched; then a download with progress per file and in total, and Cancel;
//! the models stored in this browser, each with Open and Remove.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::arch_extra::Design;
use crate::charts::scale::{fmt_bytes, fmt_tokens};
use crate::hub::{weights_bytes, Estimate};
use crate::state::{Actions, DesignState, HubState, Lookup, Phase, Progress, Ui};

fn bytes(b: u64) -> String {
    fmt_bytes(b as f64)
}

/// One progress bar with its line.
fn bar(id: &'static str, label: String, part: u64, whole: u64) -> impl IntoView {
    let value = if whole > 0 {
        (part as f64 / whole as f64).min(1.0)
    } else {
        0.0
    };
    view! {
        <progress id=id max="1" value=format!("{value:.3}") aria-label=label.clone()></progress>
        <p class="hint">{label}</p>
    }
}

fn progress_view(p: Progress, from_store: bool) -> impl IntoView {
    let verb = if from_store { "Reading" } else { "Downloading" };
    let file = format!(
        "{verb} {} ({} of {}): {} of {}",
        p.file,
        p.index,
        p.count,
        bytes(p.received),
        bytes(p.size)
    );
    let all = p.done + p.received;
    let total = format!("All files: {} of {}", bytes(all), bytes(p.total));
    view! {
        {bar("hub-file-progress", file, p.received, p.size)}
        {bar("hub-total-progress", total, all, p.total)}
    }
}

/// The files, and what config.json says: family, plan, memory at the chosen context.
fn lookup_view(hub: HubState, lookup: Lookup) -> impl IntoView {
    let rows = lookup
        .files
        .iter()
        .map(|f| view! { <tr><td>{f.path.clone()}</td><td class="size">{bytes(f.size)}</td></tr> })
        .collect_view();
    let summary = match &lookup.preview {
        Err(e) => view! { <p id="hub-refused" class="hub-error">{format!("Not opened: {e}")}</p> }
            .into_any(),
        Ok((preview, _)) => {
            let preview = preview.clone();
            let download = weights_bytes(&lookup.files);
            let cfg = preview.config.clone();
            let estimate = move || {
                let ctx = hub
                    .context
                    .get()
                    .trim()
                    .parse::<usize>()
                    .unwrap_or(2048)
                    .max(1);
                let e = Estimate::new(&cfg, download, ctx);
                let fits = if e.fits() {
                    "fits this page's 4 GiB".to_string()
                } else {
                    "too large for this page (4 GiB): it will be refused".to_string()
                };
                format!(
                    "Weights: {} as stored, {} as f32 in the engine; KV cache and state for {} tokens: {}; the page needs {} while building it ({fits}).",
                    bytes(e.download),
                    bytes(e.f32_weights),
                    fmt_tokens(e.context as f64),
                    bytes(e.state),
                    bytes(e.page)
                )
            };
            let family = preview
                .architecture
                .clone()
                .unwrap_or_else(|| "the playground's own format".into());
            view! {
                <dl class="numbers">
                    <dt>"Family"</dt><dd id="hub-family">{family}</dd>
                    <dt>"Layer plan"</dt>
                    <dd id="hub-plan">{format!("{} layers: {}", preview.config.layers.len(), preview.plan())}
                        <span class="hint">" (A attention, M Mamba-2, I both; +F with an FFN)"</span></dd>
                    <dt>"Parameters"</dt><dd>{preview.config.param_count_u64().to_string()}</dd>
                </dl>
                <label class="num">
                    <span>"Context for the estimate"</span>
                    <input id="hub-context" type="number" min="1" step="1"
                        prop:value=move || hub.context.get()
                        on:input=move |ev| hub.context.set(event_target_value(&ev)) />
                </label>
                <p id="hub-estimate">{estimate}</p>
            }
            .into_any()
        }
    };
    view! {
        <table id="hub-files" class="hub-files">
            <caption>{format!("Files of {}", lookup.repo.label())}</caption>
            <thead><tr><th scope="col">"File"</th><th scope="col">"Size"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        {summary}
    }
}

/// The models in this browser's store.
fn stored_view(hub: HubState, actions: Actions) -> impl IntoView {
    let items = move || {
        hub.stored
            .get()
            .into_iter()
            .map(|m| {
                let label = m.repo.label();
                let (open, remove) = (m.clone(), m.clone());
                view! {
                    <li data-repo=label.clone()>
                        <span>{format!("{label} ({}, {})", m.repo.hub, bytes(m.bytes()))}</span>
                        <button class="hub-open-stored" disabled=move || hub.busy()
                            aria-label=format!("Open {label} from this browser")
                            on:click=move |_| spawn_local(hub.open_stored(actions, open.clone()))>"Open"</button>
                        <button class="hub-remove-stored" disabled=move || hub.busy()
                            aria-label=format!("Remove {label} from this browser")
                            on:click=move |_| hub.remove_stored(remove.clone())>"Remove"</button>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <h3>"Stored in this browser"</h3>
        <Show when=move || !hub.stored.get().is_empty()
            fallback=|| view! { <p class="hint">"None yet: a downloaded model is kept here and opens without the network."</p> }>
            <ul id="hub-stored" class="hub-stored">{items}</ul>
        </Show>
    }
}

/// The panel.
#[component]
pub fn HubPanel(hub: HubState, actions: Actions, design: DesignState, ui: Ui) -> impl IntoView {
    let look_up = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        spawn_local(hub.look_up());
    };
    let can_download = move || {
        !hub.busy()
            && hub
                .lookup
                .with(|l| l.as_ref().is_some_and(|l| l.preview.is_ok()))
    };
    let phase = move || {
        match hub.phase.get() {
        Phase::Idle | Phase::Refused => ().into_any(),
        Phase::LookingUp => view! { <p class="hint">"Listing the files and reading config.json…"</p> }.into_any(),
        Phase::Fetching { progress, from_store } => progress_view(progress, from_store).into_any(),
        Phase::Failed(e) => view! { <p class="hub-error">{e}</p> }.into_any(),
        Phase::Opened(label) => view! {
            <p class="ok">{format!("Opened {label}: it is in the model list and a slot, in every view.")}</p>
            <button id="hub-architecture" on:click=move |_| {
                let cfg = actions.models.opened_models.with_value(|u| u.last().map(|(_, b)| b.config().clone()));
                if let Some(cfg) = cfg {
                    design.draft.set(Some(Design::new(cfg)));
                    design.message.set(None);
                    ui.view.set("architecture".into());
                }
            }>"Show its layer plan in Architecture"</button>
        }
        .into_any(),
    }
    };
    view! {
        <section id="hub-panel" class="hub-panel" aria-labelledby="hub-title"
            data-phase=move || hub.phase.get().marker()>
            <h2 id="hub-title">"Open from Hugging Face"</h2>
            <form class="buttons wrap" on:submit=look_up>
                <label class="field-label" for="hub-repo">"Repository"</label>
                <input id="hub-repo" type="text" placeholder="HuggingFaceTB/SmolLM2-135M or its huggingface.co address"
                    prop:value=move || hub.repo.get() on:input=move |ev| hub.repo.set(event_target_value(&ev)) />
                <label class="field-label" for="hub-revision">"Revision"</label>
                <input id="hub-revision" type="text" size="10"
                    prop:value=move || hub.revision.get() on:input=move |ev| hub.revision.set(event_target_value(&ev)) />
                <button id="hub-lookup" type="submit" disabled=move || hub.busy()>"List files"</button>
            </form>
            <p class="hint">{move || format!("Hub: {} (change it with ?hub=URL in the page's address).", hub.hub.get())}</p>
            {move || hub.lookup.get().map(|l| lookup_view(hub, l))}
            <div class="buttons wrap">
                <button id="hub-download" class="primary" disabled=move || !can_download()
                    on:click=move |_| spawn_local(hub.download(actions))>"Download and open"</button>
                <button id="hub-cancel" disabled=move || !matches!(hub.phase.get(), Phase::Fetching { from_store: false, .. })
                    on:click=move |_| hub.cancel()>"Cancel"</button>
            </div>
            <div role="status" aria-live="polite">{phase}</div>
            {stored_view(hub, actions)}
        </section>
    }
}
