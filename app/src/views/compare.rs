//! Compare: the same prompt through 2-4 models, side by side, streaming, with speed and
//! the memory each model's state holds.

use leptos::prelude::*;

use crate::charts::scale::fmt_bytes;
use crate::state::{Actions, ErrorKey, FormFields, Messages, Models, Output, Slot};
use crate::views::common::{Caption, NumberField};

/// Max new tokens, temperature, top-k, top-p and seed.
#[component]
fn SamplingControls(form: FormFields, disabled: Signal<bool>) -> impl IntoView {
    view! {
        <fieldset class="sampling">
            <legend>"Sampling (shared)"</legend>
            <NumberField label="Max new tokens" id="max-tokens" value=form.max_new_tokens step="1"
                hint="How many tokens to generate" disabled=disabled />
            <NumberField label="Temperature" id="temperature" value=form.temperature step="0.1"
                hint="0 = greedy (always the most likely token)" disabled=disabled />
            <NumberField label="Top-k" id="top-k" value=form.top_k step="1"
                hint="Keep the k most likely tokens; 0 = off" disabled=disabled />
            <NumberField label="Top-p" id="top-p" value=form.top_p step="0.05"
                hint="Keep the smallest set of tokens whose probability reaches p; 1 = off" disabled=disabled />
            <NumberField label="Seed" id="seed" value=form.seed step="1"
                hint="Same seed, same settings: same text" disabled=disabled />
        </fieldset>
    }
}

/// One model's output column: the prompt and its continuation streaming in, in a box of
/// the same size for every model, and its stats.
#[component]
fn OutputColumn(
    models: Models,
    messages: Messages,
    which: Slot,
    output: Output,
    prompt: Signal<String>,
) -> impl IntoView {
    let slot = which;
    let sfx = slot.suffix();
    let name = move || models.slot_name(slot);
    let marker = move || {
        if slot.index == 0 && messages.has(ErrorKey::Run) {
            "error"
        } else {
            output.run.get().marker()
        }
    };
    let stats_line = move || {
        let s = output.stats.get();
        if s.prompt_tokens == 0 {
            return String::new();
        }
        let speed = s
            .tokens_per_s()
            .map(|t| format!(" · {t:.1} tokens/s"))
            .unwrap_or_default();
        format!(
            "{} prompt tokens, prefill {:.0} ms · {} new tokens{speed} · state {} (KV cache {}, SSM+conv {})",
            s.prompt_tokens,
            s.prefill_ms,
            s.generated,
            fmt_bytes((s.kv_bytes + s.ssm_bytes) as f64),
            fmt_bytes(s.kv_bytes as f64),
            fmt_bytes(s.ssm_bytes as f64),
        )
    };
    view! {
        <div class="column">
            <h3 class="model-name">{name}</h3>
            <div class="output-box" tabindex="0" role="group"
                aria-label=move || format!("{}: the prompt and its continuation", name())>
                <span class="prompt-echo">{move || prompt.get()}</span>
                <span id=format!("output{sfx}") class="output" data-state=marker
                    data-backend=move || output.stats.get().engine aria-live="polite">
                    {move || output.text.get()}
                </span>
            </div>
            <p id=format!("stats{sfx}") class="hint">{stats_line}</p>
            <p id=format!("note{sfx}") class="hint" role="status">{move || output.note.get()}</p>
        </div>
    }
}

/// The Compare view.
#[component]
pub fn CompareView(actions: Actions) -> impl IntoView {
    let Actions {
        models,
        generation,
        messages,
        ..
    } = actions;
    let busy = move || generation.busy(models);
    // The prompt shown above the continuations: the one a run started from (kept while
    // the prompt is edited afterwards), or the current one before any run.
    let ran_with = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if busy() {
            ran_with.set(Some(generation.prompt.get_untracked()));
        }
    });
    let prompt = Signal::derive(move || ran_with.get().unwrap_or_else(|| generation.prompt.get()));
    let columns = move || {
        models
            .active()
            .into_iter()
            .map(|slot| {
                let output = generation.outputs[slot.index];
                view! { <OutputColumn models=models messages=messages which=slot output=output prompt=prompt /> }
            })
            .collect_view()
    };
    view! {
        <section class="view" id="view-compare" aria-labelledby="tab-compare">
            <Caption text="Same prompt, same settings, several models: watch how their text, speed and memory differ." />
            <div class="compare-grid">
                <div class="panel">
                    <SamplingControls form=generation.form disabled=Signal::derive(busy) />
                </div>
                <div class="columns equal">{columns}</div>
            </div>
        </section>
    }
}
