//! Scaling: speed and memory against context length, measured live on this machine, with
//! the config's analytic memory lines extended to paper-scale models and 128K tokens.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::arch;
use crate::charts::plot::Series;
use crate::charts::scale::{fmt_bytes, fmt_tokens, Quantity};
use crate::charts::svg::{color, LineChart};
use crate::engine::ModelConfig;
use crate::export;
use crate::state::{GenerationState, Models, RunState, SweepState, Ui};
use crate::sweep::{self, Point, ANALYTIC_MAX, CPU_MAX, LENGTHS};
use crate::views::common::Caption;

fn by_model(points: &[Point]) -> Vec<(String, Vec<&Point>)> {
    let mut out: Vec<(String, Vec<&Point>)> = Vec::new();
    for p in points {
        match out.iter_mut().find(|(m, _)| *m == p.model) {
            Some((_, v)) => v.push(p),
            None => out.push((p.model.clone(), vec![p])),
        }
    }
    out
}

fn measured(points: &[Point], f: fn(&Point) -> f64) -> Vec<Series> {
    by_model(points)
        .into_iter()
        .enumerate()
        .map(|(i, (name, ps))| Series {
            name: format!("{name} on {}", ps.first().map_or("", |p| p.engine)),
            color: color(i),
            points: ps.iter().map(|p| (p.len as f64, f(p))).collect(),
            analytic: false,
        })
        .collect()
}

/// Analytic memory lines: compared models and the paper's 1B-class configs; and the
/// largest value of the compared models' lines (where "zoom to the compared models"
/// ends the axis), if any.
fn memory_series(
    sweep: SweepState,
    points: &[Point],
) -> (Vec<Series>, Vec<Vec<String>>, Option<f64>) {
    let mut series = measured(points, |p| p.state_bytes as f64);
    let mut rows = Vec::new();
    let mut configs: Vec<(String, ModelConfig)> = sweep
        .models()
        .into_iter()
        .map(|(n, b)| (n, b.config().clone()))
        .collect();
    let first_paper = configs.len();
    configs.extend(arch::paper_configs());
    let mut own_max = points.iter().map(|p| p.state_bytes as f64).reduce(f64::max);
    for (i, (name, cfg)) in configs.into_iter().enumerate() {
        let line = sweep::memory_line(&cfg, ANALYTIC_MAX);
        for &(t, b) in &line {
            rows.push(vec![name.clone(), t.to_string(), b.to_string()]);
        }
        if i < first_paper {
            let top = line.iter().map(|&(_, b)| b as f64).fold(0.0, f64::max);
            own_max = Some(own_max.unwrap_or(0.0f64).max(top));
        }
        series.push(Series {
            name: name.clone(),
            color: color(if i >= first_paper { i + 1 } else { i }),
            points: line.iter().map(|&(t, b)| (t as f64, b as f64)).collect(),
            analytic: true,
        });
    }
    (series, rows, own_max)
}

/// A measured timing chart, or what to do when nothing is measured yet.
fn timing_chart(series: Vec<Series>, id: &'static str, what: &'static str, zoom: f64) -> AnyView {
    if series.iter().all(|s| s.points.is_empty()) {
        return view! { <p class="hint" id=id>"Not measured yet: press Measure on this machine."</p> }
            .into_any();
    }
    view! {
        <LineChart series=series id=id.into() zoom=zoom width=460.0 height=300.0
            x=(Quantity::Tokens, "context (tokens)") y=(Quantity::Millis, what) />
    }
    .into_any()
}

/// The measured points as a table: the numbers behind the charts, each with its engine.
fn measured_table(points: &[Point]) -> impl IntoView {
    let rows = points
        .iter()
        .map(|p| {
            view! {
                <tr data-engine=p.engine data-len=p.len>
                    <th scope="row">{p.model.clone()}</th><td>{p.engine}</td>
                    <td class="num">{fmt_tokens(p.len as f64)}</td>
                    <td class="num" data-ms=p.prefill_ms>{format!("{:.1}", p.prefill_ms)}</td>
                    <td class="num" data-ms=p.decode_ms_per_token>{format!("{:.2}", p.decode_ms_per_token)}</td>
                    <td class="num">{fmt_bytes(p.state_bytes as f64)}</td>
                </tr>
            }
        })
        .collect_view();
    (!points.is_empty()).then(|| view! {
        <table id="sweep-table">
            <caption>"Measured here (the engine that measured each point in the second column)"</caption>
            <thead><tr><th scope="col">"model"</th><th scope="col">"engine"</th><th scope="col">"context"</th>
                <th scope="col">"prefill (ms)"</th><th scope="col">"decode (ms/token)"</th><th scope="col">"state memory"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    })
}

