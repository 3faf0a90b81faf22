//! The Interventions panel (issue #11), under Compare, Attention and State: switch parts
//! of a slot's model off at run time and see what changes. The set is built with the form
//! (`views::intervene_form`) or typed (JSON or the short syntax), checked against the
//! model, and applied as an A/B of the same model without and with it
//! (`views::intervene_ab`). It lives in the link (`iv=`), so a link reproduces it.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::paper::apply::show;
use crate::paper::target::{Target, RECALL_PROMPT, TEXT_PROMPT};
use crate::paper::PaperState;
use crate::state::{Actions, InterveneState, Ui, MAX_CASES};
use crate::views::intervene_ab::Results;
use crate::views::intervene_form::Builder;

/// An intervention to open from a finding or a tour step: the model, the set, the prompt.
pub struct Demo {
    pub label: &'static str,
    pub model: &'static str,
    pub set: &'static str,
    /// The finding (`paper::findings`) and the tour step (0-based) it belongs to.
    pub finding: &'static str,
    pub step: usize,
}

/// The two examples.
pub const DEMOS: [Demo; 2] = [
    Demo {
        label: "Try it: zero the attention branch of the intra recall model (recall falls)",
        model: "recall-intra",
        set: "L1.attn=0",
        finding: "retrieval",
        step: 4,
    },
    Demo {
        label: "Try it: window the attention of the inter model (loss past the training length)",
        model: "shakespeare-inter",
        set: "L1.window=64 L4.window=64",
        finding: "extrapolation",
        step: 3,
    },
];

impl Demo {
    /// Compare with the demo's model and prompt (`paper::apply::show`).
    pub fn target(&'static self) -> Target {
        let prompt = if self.model.starts_with("recall") {
            RECALL_PROMPT
        } else {
            TEXT_PROMPT
        };
        Target {
            view: "compare",
            models: std::slice::from_ref(&self.model),
            prompt,
            figure: None,
        }
    }
}

/// A button that opens Compare with the demo's model, and the panel with its set applied.
#[component]
pub fn DemoButton(
    demo: &'static Demo,
    ui: Ui,
    actions: Actions,
    paper: PaperState,
    iv: InterveneState,
) -> impl IntoView {
    let open = move |_| {
        show(demo.target(), ui, actions, paper);
        iv.open_with(demo.set);
    };
    view! { <button class="iv-demo" on:click=open>{demo.label}</button> }
}

/// The panel: a toggle, then (open) the slot, the builder, the set and the results.
#[component]
pub fn InterventionsPanel(ui: Ui, actions: Actions, iv: InterveneState) -> impl IntoView {
    let (models, prompt) = (actions.models, actions.generation.prompt);
    let shown = move || matches!(ui.view.get().as_str(), "compare" | "attention" | "state");
    let slots = move || {
        models
            .active()
            .into_iter()
            .map(|s| {
                let i = s.index;
                let name = s.key.get().map(|k| models.model_name(&k)).unwrap_or_else(|| "no model".into());
                view! { <option value=i.to_string() selected=move || iv.slot.get() == i>{format!("{}: {name}", i + 1)}</option> }
            })
            .collect_view()
    };
    let builder = move || {
        let slot = models.slots.get(iv.slot.get()).copied()?;
        slot.version.track();
        let backend = slot.backend.get_value()?;
        let add = Callback::new(move |item: String| {
            iv.text.update(|t| {
                if !t.trim().is_empty() {
                    t.push(' ');
                }
                t.push_str(&item);
            })
        });
        Some(view! { <Builder backend=backend add=add error=iv.error /> })
    };
    let apply = move |_| spawn_local(iv.apply(models, prompt.get_untracked()));
    let busy = move || iv.busy.get().is_some();
    let body = move || {
        iv.open.get().then(|| view! {
            <div class="iv-body">
                <p class="hint">"An A/B of one model without and with a set of interventions, never by changing its weights: the loss over the held-out passage, recall (recall models), and the prompt's maps. Short syntax, e.g. "<code>"L1.attn=0"</code>", "<code>"L2.window=64"</code>", "<code>"L2.ssm_reset[0,1]@40"</code>"; or JSON (docs/FORMAT.md)."</p>
                <label class="iv-field"><span>"Model"</span>
                    <select id="iv-slot" on:change=move |ev| iv.slot.set(event_target_value(&ev).parse().unwrap_or(0))>{slots}</select>
                </label>
                {builder}
                <label class="iv-field iv-set"><span>"The set"</span>
                    <input type="text" id="iv-text" spellcheck="false" prop:value=move || iv.text.get()
                        on:input=move |ev| iv.text.set(event_target_value(&ev)) />
                </label>
                <label class="iv-field"><span>"Recall cases"</span>
                    <input type="number" id="iv-cases" min="1" max=MAX_CASES prop:value=move || iv.cases.get().to_string()
                        on:input=move |ev| {
                            if let Ok(n) = event_target_value(&ev).parse::<usize>() {
                                iv.cases.set(n.clamp(1, MAX_CASES));
                            }
                        } />
                </label>
                <div class="iv-buttons">
                    <button id="iv-apply" disabled=busy on:click=apply>"Apply (A/B)"</button>
                    <button id="iv-clear" disabled=busy on:click=move |_| iv.text.set(String::new())>"Clear the set"</button>
                    {move || busy().then(|| view! { <button id="iv-stop" on:click=move |_| iv.stop()>"Stop"</button> })}
                </div>
                {move || iv.error.get().map(|e| view! { <p class="error" role="alert" data-testid="iv-error">{e}</p> })}
                {move || iv.busy.get().map(|b| view! {
                    <p class="hint" role="status">{format!("Computing: {b}…")}
                        <progress max="1" value=move || iv.progress.get() aria-label="Interventions progress"></progress></p>
                })}
                <Results ui=ui iv=iv />
            </div>
        })
    };
    view! {
        <Show when=shown>
            <section class="iv" aria-labelledby="iv-toggle">
                <button id="iv-toggle" class="iv-toggle" aria-expanded=move || iv.open.get().to_string()
                    aria-controls="iv-panel" on:click=move |_| iv.open.update(|o| *o = !*o)>
                    {move || if iv.open.get() { "▾ Interventions" } else { "▸ Interventions" }}
                </button>
                <div id="iv-panel" class="iv-panel" hidden=move || !iv.open.get()>{body}</div>
            </section>
        </Show>
    }
}
