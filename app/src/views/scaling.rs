//! Scaling: speed and memory against context length, measured live on this machine, with
//! the config's analytic memory lines extended to paper-scale models and 128K tokens.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::arch;
use crate::charts::plot::Series;
use crate::charts::scale::{fmt_bytes, fmt_ms, fmt_tokens};
use crate::charts::svg::{color, LineChart};
use crate::engine::ModelConfig;
use crate::export;
use crate::state::{GenerationState, Models, RunState, SweepState};
use crate::sweep::{self, Point, ANALYTIC_MAX, LENGTHS};
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

/// Analytic memory lines: compared models and the paper's 1B-class configs.
fn memory_series(sweep: SweepState, points: &[Point]) -> (Vec<Series>, Vec<Vec<String>>) {
    let mut series = measured(points, |p| p.state_bytes as f64);
    let mut rows = Vec::new();
    let mut configs: Vec<(String, ModelConfig)> = sweep
        .models()
        .into_iter()
        .map(|(n, b)| (n, b.config().clone()))
        .collect();
    let first_paper = configs.len();
    configs.extend(arch::paper_configs());
    for (i, (name, cfg)) in configs.into_iter().enumerate() {
        let line = sweep::memory_line(&cfg, ANALYTIC_MAX);
        for &(t, b) in &line {
            rows.push(vec![name.clone(), t.to_string(), b.to_string()]);
        }
        series.push(Series {
            name: name.clone(),
            color: color(if i >= first_paper { i + 1 } else { i }),
            points: line.iter().map(|&(t, b)| (t as f64, b as f64)).collect(),
            analytic: true,
        });
    }
    (series, rows)
}

/// The Scaling view: the sweep's controls, its three charts, and the data to download.
#[component]
pub fn ScalingView(
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
    let charts = move || {
        let points = sw.points.get();
        let prefill = measured(&points, |p| p.prefill_ms);
        let decode = measured(&points, |p| p.decode_ms_per_token);
        let (memory, mem_rows) = memory_series(sw, &points);
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
                    <h4>"Prefill: time to read the prompt"</h4>
                    <LineChart series=prefill id="chart-prefill".into()
                        x_label="context (tokens)".into() y_label="prefill time (ms)".into()
                        x_fmt=|v| fmt_tokens(v) y_fmt=|v| fmt_ms(v) />
                </div>
                <div class="panel">
                    <h4>"Decode: time per new token at that context"</h4>
                    <LineChart series=decode id="chart-decode".into()
                        x_label="context (tokens)".into() y_label="decode time (ms per token)".into()
                        x_fmt=|v| fmt_tokens(v) y_fmt=|v| fmt_ms(v) />
                </div>
                <div class="panel wide">
                    <h4>"Memory: KV cache + SSM state + conv state"</h4>
                    <p class="hint">"Dots: measured State::bytes() after the prefill. Dashed: the config's formulas (analytic), out to 128K tokens; the paper's 1B-class models are analytic only (f32 bytes; the paper counts bf16, half)."</p>
                    <LineChart series=memory id="chart-memory".into() width=760.0 height=380.0
                        x_label="context (tokens)".into() y_label="state memory (bytes, f32)".into()
                        x_fmt=|v| fmt_tokens(v) y_fmt=|v| fmt_bytes(v) />
                </div>
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
            <Caption text="Attention's cost grows with the context; Mamba's per-token cost and memory stay flat. Hybrids sit in between. (Measured on the CPU engine, up to 4K tokens; the legend names it.)" />
            <div class="panel controls">
                <p class="hint">{models_line}</p>
                <label class="num">
                    <span>"Longest context"</span>
                    <select id="sweep-max" disabled=running
                        on:change=move |ev| sw.max_len.set(event_target_value(&ev).parse().unwrap_or(1024))>
                        {LENGTHS.iter().map(|&l| view! {
                            <option value=l.to_string() selected=move || sw.max_len.get() == l>{format!("{l} tokens")}</option>
                        }).collect_view()}
                    </select>
                </label>
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