/// A select of context lengths bound to `signal`.
fn length_select(
    id: &'static str,
    label: &'static str,
    signal: RwSignal<usize>,
    disabled: Signal<bool>,
) -> impl IntoView {
    view! {
        <label class="num">
            <span>{label}</span>
            <select id=id disabled=disabled
                on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse() {
                        signal.set(v);
                    }
                }>
                {LENGTHS.iter().map(|&l| {
                    let text = if l > CPU_MAX { format!("{l} tokens (GPU engine)") } else { format!("{l} tokens") };
                    view! { <option value=l.to_string() selected=move || signal.get() == l>{text}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}

/// The Scaling view: the sweep's controls, its three charts, and the data to download.
#[component]
pub fn ScalingView(
    ui: Ui,
    models: Models,
    generation: GenerationState,
    sweep: SweepState,
) -> impl IntoView {
    let sw = sweep;
    let running = move || sw.running();
    let can_run = move || {
        !running()
            && !generation.busy(models)
            && (models.any_ready() || sw.designed.name.get().is_some())
    };
    let status = move || match sw.run.get() {
        RunState::Idle => "Not measured yet.".to_string(),
        RunState::Running => format!("Measuring {}…", sw.current.get()),
        RunState::Done => format!("Done: {} points.", sw.points.get().len()),
        RunState::Stopped => format!("Cancelled after {} points.", sw.points.get().len()),
        RunState::Failed(e) => format!("Stopped: {e}"),
    };
    let zoom_in = RwSignal::new(false);
    let charts = move || {
        // redrawn when a model (and so its analytic line) arrives, not only on points
        models.active().iter().for_each(|s| s.load.track());
        let zoom = ui.zoom();
        let points = sw.points.get();
        let prefill = measured(&points, |p| p.prefill_ms);
        let decode = measured(&points, |p| p.decode_ms_per_token);
        let (memory, mem_rows, own_max) = memory_series(sw, &points);
        let y_cap = own_max.filter(|_| zoom_in.get()).map(|m| m * 1.5);
        let table = measured_table(&points);
        let rows = sweep::export_rows(&points);
        let csv = export::data_url("text/csv", &export::csv(&sweep::EXPORT_HEADERS, &rows));
        let json = export::data_url(
            "application/json",
            &export::json(&sweep::EXPORT_HEADERS, &rows),
        );
        let mem_headers = ["model", "context_tokens", "cache_bytes_analytic"];
        let mem_csv = export::data_url("text/csv", &export::csv(&mem_headers, &mem_rows));
        view! {
            <div class="charts">
                <div class="panel">
                    <h3>"Prefill: time to read the prompt"</h3>
                    {timing_chart(prefill, "chart-prefill", "prefill time", zoom)}
                </div>
                <div class="panel">
                    <h3>"Decode: time per new token at that context"</h3>
                    {timing_chart(decode, "chart-decode", "decode time per token", zoom)}
                </div>
                <div class="panel">
                    <h3>"Memory: KV cache + SSM state + conv state"</h3>
                    <p class="hint">"Dots: measured State::bytes() after the prefill. Dashed: the config's formulas (analytic), out to 128K tokens; the paper's 1B-class models are analytic only (f32 bytes; the paper counts bf16, half)."</p>
                    <label class="check">
                        <input type="checkbox" id="memory-zoom" prop:checked=move || zoom_in.get()
                            disabled=move || own_max.is_none()
                            on:change=move |ev| zoom_in.set(event_target_checked(&ev)) />
                        "Zoom to the compared models (the paper's lines leave the chart)"
                    </label>
                    <LineChart series=memory id="chart-memory".into() zoom=zoom width=760.0 height=380.0
                        y_cap=y_cap
                        x=(Quantity::Tokens, "context (tokens)") y=(Quantity::Bytes, "state memory, f32") />
                </div>
                {table}
                <p class="downloads">
                    "Download the data: "
                    <a id="download-csv" href=csv download="scaling-measured.csv">"measured (CSV)"</a>" · "
                    <a id="download-json" href=json download="scaling-measured.json">"measured (JSON)"</a>" · "
                    <a id="download-memory-csv" href=mem_csv download="scaling-memory-analytic.csv">"memory lines (CSV)"</a>
                </p>
            </div>
        }
    };
    let models_line = move || {
        let mut names: Vec<String> = models
            .active()
            .iter()
            .filter(|s| s.ready())
            .filter_map(|s| s.key.get().map(|k| models.model_name(&k)))
            .collect();
        if let Some(d) = sw.designed.name.get() {
            names.push(d);
        }
        format!("Models measured: {}", names.join(", "))
    };
    view! {
        <section class="view" id="view-scaling" aria-labelledby="tab-scaling">
            <Caption text="Attention's cost grows with the context; Mamba's per-token cost and memory stay flat. Hybrids sit in between. (Measured on each model's engine: WebGPU up to 16K tokens where the page runs models on the GPU, else the CPU engine up to 4K; the legend and the table name it.)" />
            <div class="panel controls">
                <p class="hint">{models_line}</p>
                {length_select("sweep-min", "Shortest context", sw.min_len, Signal::derive(running))}
                {length_select("sweep-max", "Longest context", sw.max_len, Signal::derive(running))}
                <div class="buttons">
                    <button id="sweep-run" class="primary" disabled=move || !can_run()
                        on:click=move |_| spawn_local(sw.run())>"Measure on this machine"</button>
                    <button id="sweep-cancel" disabled=move || !running()
                        on:click=move |_| sw.cancel.set_value(true)>"Cancel"</button>
                </div>
                <progress id="sweep-progress" max="1" value=move || format!("{:.3}", sw.progress.get())></progress>
                <p class="hint" id="sweep-status" data-state=move || sw.run.get().marker()>{status}</p>
            </div>
            {charts}
        </section>
    }
}
