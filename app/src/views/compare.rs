//! Compare: the same prompt through 2-4 models, side by side, streaming, with speed and
//! the memory each model's state holds.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{FormFields, Playground, RunState, Slot};
use crate::charts::scale::fmt_bytes;
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

/// One model's output column.
#[component]
fn OutputColumn(app: Playground, which: Slot) -> impl IntoView {
    let slot = which;
    let sfx = slot.suffix();
    let name = move || {
        slot.key
            .get()
            .map(|k| app.model_name(&k))
            .unwrap_or_default()
    };
    let marker = move || {
        if slot.index == 0 && app.run_error.get().is_some() {
            "error"
        } else {
            slot.run.get().marker()
        }
    };
    let stats_line = move || {
        let s = slot.stats.get();
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
            <pre id=format!("output{sfx}") class="output" data-state=marker
                data-backend=move || slot.stats.get().engine aria-live="polite">
                {move || slot.output.get()}
            </pre>
            <p id=format!("stats{sfx}") class="hint">{stats_line}</p>
        </div>
    }
}

/// The Compare view.
#[component]
pub fn CompareView(app: Playground) -> impl IntoView {
    let can_generate = move || app.any_ready() && !app.busy();
    let columns = move || {
        app.active()
            .into_iter()
            .map(|slot| view! { <OutputColumn app=app which=slot /> })
            .collect_view()
    };
    let stop_all = move |_| {
        app.stop.set_value(true);
    };
    let _ = RunState::Idle;
    view! {
        <section class="view" id="view-compare" aria-labelledby="tab-compare">
            <Caption text="Same prompt, same settings, several models: watch how their text, speed and memory differ." />
            <div class="compare-grid">
                <div class="panel">
                    <SamplingControls form=app.form disabled=Signal::derive(move || app.busy()) />
                    <div class="buttons">
                        <button id="generate" class="primary" disabled=move || !can_generate()
                            on:click=move |_| spawn_local(app.generate())>
                            "Generate"
                        </button>
                        <button id="stop" disabled=move || !app.busy() on:click=stop_all>"Stop"</button>
                    </div>
                    <p class="hint">"Ctrl+Enter in the prompt generates too."</p>
                </div>
                <div class="columns">{columns}</div>
            </div>
        </section>
    }
}
