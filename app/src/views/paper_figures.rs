//! The paper's figures, computed in the page beside the paper's own numbers: quality vs
//! throughput (Fig 1b), cache memory vs context (Fig 3b), loss by position (Fig 3c),
//! recall over pairs x length (Fig 4 analogue), and the ablations (`views::paper_ablations`).
//! Engine figures use the models in the slots ("Show me" loads the right ones).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::arch;
use crate::charts::plot::Series;
use crate::charts::scale::Quantity;
use crate::charts::scale::{fmt_bytes, fmt_tokens};
use crate::charts::svg::{color, LineChart};
use crate::engine::ModelConfig;
use crate::paper::figures::{
    buckets, cache_bytes, MEMORY_LENGTHS, PAPER_CACHE_32K, PAPER_THROUGHPUT, PRECISIONS,
};
use crate::paper::state::{RECALL_LENGTHS, RECALL_PAIRS};
use crate::paper::tables;
use crate::paper::PaperState;
use crate::state::Ui;
use crate::state::{Actions, Models};

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "–".into())
}

/// The compute button, progress and cancel of an engine figure.
#[component]
fn Compute(
    figure: &'static str,
    label: &'static str,
    actions: Actions,
    paper: PaperState,
) -> impl IntoView {
    let busy = move || paper.busy.get().is_some();
    view! {
        <div class="compute">
            <button id=format!("compute-{figure}") disabled=busy
                on:click=move |_| spawn_local(async move { paper.compute(figure, actions.models).await })>{label}</button>
            {move || paper.busy.get().map(|what| view! {
                <progress max="1" value=move || paper.progress.get()></progress>
                <span role="status">{what}</span>
                <button on:click=move |_| paper.cancel.set_value(true)>"Cancel"</button>
            })}
            {move || paper.error.get().map(|e| view! { <p class="error">{e}</p> })}
        </div>
    }
}

fn quality(ui: Ui, actions: Actions, paper: PaperState) -> impl IntoView {
    let chart = move || {
        let pts = paper.quality.get();
        let series: Vec<Series> = pts
            .iter()
            .enumerate()
            .filter_map(|(i, q)| {
                Some(Series {
                    name: format!("{} ({})", q.model, q.engine),
                    color: color(i),
                    points: vec![(q.tokens_per_s, q.val_loss?)],
                    analytic: false,
                })
            })
            .collect();
        let rows = pts.iter().map(|q| view! {
            <tr><th scope="row">{q.model.clone()}</th><td class="num">{opt(q.val_loss, |v| format!("{v:.3}"))}</td>
                <td class="num">{format!("{:.0}", q.tokens_per_s)}</td><td>{q.engine}</td></tr>
        }).collect_view();
        (!series.is_empty()).then(|| view! {
            <LineChart series=series x=(Quantity::Rate, "decode speed, measured now")
                y=(Quantity::Nats, "test loss, metrics.json") log_x=true log_y=false
                zoom=ui.zoom() id="chart-quality".into() />
            <table id="quality-table"><thead><tr><th>"model"</th><th>"test loss"</th><th>"decode tokens/s"</th><th>"engine"</th></tr></thead>
                <tbody>{rows}</tbody></table>
        })
    };
    let paper_rows = PAPER_THROUGHPUT.iter().zip([2.750, 2.758, 2.735, 2.728]).map(|((n, t), nll)| view! {
        <tr><th scope="row">{*n}</th><td class="num">{nll}</td><td class="num">{t[0]}</td></tr>
    }).collect_view();
    view! {
        <section class="figure" id="fig-quality">
            <h3>"Quality vs throughput (Fig 1b)"</h3>
            <Compute figure="quality" label="Measure decode speed of the loaded models" actions=actions paper=paper />
            {chart}
            <table class="paper"><caption>"Paper, 1B: NLL and decode tokens/s at 2K (batch 4, H100-class GPU)"</caption>
                <thead><tr><th>"model"</th><th>"NLL"</th><th>"tokens/s"</th></tr></thead><tbody>{paper_rows}</tbody></table>
        </section>
    }
}

fn loaded_configs(models: Models) -> Vec<(String, ModelConfig)> {
    models
        .active()
        .iter()
        .filter_map(|s| {
            s.version.track();
            let id = s.key.get()?;
            let cfg = s
                .backend
                .with_value(|b| b.as_ref().map(|b| b.config().clone()))?;
            Some((models.model_name(&id), cfg))
        })
        .collect()
}

