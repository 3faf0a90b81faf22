//! Page status for tests and the URL hash: overall state, errors, and `publish`.

use leptos::prelude::*;

use super::{analysis_summary, EngineState, LoadState, Playground, RunState, FILE_PREFIX};
use crate::urlstate::HashState;
use crate::web::{self, WebGpu};

impl Playground {
    /// The page's state as one word, for tests.
    pub fn overall_state(self) -> &'static str {
        if self.index_error.get().is_some() || self.run_error.get().is_some() {
            return "error";
        }
        let slots = self.active();
        let loads: Vec<LoadState> = slots.iter().map(|s| s.load.get()).collect();
        let runs: Vec<RunState> = slots.iter().map(|s| s.run.get()).collect();
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

    /// Every error message in the page.
    pub fn errors(self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(e) = self.index_error.get() {
            out.push(e);
        }
        if let Some(e) = self.run_error.get() {
            out.push(format!("Generation stopped: {e}"));
        }
        for s in self.active() {
            let name = s.key.get().map(|k| self.model_name(&k)).unwrap_or_default();
            if let LoadState::Failed(e) = s.load.get() {
                out.push(format!("Could not load the model ({name}): {e}"));
            }
            if let RunState::Failed(e) = s.run.get() {
                out.push(format!("Generation stopped ({name}): {e}"));
            }
        }
        if let Some(e) = self.drop_error.get() {
            out.push(format!("Could not open your checkpoint: {e}"));
        }
        if let RunState::Failed(e) = self.sweep.run.get() {
            out.push(format!("Scaling sweep stopped: {e}"));
        }
        out
    }

    /// Keeps `window.__hybrid_status` and the URL hash in step with the page.
    pub fn publish(self) {
        Effect::new(move |_| {
            let slots = self.active();
            let first = slots[0];
            let stats = first.stats.get();
            let (webgpu, adapter) = match self.webgpu.get() {
                WebGpu::Checking => ("checking", String::new()),
                WebGpu::Available(a) => ("yes", a),
                WebGpu::Missing(why) => ("no", why),
            };
            let models: Vec<serde_json::Value> = slots
                .iter()
                .map(|s| {
                    let st = s.stats.get();
                    let analysis = s.analysis.get().map(|a| analysis_summary(&a));
                    serde_json::json!({
                        "id": s.key.get(),
                        "load": match s.load.get() {
                            LoadState::Idle => "idle",
                            LoadState::Loading { .. } => "loading",
                            LoadState::Ready(_) => "ready",
                            LoadState::Failed(_) => "error",
                        },
                        "run": s.run.get().marker(),
                        "ids": s.ids.get(),
                        "text": s.output.get(),
                        "prompt_tokens": st.prompt_tokens,
                        "generated": st.generated,
                        "prefill_ms": st.prefill_ms,
                        "tokens_per_s": st.tokens_per_s(),
                        "kv_bytes": st.kv_bytes,
                        "ssm_bytes": st.ssm_bytes,
                        "backend": st.engine,
                        "analysis": analysis,
                    })
                })
                .collect();
            let sweep_points: Vec<serde_json::Value> = self
                .sweep
                .points
                .get()
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "model": p.model, "len": p.len, "prefill_ms": p.prefill_ms,
                        "decode_ms_per_token": p.decode_ms_per_token,
                        "state_bytes": p.state_bytes, "analytic_bytes": p.analytic_bytes,
                    })
                })
                .collect();
            let engine = self.engine.get();
            let engine_detail = match &engine {
                EngineState::Checking => String::new(),
                EngineState::Gpu(a) | EngineState::Cpu(a) => a.clone(),
            };
            web::publish_status(&serde_json::json!({
                "state": self.overall_state(),
                "engine": engine.marker(),
                "engine_detail": engine_detail,
                "backend": stats.engine,
                "webgpu": webgpu,
                "webgpu_detail": adapter,
                "view": self.view.get(),
                "model": first.key.get(),
                "run": first.run.get().marker(),
                "errors": self.errors(),
                "ids": first.ids.get(),
                "text": first.output.get(),
                "prompt_tokens": stats.prompt_tokens,
                "generated": stats.generated,
                "prefill_ms": stats.prefill_ms,
                "decode_ms": stats.decode_ms,
                "tokens_per_s": stats.tokens_per_s(),
                "models": models,
                "sweep": {
                    "run": self.sweep.run.get().marker(),
                    "progress": self.sweep.progress.get(),
                    "points": sweep_points,
                },
                "designed": self.designed.name.get(),
            }));
        });
        Effect::new(move |_| {
            let hash = HashState {
                view: Some(self.view.get()),
                models: self
                    .active()
                    .iter()
                    .filter_map(|s| s.key.get())
                    .filter(|k| !k.starts_with(FILE_PREFIX))
                    .collect(),
                prompt: Some(self.prompt.get()),
                large: self.large.get(),
                theme: self.theme.get(),
                cpu: self.force_cpu.get(),
            };
            web::replace_hash(&hash.encode());
            web::set_root_attributes(self.large.get(), self.theme.get().as_deref());
        });
        // Analyze when the Attention or State view is open and the prompt or models change.
        Effect::new(move |_| {
            let view = self.view.get();
            let _ = self.prompt.get();
            for s in self.active() {
                let _ = s.version.get();
            }
            if view == "attention" || view == "state" {
                self.schedule_analysis();
            }
        });
    }
}
