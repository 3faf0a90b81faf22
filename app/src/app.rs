//! Page state and what the page does: loading models into up to four comparison slots,
//! generating side by side, analyzing the prompt, sweeping context lengths, keeping the
//! URL hash and `window.__hybrid_status` in step.

use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::analysis::{self, Analysis};
use crate::catalog::{self, ModelEntry, INDEX_URL, MODEL_FILES};
use crate::engine::Backend;
use crate::params::SamplingForm;
use crate::session::Generation;
use crate::sweep::{self, Point};
use crate::urlstate::HashState;
use crate::web::{self, WebGpu};

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

    /// Chooses the engine: the GPU where the browser gives a WebGPU adapter and a device
    /// opens on it, else the CPU engine with the reason for the badge.
    pub async fn init_engine(self) {
        let probe = web::probe_webgpu().await;
        self.webgpu.set(probe.clone());
        let state = match probe.clone() {
            _ if self.force_cpu.get_untracked() => {
                EngineState::Cpu("chosen in the link (#backend=cpu)".into())
            }
            WebGpu::Missing(why) => EngineState::Cpu(format!("no WebGPU: {why}")),
            WebGpu::Checking | WebGpu::Available(_) => match hybrid_gpu::Gpu::new().await {
                Ok(gpu) => {
                    // In the browser wgpu's adapter name is empty; the probe read
                    // `adapter.info` (vendor, architecture, description).
                    let name = match (&probe, gpu.info.name.is_empty()) {
                        (WebGpu::Available(a), true) => {
                            format!("{a} ({:?})", gpu.info.device_type)
                        }
                        _ => gpu.adapter_string(),
                    };
                    self.gpu.set_value(Some(Arc::new(gpu)));
                    EngineState::Gpu(name)
                }
                Err(e) => EngineState::Cpu(format!("WebGPU failed: {e}")),
            },
        };
        self.engine.set(state);
    }

    /// `backend` on the current engine: uploaded to the GPU (and checked there) while the
    /// GPU engine is in use; a failure moves the page to the CPU engine.
    async fn on_engine(self, backend: Backend) -> Backend {
        let Some(gpu) = self.gpu.get_value() else {
            return backend;
        };
        match backend.to_gpu(gpu).await {
            Ok(b) => b,
            Err(e) => {
                self.gpu_failed(&e);
                backend
            }
        }
    }

    /// The GPU engine failed: every model moves to the CPU engine and the badge says why.
    pub fn gpu_failed(self, reason: &str) {
        if self.gpu.get_value().is_none() {
            return;
        }
        self.gpu.set_value(None);
        self.engine
            .set(EngineState::Cpu(format!("the GPU engine failed: {reason}")));
        let to_cpu = |b: &Rc<Backend>| {
            if b.is_gpu() {
                Rc::new(b.cpu_only())
            } else {
                b.clone()
            }
        };
        for slot in self.slots {
            if let Some(b) = slot.backend.get_value() {
                slot.backend.set_value(Some(to_cpu(&b)));
            }
        }
        self.user_models.update_value(|u| {
            for (_, b) in u.iter_mut() {
                *b = to_cpu(b);
            }
        });
    }

    /// Fetches the model list and fills the slots (from the URL hash, else the first model).
    pub async fn load_index(self) {
        let bytes = match web::fetch_bytes(INDEX_URL, |_, _| {}).await {
            Ok(b) => b,
            Err(e) => {
                return self
                    .index_error
                    .set(Some(format!("could not read the model list: {e}")))
            }
        };
        let models = match catalog::parse_index(&bytes) {
            Ok(m) if m.is_empty() => {
                return self
                    .index_error
                    .set(Some(format!("{INDEX_URL} lists no models")))
            }
            Ok(m) => m,
            Err(e) => return self.index_error.set(Some(e)),
        };
        let wanted = self.pending_models.get_value();
        let (known, unknown): (Vec<String>, Vec<String>) = wanted
            .into_iter()
            .partition(|id| models.iter().any(|m| &m.id == id));
        if !unknown.is_empty() {
            self.notice.set(Some(format!(
                "The link names models this page does not have: {}",
                unknown.join(", ")
            )));
        }
        let first = models.first().map(|m| m.id.clone());
        self.models.set(models);
        let chosen: Vec<String> = if known.is_empty() {
            first.into_iter().collect()
        } else {
            known
        };
        self.count.set(chosen.len().clamp(1, MAX_MODELS));
        for (i, id) in chosen.into_iter().take(MAX_MODELS).enumerate() {
            self.select(i, id);
        }
    }

    /// Puts model `id` into slot `i` and loads it.
    pub fn select(self, i: usize, id: String) {
        let Some(slot) = self.slots.get(i).copied() else {
            return;
        };
        slot.key.set(Some(id.clone()));
        if let Some((_, backend)) = self
            .user_models
            .with_value(|u| u.iter().find(|(k, _)| *k == id).cloned())
        {
            slot.load_seq.update_value(|s| *s += 1);
            slot.reset_output();
            slot.load.set(LoadState::Ready(backend.loaded().summary()));
            slot.backend.set_value(Some(backend));
            slot.version.update(|v| *v += 1);
            return;
        }
        match self.models.get_untracked().into_iter().find(|m| m.id == id) {
            Some(entry) => spawn_local(self.load_model(slot, entry)),
            None => slot
                .load
                .set(LoadState::Failed(format!("no model with id {id:?}"))),
        }
    }

    /// Adds a slot with the next model not yet compared.
    pub fn add_slot(self) {
        let n = self.count.get_untracked();
        if n >= MAX_MODELS {
            return;
        }
        let used: Vec<String> = self
            .active_untracked()
            .iter()
            .filter_map(|s| s.key.get_untracked())
            .collect();
        let models = self.models.get_untracked();
        let Some(next) = models
            .iter()
            .find(|m| !used.contains(&m.id))
            .or(models.first())
            .map(|m| m.id.clone())
        else {
            return;
        };
        self.count.set(n + 1);
        self.select(n, next);
    }

    /// Removes slot `i`, shifting the later ones down.
    pub fn remove_slot(self, i: usize) {
        let n = self.count.get_untracked();
        if n <= 1 || i >= n {
            return;
        }
        let keys: Vec<Option<String>> = self.slots[..n]
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, s)| s.key.get_untracked())
            .collect();
        self.count.set(n - 1);
        for (j, key) in keys.into_iter().enumerate() {
            if j >= i {
                if let Some(k) = key {
                    self.select(j, k);
                }
            }
        }
        let last = self.slots[n - 1];
        last.key.set(None);
        last.backend.set_value(None);
        last.load.set(LoadState::Idle);
        last.reset_output();
    }

    async fn load_model(self, slot: Slot, entry: ModelEntry) {
        let seq = slot.load_seq.get_value() + 1;
        slot.load_seq.set_value(seq);
        let current = move || slot.load_seq.get_value() == seq;
        slot.backend.set_value(None);
        slot.version.update(|v| *v += 1);
        slot.reset_output();
        self.run_error.set(None);

        let mut files: Vec<Vec<u8>> = Vec::with_capacity(MODEL_FILES.len());
        for (step, file) in MODEL_FILES.iter().enumerate() {
            let loading = |received, total| LoadState::Loading {
                what: file.to_string(),
                step,
                received,
                total,
            };
            slot.load.set(loading(0, None));
            let result = web::fetch_bytes(&entry.file_url(file), |received, total| {
                if current() {
                    slot.load.set(loading(received, total));
                }
            })
            .await;
            if !current() {
                return;
            }
            match result {
                Ok(bytes) => files.push(bytes),
                Err(e) => return slot.load.set(LoadState::Failed(e)),
            }
        }
        slot.load.set(LoadState::Loading {
            what: "building the model".into(),
            step: MODEL_FILES.len(),
            received: 0,
            total: None,
        });
        web::yield_to_browser().await;
        if !current() {
            return;
        }
        let Ok([config, tokenizer, weights]) = <[Vec<u8>; 3]>::try_from(files) else {
            return slot
                .load
                .set(LoadState::Failed("not all model files arrived".into()));
        };
        match Backend::cpu_from_files(&entry.id, &config, &weights, &tokenizer) {
            Ok(backend) => {
                let backend = self.on_engine(backend).await;
                if !current() {
                    return;
                }
                slot.load.set(LoadState::Ready(backend.loaded().summary()));
                slot.backend.set_value(Some(Rc::new(backend)));
                slot.version.update(|v| *v += 1);
            }
            Err(e) => slot.load.set(LoadState::Failed(e)),
        }
    }

    /// Validates a dropped checkpoint (config.json + model.safetensors + tokenizer.json)
    /// and puts it into a slot.
    pub fn add_user_model(self, files: Vec<(String, Vec<u8>)>) {
        self.drop_error.set(None);
        let find = |name: &str| {
            files
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, b)| b.as_slice())
        };
        let (Some(config), Some(weights), Some(tokenizer)) = (
            find("config.json"),
            find("model.safetensors"),
            find("tokenizer.json"),
        ) else {
            let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
            return self.drop_error.set(Some(format!(
                "choose three files together: config.json, model.safetensors and tokenizer.json (got: {})",
                if names.is_empty() { "nothing".to_string() } else { names.join(", ") }
            )));
        };
        let backend = match Backend::cpu_from_files("your checkpoint", config, weights, tokenizer) {
            Ok(b) => b,
            Err(e) => return self.drop_error.set(Some(e)),
        };
        spawn_local(self.add_user_backend(backend));
    }

    async fn add_user_backend(self, backend: Backend) {
        let backend = Rc::new(self.on_engine(backend).await);
        let n = self.user_models.with_value(|u| u.len()) + 1;
        let id = format!("{FILE_PREFIX}{n}");
        let name = format!("Your checkpoint {n}: {}", backend.config().display_name());
        self.user_models
            .update_value(|u| u.push((id.clone(), backend.clone())));
        self.models.update(|m| {
            m.push(ModelEntry {
                id: id.clone(),
                name,
                description: "Opened from your disk; it stays in this tab.".into(),
                path: String::new(),
            })
        });
        let n = self.count.get_untracked();
        let slot = if n < MAX_MODELS {
            self.count.set(n + 1);
            n
        } else {
            n - 1
        };
        self.select(slot, id);
    }

    /// Generates with every ready model side by side, yielding every [`SLICE_MS`].
    pub async fn generate(self) {
        if self
            .active_untracked()
            .iter()
            .any(|s| s.run.get_untracked() == RunState::Running)
        {
            return;
        }
        self.run_error.set(None);
        let sampling = match self.form.snapshot().parse() {
            Ok(s) => s,
            Err(e) => return self.run_error.set(Some(e)),
        };
        let prompt = self.prompt.get_untracked();
        self.stop.set_value(false);
        let slots: Vec<(Slot, Rc<Backend>)> = self
            .active_untracked()
            .into_iter()
            .filter_map(|s| s.backend.get_value().map(|b| (s, b)))
            .collect();
        if slots.is_empty() {
            return self.run_error.set(Some("no model is loaded yet".into()));
        }
        for (s, _) in &slots {
            s.output.set(String::new());
            s.ids.set(Vec::new());
            s.stats.set(Stats::default());
            s.run.set(RunState::Running);
        }
        web::yield_to_browser().await;

        // Prefill every model (each timed on its own).
        let mut runs: Vec<(Slot, Generation, Stats)> = Vec::new();
        for (s, backend) in slots {
            let t0 = web::now_ms();
            match Generation::start(backend, &prompt, sampling).await {
                Ok(g) => {
                    let b = g.state_bytes();
                    let stats = Stats {
                        engine: if g.on_gpu() { "gpu" } else { "cpu" },
                        prompt_tokens: g.prompt_len(),
                        prefill_ms: web::now_ms() - t0,
                        kv_bytes: b.kv_cache,
                        ssm_bytes: b.ssm_state + b.conv_state,
                        ..Stats::default()
                    };
                    s.stats.set(stats);
                    runs.push((s, g, stats));
                }
                Err(e) => s.run.set(RunState::Failed(e)),
            }
            web::yield_to_browser().await;
        }

        // Decode round-robin, one token per model per turn.
        let mut slice_start = web::now_ms();
        while !runs.is_empty() {
            let stopping = self.stop.get_value();
            let mut finished = Vec::new();
            for (k, (_, g, stats)) in runs.iter_mut().enumerate() {
                if stopping {
                    finished.push((k, RunState::Stopped));
                    continue;
                }
                let t0 = web::now_ms();
                let step = g.next_token().await;
                stats.decode_ms += web::now_ms() - t0;
                stats.engine = if g.on_gpu() { "gpu" } else { "cpu" };
                stats.generated = g.generated().len();
                match step {
                    Ok(Some(_)) if !g.is_finished() => {}
                    Ok(_) => finished.push((k, RunState::Done)),
                    Err(e) => finished.push((k, RunState::Failed(e))),
                }
            }
            let slice_over = web::now_ms() - slice_start >= SLICE_MS;
            if slice_over || !finished.is_empty() {
                for (slot, g, stats) in runs.iter() {
                    // A decode error here shows again, as the run's outcome, when it ends.
                    let _ = show(*slot, g, *stats);
                }
            }
            for (k, outcome) in finished.into_iter().rev() {
                let (slot, g, stats) = runs.remove(k);
                if let Some(why) = g.fell_back() {
                    self.gpu_failed(why);
                }
                let outcome = match (show(slot, &g, stats), outcome) {
                    (Err(e), RunState::Done | RunState::Stopped) => RunState::Failed(e),
                    (_, o) => o,
                };
                slot.run.set(outcome);
            }
            if slice_over {
                web::yield_to_browser().await;
                slice_start = web::now_ms();
            }
        }
    }

    /// Analyzes the prompt on every ready model (Attention and State views), after the
    /// typing settles.
    pub fn schedule_analysis(self) {
        let seq = self.analysis_seq.get_value() + 1;
        self.analysis_seq.set_value(seq);
        spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(250).await;
            if self.analysis_seq.get_value() != seq {
                return;
            }
            let prompt = self.prompt.get_untracked();
            for slot in self.active_untracked() {
                let Some(backend) = slot.backend.get_value() else {
                    continue;
                };
                match analysis::analyze(&backend, &prompt) {
                    Ok(a) => {
                        slot.analysis.set(Some(Arc::new(a)));
                        slot.analysis_error.set(None);
                    }
                    Err(e) => {
                        slot.analysis.set(None);
                        slot.analysis_error.set(Some(e));
                    }
                }
                web::yield_to_browser().await;
                if self.analysis_seq.get_value() != seq {
                    return;
                }
            }
        });
    }

    /// The models a sweep measures: ready slots, then the designed architecture.
    pub fn sweep_models(self) -> Vec<(String, Rc<Backend>)> {
        let mut out: Vec<(String, Rc<Backend>)> = self
            .active_untracked()
            .into_iter()
            .filter_map(|s| {
                let b = s.backend.get_value()?;
                let name = s.key.get_untracked().map(|k| self.model_name(&k))?;
                Some((name, b))
            })
            .collect();
        if let (Some(name), Some(b)) = (
            self.designed.name.get_untracked(),
            self.designed.backend.get_value(),
        ) {
            out.push((name, b));
        }
        out
    }

    /// Measures prefill and decode at each context length, in time slices.
    pub async fn run_sweep(self) {
        let sw = self.sweep;
        if sw.run.get_untracked() == RunState::Running {
            return;
        }
        let models = self.sweep_models();
        if models.is_empty() {
            return sw
                .run
                .set(RunState::Failed("no model is loaded yet".into()));
        }
        let lengths = sweep::lengths_up_to(sw.max_len.get_untracked());
        let tasks = sweep::plan(models.len(), &lengths);
        let total: f64 = tasks.iter().map(sweep::cost).sum();
        sw.cancel.set_value(false);
        sw.points.set(Vec::new());
        sw.progress.set(0.0);
        sw.run.set(RunState::Running);
        let now = web::now_ms;
        let mut done = 0.0;
        let mut slice_start = web::now_ms();
        for task in tasks {
            let Some((name, backend)) = models.get(task.model) else {
                continue;
            };
            sw.current.set(format!("{name} at {} tokens", task.len));
            let mut job = sweep::Job::new(name, backend, task.len);
            loop {
                if sw.cancel.get_value() {
                    sw.current.set(String::new());
                    return sw.run.set(RunState::Stopped);
                }
                match job.advance(backend, &now) {
                    Ok(Some(p)) => {
                        sw.points.update(|v| v.push(p));
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        sw.current.set(String::new());
                        return sw.run.set(RunState::Failed(format!("{name}: {e}")));
                    }
                }
                if web::now_ms() - slice_start >= SLICE_MS {
                    web::yield_to_browser().await;
                    slice_start = web::now_ms();
                }
            }
            done += sweep::cost(&task);
            sw.progress.set(done / total);
            web::yield_to_browser().await;
            slice_start = web::now_ms();
        }
        sw.current.set(String::new());
        sw.run.set(RunState::Done);
    }

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
    })
}