fn memory(ui: Ui, actions: Actions) -> impl IntoView {
    let precision = RwSignal::new(0usize);
    let body = move || {
        let (pname, bytes) = PRECISIONS
            .get(precision.get())
            .copied()
            .unwrap_or(("f32", 4));
        let mut configs = loaded_configs(actions.models);
        let zoo_n = configs.len();
        configs.extend(arch::paper_configs());
        let rows = tables::memory(&configs);
        let series: Vec<Series> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| Series {
                name: r.name.clone(),
                color: color(i),
                points: MEMORY_LENGTHS
                    .iter()
                    .zip(&r.f32_bytes)
                    .map(|(&t, &b)| (t as f64, (b / 4 * bytes as u64) as f64))
                    .collect(),
                analytic: true,
            })
            .collect();
        let table = configs.iter().enumerate().map(|(i, (name, cfg))| {
            let cells = MEMORY_LENGTHS.iter().map(|&t| view! {
                <td class="num" data-bytes=cache_bytes(cfg, t, bytes)>{fmt_bytes(cache_bytes(cfg, t, bytes) as f64)}</td>
            }).collect_view();
            let paper_mib = (i >= zoo_n).then(|| PAPER_CACHE_32K.get(i - zoo_n).map(|p| p.1)).flatten();
            view! { <tr data-model=name.clone()><th scope="row">{name.clone()}</th>{cells}<td class="num">{opt(paper_mib, |m| format!("{m} MiB"))}</td></tr> }
        }).collect_view();
        let heads = MEMORY_LENGTHS
            .iter()
            .map(|&t| view! { <th>{fmt_tokens(t as f64)}</th> })
            .collect_view();
        view! {
            <LineChart series=series x=(Quantity::Tokens, "context (tokens)") y=(Quantity::Bytes, cache_title(pname))
                zoom=ui.zoom() id="chart-paper-memory".into() />
            <table id="memory-table" data-precision=pname><caption>{format!("KV cache + SSM + conv state, {pname}, from each config (analytic); last column: the paper's measured cache at 32K (bf16)")}</caption>
                <thead><tr><th>"model"</th>{heads}<th>"paper @32K"</th></tr></thead><tbody>{table}</tbody></table>
        }
    };
    let buttons = PRECISIONS
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            view! {
                <label><input type="radio" name="precision" checked=move || precision.get() == i
                    on:change=move |_| precision.set(i) />{*name}</label>
            }
        })
        .collect_view();
    view! {
        <section class="figure" id="fig-memory">
            <h3>"Memory vs context (Fig 3b)"</h3>
            <fieldset class="precision"><legend>"Precision"</legend>{buttons}</fieldset>
            {body}
            <p class="hint">"Speed against context is measured in the Scaling view (Fig 3a)."</p>
        </section>
    }
}

