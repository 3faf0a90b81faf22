//! Page state and what the page does: loading models into up to four comparison slots,
//! generating side by side, analyzing the prompt, sweeping context lengths, keeping the
//! URL hash and `window.__hybrid_status` in step.
//!
//! State types live here; the `impl Playground` blocks are split by concern into the child
//! modules.

use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;

use crate::analysis::Analysis;
use crate::catalog::ModelEntry;
use crate::engine::Backend;
use crate::params::SamplingForm;
use crate::session::Generation;
use crate::sweep::Point;
use crate::urlstate::HashState;
use crate::web::{self, WebGpu};

mod analyze;
mod generate;
mod loading;
mod scaling;
mod status;

/// Which engine generates, as the badge shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum EngineState {
    /// Asking the browser for WebGPU.
    Checking,
    /// The GPU engine on this adapter.
    Gpu(String),
    /// The CPU engine; the text says why not the GPU.
    Cpu(String),
}

impl EngineState {
    pub fn marker(&self) -> &'static str {
        match self {
            EngineState::Checking => "checking",
            EngineState::Gpu(_) => "gpu",
            EngineState::Cpu(_) => "cpu",
        }
    }
}

/// Most models compared at once.
pub const MAX_MODELS: usize = 4;
/// Work between two yields to the browser, in milliseconds.
pub const SLICE_MS: f64 = 16.0;
/// Prefix of the ids of checkpoints the user opened from disk.
pub const FILE_PREFIX: &str = "file:";

/// Where a slot's model is in its loading.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadState {
    Idle,
    Loading {
        what: String,
        step: usize,
        received: u64,
        total: Option<u64>,
    },
    Ready(String),
    Failed(String),
}

/// Where a generation (or a sweep) is.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    Idle,
    Running,
    Done,
    Stopped,
    Failed(String),
}

impl RunState {
    pub fn marker(&self) -> &'static str {
        match self {
            RunState::Idle => "idle",
            RunState::Running => "running",
            RunState::Done => "done",
            RunState::Stopped => "stopped",
            RunState::Failed(_) => "error",
        }
    }
}

/// Timings and memory of one model's run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    pub prompt_tokens: usize,
    pub generated: usize,
    pub prefill_ms: f64,
    pub decode_ms: f64,
    /// Memory of the model's state now (`State::bytes`).
    pub kv_bytes: usize,
    pub ssm_bytes: usize,
    /// The engine that ran it: "gpu" or "cpu" ("" before a run).
    pub engine: &'static str,
}

impl Stats {
    pub fn tokens_per_s(&self) -> Option<f64> {
        (self.generated > 0 && self.decode_ms > 0.0)
            .then(|| self.generated as f64 * 1000.0 / self.decode_ms)
    }
}

/// The sampling form, one signal per field.
#[derive(Clone, Copy)]
pub struct FormFields {
    pub max_new_tokens: RwSignal<String>,
    pub temperature: RwSignal<String>,
    pub top_k: RwSignal<String>,
    pub top_p: RwSignal<String>,
    pub seed: RwSignal<String>,
}

impl FormFields {
    fn new() -> Self {
        let d = SamplingForm::default();
        FormFields {
            max_new_tokens: RwSignal::new(d.max_new_tokens),
            temperature: RwSignal::new(d.temperature),
            top_k: RwSignal::new(d.top_k),
            top_p: RwSignal::new(d.top_p),
            seed: RwSignal::new(d.seed),
        }
    }

    fn snapshot(&self) -> SamplingForm {
        SamplingForm {
            max_new_tokens: self.max_new_tokens.get_untracked(),
            temperature: self.temperature.get_untracked(),
            top_k: self.top_k.get_untracked(),
            top_p: self.top_p.get_untracked(),
            seed: self.seed.get_untracked(),
        }
    }
}

/// One compared model.
#[derive(Clone, Copy)]
pub struct Slot {
    pub index: usize,
    /// The chosen model id.
    pub key: RwSignal<Option<String>>,
    pub load: RwSignal<LoadState>,
    pub backend: StoredValue<Option<Rc<Backend>>, LocalStorage>,
    /// Bumped whenever `backend` changes (effects track it).
    pub version: RwSignal<u64>,
    load_seq: StoredValue<u64>,
    pub run: RwSignal<RunState>,
    pub output: RwSignal<String>,
    pub ids: RwSignal<Vec<u32>>,
    pub stats: RwSignal<Stats>,
    pub analysis: RwSignal<Option<Arc<Analysis>>>,
    pub analysis_error: RwSignal<Option<String>>,
}

impl Slot {
    fn new(index: usize) -> Self {
        Slot {
            index,
            key: RwSignal::new(None),
            load: RwSignal::new(LoadState::Idle),
            backend: StoredValue::new_local(None),
            version: RwSignal::new(0),
            load_seq: StoredValue::new(0),
            run: RwSignal::new(RunState::Idle),
            output: RwSignal::new(String::new()),
            ids: RwSignal::new(Vec::new()),
            stats: RwSignal::new(Stats::default()),
            analysis: RwSignal::new(None),
            analysis_error: RwSignal::new(None),
        }
    }

    /// DOM id suffix: "" for the first slot (so `#model`, `#output`), "-2".. for others.
    pub fn suffix(&self) -> String {
        if self.index == 0 {
            String::new()
        } else {
            format!("-{}", self.index + 1)
        }
    }

    pub fn ready(&self) -> bool {
        matches!(self.load.get(), LoadState::Ready(_))
    }

