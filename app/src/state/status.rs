//! What the page publishes: `window.__hybrid_status` for tests (read from every part of
//! the state) and the URL hash (view, models, prompt, large text, theme, engine).

use leptos::prelude::*;

use super::analysis::AnalysisState;
use super::engine_choice::EngineState;
use super::generation::GenerationState;
use super::messages::{ErrorKey, Messages};
use super::models::{LoadState, Models, FILE_PREFIX};
use super::page::Page;
use super::run::RunState;
use super::sweep::SweepState;
use crate::analysis::Analysis;
use crate::urlstate::HashState;
use crate::web::{self, WebGpu};

/// The page's state as one word, for tests (tracked).
pub fn overall_state(
    models: Models,
    generation: GenerationState,
    messages: Messages,
) -> &'static str {
    if messages.has(ErrorKey::Catalog) || messages.has(ErrorKey::Run) {
        return "error";
    }
    let slots = models.active();
    let loads: Vec<LoadState> = slots.iter().map(|s| s.load.get()).collect();
    let runs: Vec<RunState> = slots
        .iter()
        .map(|s| generation.outputs[s.index].run.get())
        .collect();
    if loads.iter().any(|l| matches!(l, LoadState::Failed(_)))
        || runs.iter().any(|r| matches!(r, RunState::Failed(_)))
    {
        return "error";
    }
    if runs.contains(&RunState::Running) {
        return "generating";
    }
    if runs.contains(&RunState::Stopped) {
        return "stopped";
    }
    if runs.iter().all(|r| *r == RunState::Done) {
        return "done";
    }
    if loads.iter().any(|l| matches!(l, LoadState::Loading { .. })) {
        return "loading";
    }
    if loads.iter().all(|l| matches!(l, LoadState::Ready(_))) {
        return "ready";
    }
    "starting"
}

/// Keeps `window.__hybrid_status` and the URL hash in step with the page.
pub fn publish(page: Page) {
    Effect::new(move |_| web::publish_status(&status(page)));
    let Page {
        ui,
        engine,
        models,
        generation,
        paper,
        ..
    } = page;
    Effect::new(move |_| {
        let hash = HashState {
            view: Some(ui.view.get()),
            models: models
                .active()
                .iter()
                .filter_map(|s| s.key.get())
                .filter(|k| !k.starts_with(FILE_PREFIX))
                .collect(),
            prompt: Some(generation.prompt.get()),
            large: ui.large.get(),
            theme: ui.theme.get(),
            cpu: engine.force_cpu.get(),
            fields: ui.fields.get(),
        };
        web::replace_hash(&crate::paper::url::with_tour(
            &hash.encode(),
            paper.tour.get(),
        ));
        web::set_root_attributes(ui.large.get(), ui.theme.get().as_deref());
    });
}

/// The status object (tracked).
fn status(page: Page) -> serde_json::Value {
    let Page {
        ui,
        engine,
        models,
        generation,
        analysis,
        sweep,
        messages,
        ..
    } = page;
    let slots = models.active();
    let first = slots[0];
    let out = generation.outputs[first.index];
    let stats = out.stats.get();
    let (webgpu, adapter) = match engine.webgpu.get() {
        WebGpu::Checking => ("checking", String::new()),
        WebGpu::Available(a) => ("yes", a),
        WebGpu::Missing(why) => ("no", why),
    };
    let per_model: Vec<serde_json::Value> = slots
        .iter()
        .map(|s| model_status(s.key.get(), s.load.get(), generation, analysis, s.index))
        .collect();
    let engine_state = engine.state.get();
    let engine_detail = match &engine_state {
        EngineState::Checking => String::new(),
        EngineState::Gpu(a) | EngineState::Cpu(a) => a.clone(),
    };
    serde_json::json!({
        "state": overall_state(models, generation, messages),
        "engine": engine_state.marker(),
        "engine_detail": engine_detail,
        "backend": stats.engine,
        "webgpu": webgpu,
        "webgpu_detail": adapter,
        "view": ui.view.get(),
        "model": first.key.get(),
        "run": out.run.get().marker(),
        "errors": messages.all(),
        "ids": out.ids.get(),
        "text": out.text.get(),
        "prompt_tokens": stats.prompt_tokens,
        "generated": stats.generated,
        "prefill_ms": stats.prefill_ms,
        "decode_ms": stats.decode_ms,
        "tokens_per_s": stats.tokens_per_s(),
        "models": per_model,
        "sweep": sweep_status(sweep),
        "designed": sweep.designed.name.get(),
    })
}

fn model_status(
    id: Option<String>,
    load: LoadState,
    generation: GenerationState,
    analysis: AnalysisState,
    i: usize,
) -> serde_json::Value {
    let out = generation.outputs[i];
    let st = out.stats.get();
    serde_json::json!({
        "id": id,
        "load": load.marker(),
        "run": out.run.get().marker(),
        "ids": out.ids.get(),
        "text": out.text.get(),
        "prompt_tokens": st.prompt_tokens,
        "generated": st.generated,
        "prefill_ms": st.prefill_ms,
        "tokens_per_s": st.tokens_per_s(),
        "kv_bytes": st.kv_bytes,
        "ssm_bytes": st.ssm_bytes,
        "prefilled": st.prefilled,
        "wasm_bytes": st.wasm_bytes,
        "note": out.note.get(),
        "backend": st.engine,
        "analysis": analysis.analysis(i).map(|a| analysis_summary(&a)),
    })
}

fn sweep_status(sweep: SweepState) -> serde_json::Value {
    let points: Vec<serde_json::Value> = sweep
        .points
        .get()
        .iter()
        .map(|p| {
            serde_json::json!({
                "model": p.model, "engine": p.engine, "len": p.len, "prefill_ms": p.prefill_ms,
                "decode_ms_per_token": p.decode_ms_per_token,
                "state_bytes": p.state_bytes, "analytic_bytes": p.analytic_bytes,
            })
        })
        .collect();
    serde_json::json!({
        "run": sweep.run.get().marker(),
        "progress": sweep.progress.get(),
        "points": points,
    })
}

/// Counts and checksums of an analysis, for tests.
fn analysis_summary(a: &Analysis) -> serde_json::Value {
    let mut attn_maps = 0;
    let mut implicit_maps = 0;
    let mut attn_sum = 0.0;
    let mut implicit_sum = 0.0;
    let mut dt_sum = 0.0;
    let mut norm_sum = 0.0;
    let mut branch_tokens = 0;
    for l in &a.layers {
        attn_maps += l.attn.len();
        implicit_maps += l.implicit.len();
        attn_sum += l.attn.iter().map(|m| m.sum()).sum::<f64>();
        implicit_sum += l.implicit.iter().map(|m| m.sum()).sum::<f64>();
        dt_sum += l.dt.as_ref().map_or(0.0, |m| m.sum());
        norm_sum += l.state_norm.as_ref().map_or(0.0, |m| m.sum());
        branch_tokens += l.branches.len();
    }
    serde_json::json!({
        "tokens": a.labels.len(),
        "layers": a.layers.len(),
        "attn_maps": attn_maps,
        "implicit_maps": implicit_maps,
        "attn_sum": attn_sum,
        "implicit_sum": implicit_sum,
        "dt_sum": dt_sum,
        "state_norm_sum": norm_sum,
        "branch_tokens": branch_tokens,
        "state_bytes": a.bytes.total(),
        "engine": a.engine,
    })
}