fn position(ui: Ui, actions: Actions, paper: PaperState) -> impl IntoView {
    let body = move || {
        let curves = paper.position.get();
        let zoo = paper.zoo();
        let series: Vec<Series> = curves
            .iter()
            .enumerate()
            .map(|(i, c)| Series {
                name: c.model.clone(),
                color: color(i),
                points: buckets(&c.losses, 32)
                    .into_iter()
                    .map(|(p, l)| (p as f64, l))
                    .collect(),
                analytic: false,
            })
            .collect();
        let ids: Vec<String> = actions
            .models
            .active()
            .iter()
            .filter_map(|s| s.key.get())
            .collect();
        let rows = curves.iter().map(|c| {
            let (a, b) = c.split(256);
            let committed = ids.iter().find(|id| actions.models.model_name(id) == c.model)
                .and_then(|id| zoo.as_ref()?.model(id)?.loss_by_position().cloned());
            let (ca, cb) = committed.map(|l| (l.mean_in_train_len, l.mean_beyond)).unwrap_or((None, None));
            view! { <tr><th scope="row">{c.model.clone()}</th>
                <td class="num">{opt(a, |v| format!("{v:.3}"))}</td><td class="num">{opt(b, |v| format!("{v:.3}"))}</td>
                <td class="num">{opt(a.zip(b).map(|(a, b)| b - a), |v| format!("{v:+.3}"))}</td>
                <td class="num">{opt(ca, |v| format!("{v:.3}"))}</td><td class="num">{opt(cb, |v| format!("{v:.3}"))}</td></tr> }
        }).collect_view();
        (!series.is_empty()).then(|| view! {
            <LineChart series=series x=(Quantity::Tokens, "position in the passage (tokens; trained on 256)")
                y=(Quantity::Nats, "loss, mean of 32 positions") log_x=false log_y=false
                zoom=ui.zoom() id="chart-position".into() />
            <table><thead><tr><th>"model"</th><th>"0-255, here"</th><th>"256-1023, here"</th><th>"change"</th>
                <th>"0-255, metrics"</th><th>"256-1023, metrics"</th></tr></thead><tbody>{rows}</tbody></table>
        })
    };
    let source = move || {
        paper.heldout.get().map(|h| match h {
            Ok(h) => format!("{} tokens: {}", h.tokens.len(), h.source),
            Err(e) => e,
        })
    };
    view! {
        <section class="figure" id="fig-position">
            <h3>"Loss by token position (Fig 3c)"</h3>
            <p class="hint">"Held-out passage: "{source}". Here one window, on the CPU engine; metrics.json averages 164 windows."</p>
            <Compute figure="position" label="Compute loss by position for the loaded models" actions=actions paper=paper />
            {body}
            <p class="hint">"Paper: the Transformer's loss rises beyond its training length; Mamba and the hybrids hold."</p>
        </section>
    }
}

fn recall(actions: Actions, paper: PaperState) -> impl IntoView {
    let body = move || {
        let cells = paper.recall.get();
        let mut models: Vec<String> = Vec::new();
        for c in &cells {
            if !models.contains(&c.model) {
                models.push(c.model.clone());
            }
        }
        models.into_iter().map(|m| {
            let heads = RECALL_PAIRS.iter().map(|p| view! { <th>{format!("{p} pairs")}</th> }).collect_view();
            let rows = RECALL_LENGTHS.iter().map(|&l| {
                let tds = RECALL_PAIRS.iter().map(|&p| {
                    let c = cells.iter().find(|c| c.model == m && c.seq_len == l && c.n_pairs == p);
                    let text = c.map(|c| format!("{:.0}% ({})", c.accuracy * 100.0, opt(c.committed, |v| format!("{:.0}%", v * 100.0))));
                    view! { <td class="num">{text.unwrap_or_else(|| "…".into())}</td> }
                }).collect_view();
                view! { <tr><th scope="row">{format!("{l} tokens")}</th>{tds}</tr> }
            }).collect_view();
            view! { <table class="recall-grid"><caption>{m.clone()}": here (committed, 512 cases)"</caption>
                <thead><tr><th></th>{heads}</tr></thead><tbody>{rows}</tbody></table> }
        }).collect_view()
    };
    view! {
        <section class="figure" id="fig-recall">
            <h3>"Recall over pairs and length (Fig 4 analogue)"</h3>
            <label>"Cases per cell "<input type="number" min="1" max="512" id="recall-cases"
                prop:value=move || paper.recall_cases.get().to_string()
                on:change=move |ev| {
                    if let Ok(n) = event_target_value(&ev).parse::<usize>() {
                        paper.recall_cases.set(n.clamp(1, 512));
                    }
                } /></label>
            <Compute figure="recall" label="Compute recall for the loaded models" actions=actions paper=paper />
            {body}
            <p class="hint">"Cases: the first of the test split (seed 1000 · pairs + length, core::tasks::recall). Trained at 256 tokens."</p>
        </section>
    }
}

/// Every figure.
#[component]
pub fn PaperFigures(ui: Ui, actions: Actions, paper: PaperState) -> impl IntoView {
    view! {
        <h2>"The paper's figures, computed here"</h2>
        {quality(ui, actions, paper)}
        {memory(ui, actions)}
        {position(ui, actions, paper)}
        {recall(actions, paper)}
        {crate::views::paper_ablations::ablation(paper)}
    }
}

/// The memory chart's y title for a precision.
fn cache_title(precision: &str) -> &'static str {
    match precision {
        "bf16" => "KV cache + state, bf16",
        "f16" => "KV cache + state, f16",
        _ => "KV cache + state, f32",
    }
}