    fn reset_output(&self) {
        self.run.set(RunState::Idle);
        self.output.set(String::new());
        self.ids.set(Vec::new());
        self.stats.set(Stats::default());
        self.analysis.set(None);
        self.analysis_error.set(None);
    }
}

/// The Scaling sweep's state.
#[derive(Clone, Copy)]
pub struct SweepState {
    pub max_len: RwSignal<usize>,
    pub run: RwSignal<RunState>,
    pub progress: RwSignal<f64>,
    pub current: RwSignal<String>,
    pub points: RwSignal<Vec<Point>>,
    pub cancel: StoredValue<bool>,
}

/// A designed architecture sent to Scaling (random weights).
#[derive(Clone, Copy)]
pub struct Designed {
    pub name: RwSignal<Option<String>>,
    pub backend: StoredValue<Option<Rc<Backend>>, LocalStorage>,
}

/// All page state: signal handles, so the struct is `Copy` and closures can capture it.
#[derive(Clone, Copy)]
pub struct Playground {
    pub models: RwSignal<Vec<ModelEntry>>,
    /// Checkpoints opened from disk, by id.
    pub user_models: StoredValue<Vec<(String, Rc<Backend>)>, LocalStorage>,
    pub index_error: RwSignal<Option<String>>,
    pub notice: RwSignal<Option<String>>,
    pub drop_error: RwSignal<Option<String>>,
    pub webgpu: RwSignal<WebGpu>,
    /// The engine new models go to.
    pub engine: RwSignal<EngineState>,
    /// The open GPU, while the GPU engine is in use.
    pub gpu: StoredValue<Option<Arc<hybrid_gpu::Gpu>>, LocalStorage>,
    /// `#backend=cpu`: the user asked for the CPU engine.
    pub force_cpu: RwSignal<bool>,
    pub prompt: RwSignal<String>,
    pub form: FormFields,
    pub slots: [Slot; MAX_MODELS],
    /// How many slots are in use (1..=4).
    pub count: RwSignal<usize>,
    pub run_error: RwSignal<Option<String>>,
    pub stop: StoredValue<bool>,
    pub view: RwSignal<String>,
    pub large: RwSignal<bool>,
    pub theme: RwSignal<Option<String>>,
    analysis_seq: StoredValue<u64>,
    pub sweep: SweepState,
    pub designed: Designed,
    /// Hash models waiting for the index.
    pending_models: StoredValue<Vec<String>>,
}

impl Playground {
    pub fn new() -> Self {
        let hash = HashState::decode(&web::location_hash());
        Playground {
            models: RwSignal::new(Vec::new()),
            user_models: StoredValue::new_local(Vec::new()),
            index_error: RwSignal::new(None),
            notice: RwSignal::new(None),
            drop_error: RwSignal::new(None),
            webgpu: RwSignal::new(WebGpu::Checking),
            engine: RwSignal::new(EngineState::Checking),
            gpu: StoredValue::new_local(None),
            force_cpu: RwSignal::new(hash.cpu),
            prompt: RwSignal::new(
                hash.prompt
                    .unwrap_or_else(|| "The cat sat on the mat. The cat".to_string()),
            ),
            form: FormFields::new(),
            slots: std::array::from_fn(Slot::new),
            count: RwSignal::new(1),
            run_error: RwSignal::new(None),
            stop: StoredValue::new(false),
            view: RwSignal::new(hash.view.unwrap_or_else(|| "compare".into())),
            large: RwSignal::new(hash.large),
            theme: RwSignal::new(hash.theme),
            analysis_seq: StoredValue::new(0),
            sweep: SweepState {
                max_len: RwSignal::new(1024),
                run: RwSignal::new(RunState::Idle),
                progress: RwSignal::new(0.0),
                current: RwSignal::new(String::new()),
                points: RwSignal::new(Vec::new()),
                cancel: StoredValue::new(false),
            },
            designed: Designed {
                name: RwSignal::new(None),
                backend: StoredValue::new_local(None),
            },
            pending_models: StoredValue::new(hash.models),
        }
    }

    /// The slots in use.
    pub fn active(self) -> Vec<Slot> {
        self.slots[..self.count.get().clamp(1, MAX_MODELS)].to_vec()
    }

    pub fn active_untracked(self) -> Vec<Slot> {
        self.slots[..self.count.get_untracked().clamp(1, MAX_MODELS)].to_vec()
    }

    pub fn busy(self) -> bool {
        self.active()
            .iter()
            .any(|s| s.run.get() == RunState::Running)
    }

    pub fn sweeping(self) -> bool {
        self.sweep.run.get() == RunState::Running
    }

    pub fn any_ready(self) -> bool {
        self.active().iter().any(|s| s.ready())
    }

    /// The display name of a model id.
    pub fn model_name(self, id: &str) -> String {
        self.models
            .get_untracked()
            .into_iter()
            .find(|m| m.id == id)
            .map(|m| m.name)
            .unwrap_or_else(|| id.to_string())
    }
}

impl Default for Playground {
    fn default() -> Self {
        Self::new()
    }
}

/// Puts a model's text so far into the page.
fn show(slot: Slot, g: &Generation, stats: Stats) -> Result<(), String> {
    let text = g.text()?;
    let b = g.state_bytes();
    slot.output.set(text);
    slot.ids.set(g.generated().to_vec());
    slot.stats.set(Stats {
        kv_bytes: b.kv_cache,
        ssm_bytes: b.ssm_state + b.conv_state,
        ..stats
    });
    Ok(())
}

/// Counts and checksums of an analysis, for tests (`window.__hybrid_status`).
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
