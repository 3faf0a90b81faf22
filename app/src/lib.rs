//! Hybrid Playground: the page.
//!
//! A plain first page: pick a bundled model, type a prompt, set the sampling controls and
//! watch the model generate token by token on the CPU engine (`hybrid_core`, compiled to
//! WebAssembly). The page never panics on what it fetches or what the user types: every
//! failure ends up as a message in the page.
//!
//! Markers for tests: `#output[data-state]` is `idle`, `running`, `done`, `stopped` or
//! `error`; `#backend-badge[data-webgpu]` is `checking`, `yes` or `no`; errors are
//! `[data-testid=error]`; `window.__hybrid_status` mirrors the state as a plain object.

mod catalog;
mod params;
mod session;
mod web;

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use catalog::{ModelEntry, INDEX_URL, MODEL_FILES};
use params::SamplingForm;
use session::{Generation, LoadedModel};
use web::WebGpu;

/// Work between two yields to the browser while generating, in milliseconds.
const SLICE_MS: f64 = 16.0;

/// Where the selected model is in its loading.
#[derive(Clone, Debug, PartialEq)]
enum LoadState {
    /// Nothing selected yet.
    Idle,
    /// Fetching file `step` of [`MODEL_FILES`] (or building the model once all are in).
    Loading {
        what: String,
        step: usize,
        received: u64,
        total: Option<u64>,
    },
    /// Ready; the text summarizes the model.
    Ready(String),
    Failed(String),
}

/// Where a generation run is.
#[derive(Clone, Debug, PartialEq)]
enum RunState {
    Idle,
    Running,
    Done,
    Stopped,
    Failed(String),
}

impl RunState {
    fn marker(&self) -> &'static str {
        match self {
            RunState::Idle => "idle",
            RunState::Running => "running",
            RunState::Done => "done",
            RunState::Stopped => "stopped",
            RunState::Failed(_) => "error",
        }
    }
}

/// Timings of the current run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Stats {
    prompt_tokens: usize,
    generated: usize,
    prefill_ms: f64,
    decode_ms: f64,
}

impl Stats {
    fn tokens_per_s(&self) -> Option<f64> {
        (self.generated > 0 && self.decode_ms > 0.0)
            .then(|| self.generated as f64 * 1000.0 / self.decode_ms)
    }
}

/// The sampling form, one signal per field.
#[derive(Clone, Copy)]
struct FormFields {
    max_new_tokens: RwSignal<String>,
    temperature: RwSignal<String>,
    top_k: RwSignal<String>,
    top_p: RwSignal<String>,
    seed: RwSignal<String>,
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

/// All page state: signal handles, so the struct is `Copy` and closures can capture it.
#[derive(Clone, Copy)]
struct Playground {
    models: RwSignal<Vec<ModelEntry>>,
    index_error: RwSignal<Option<String>>,
    selected: RwSignal<Option<String>>,
    load: RwSignal<LoadState>,
    /// The loaded model (not `Send`, so kept in thread-local storage).
    loaded: StoredValue<Option<Rc<LoadedModel>>, LocalStorage>,
    /// Bumped on every model selection, so a stale download cannot win.
    load_seq: StoredValue<u64>,
    webgpu: RwSignal<WebGpu>,
    prompt: RwSignal<String>,
    form: FormFields,
    run: RwSignal<RunState>,
    output: RwSignal<String>,
    ids: RwSignal<Vec<u32>>,
    stats: RwSignal<Stats>,
    stop: StoredValue<bool>,
}

impl Playground {
    fn new() -> Self {
        Playground {
            models: RwSignal::new(Vec::new()),
            index_error: RwSignal::new(None),
            selected: RwSignal::new(None),
            load: RwSignal::new(LoadState::Idle),
            loaded: StoredValue::new_local(None),
            load_seq: StoredValue::new(0),
            webgpu: RwSignal::new(WebGpu::Checking),
            prompt: RwSignal::new("Once upon a time".to_string()),
            form: FormFields::new(),
            run: RwSignal::new(RunState::Idle),
            output: RwSignal::new(String::new()),
            ids: RwSignal::new(Vec::new()),
            stats: RwSignal::new(Stats::default()),
            stop: StoredValue::new(false),
        }
    }

    fn busy(self) -> bool {
        self.run.get() == RunState::Running
    }

    fn ready(self) -> bool {
        matches!(self.load.get(), LoadState::Ready(_))
    }

    fn selected_entry(self) -> Option<ModelEntry> {
        let id = self.selected.get()?;
        self.models.get().into_iter().find(|m| m.id == id)
    }

    /// Fetches the model list and loads the first model.
    async fn load_index(self) {
        let bytes = match web::fetch_bytes(INDEX_URL, |_, _| {}).await {
            Ok(b) => b,
            Err(e) => {
                return self
                    .index_error
                    .set(Some(format!("could not read the model list: {e}")))
            }
        };
        match catalog::parse_index(&bytes) {
            Ok(models) if models.is_empty() => {
                self.index_error
                    .set(Some(format!("{INDEX_URL} lists no models")));
            }
            Ok(models) => {
                let first = models.first().map(|m| m.id.clone());
                self.models.set(models);
                if let Some(first) = first {
                    self.select(first);
                }
            }
            Err(e) => self.index_error.set(Some(e)),
        }
    }

    /// Selects a model by id and starts loading it.
    fn select(self, id: String) {
        let Some(entry) = self.models.get_untracked().into_iter().find(|m| m.id == id) else {
            self.load
                .set(LoadState::Failed(format!("no model with id {id:?}")));
            return;
        };
        self.selected.set(Some(id));
        spawn_local(self.load_model(entry));
    }

    async fn load_model(self, entry: ModelEntry) {
        let seq = self.load_seq.get_value() + 1;
        self.load_seq.set_value(seq);
        let current = move || self.load_seq.get_value() == seq;
        self.loaded.set_value(None);
        self.run.set(RunState::Idle);
        self.output.set(String::new());
        self.ids.set(Vec::new());
        self.stats.set(Stats::default());

        let mut files: Vec<Vec<u8>> = Vec::with_capacity(MODEL_FILES.len());
        for (step, file) in MODEL_FILES.iter().enumerate() {
            let loading = |received, total| LoadState::Loading {
                what: file.to_string(),
                step,
                received,
                total,
            };
            self.load.set(loading(0, None));
            let result = web::fetch_bytes(&entry.file_url(file), |received, total| {
                if current() {
                    self.load.set(loading(received, total));
                }
            })
            .await;
            if !current() {
                return;
            }
            match result {
                Ok(bytes) => files.push(bytes),
                Err(e) => return self.load.set(LoadState::Failed(e)),
            }
        }
        self.load.set(LoadState::Loading {
            what: "building the model".into(),
            step: MODEL_FILES.len(),
            received: 0,
            total: None,
        });
        web::yield_to_browser().await;
        if !current() {
            return;
        }
        // MODEL_FILES order: config.json, tokenizer.json, model.safetensors.
        let Ok([config, tokenizer, weights]) = <[Vec<u8>; 3]>::try_from(files) else {
            return self
                .load
                .set(LoadState::Failed("not all model files arrived".into()));
        };
        match LoadedModel::from_files(&entry.id, &config, &weights, &tokenizer) {
            Ok(loaded) => {
                self.load.set(LoadState::Ready(loaded.summary()));
                self.loaded.set_value(Some(Rc::new(loaded)));
            }
            Err(e) => self.load.set(LoadState::Failed(e)),
        }
    }

    /// Runs one generation, yielding to the browser every [`SLICE_MS`].
    async fn generate(self) {
        if self.run.get_untracked() == RunState::Running {
            return;
        }
        let Some(loaded) = self.loaded.get_value() else {
            return self
                .run
                .set(RunState::Failed("no model is loaded yet".into()));
        };
        let sampling = match self.form.snapshot().parse() {
            Ok(s) => s,
            Err(e) => return self.run.set(RunState::Failed(e)),
        };
        let prompt = self.prompt.get_untracked();
        self.stop.set_value(false);
        self.output.set(String::new());
        self.ids.set(Vec::new());
        self.stats.set(Stats::default());
        self.run.set(RunState::Running);
        web::yield_to_browser().await;

        let t0 = web::now_ms();
        let mut generation = match Generation::start(loaded, &prompt, sampling) {
            Ok(g) => g,
            Err(e) => return self.run.set(RunState::Failed(e)),
        };
        let t1 = web::now_ms();
        let mut stats = Stats {
            prompt_tokens: generation.prompt_len(),
            prefill_ms: t1 - t0,
            ..Stats::default()
        };
        self.stats.set(stats);

        let mut slice_start = web::now_ms();
        let outcome = loop {
            if self.stop.get_value() {
                break RunState::Stopped;
            }
            match generation.next_token() {
                Ok(Some(_)) => {}
                Ok(None) => break RunState::Done,
                Err(e) => break RunState::Failed(e),
            }
            if generation.is_finished() {
                break RunState::Done;
            }
            if web::now_ms() - slice_start >= SLICE_MS {
                stats.generated = generation.generated().len();
                stats.decode_ms = web::now_ms() - t1;
                if let Err(e) = self.show(&generation, stats) {
                    break RunState::Failed(e);
                }
                web::yield_to_browser().await;
                slice_start = web::now_ms();
            }
        };
        stats.generated = generation.generated().len();
        stats.decode_ms = web::now_ms() - t1;
        let outcome = match (self.show(&generation, stats), outcome) {
            (Err(e), RunState::Done | RunState::Stopped) => RunState::Failed(e),
            (_, outcome) => outcome,
        };
        self.run.set(outcome);
    }

    /// Puts the text so far into the page.
    fn show(self, generation: &Generation, stats: Stats) -> Result<(), String> {
        let text = generation.text()?;
        self.output.set(text);
        self.ids.set(generation.generated().to_vec());
        self.stats.set(stats);
        Ok(())
    }

    /// The state as one word, for tests.
    fn overall_state(self) -> &'static str {
        if self.index_error.get().is_some() {
            return "error";
        }
        match (self.load.get(), self.run.get()) {
            (LoadState::Failed(_), _) | (_, RunState::Failed(_)) => "error",
            (_, RunState::Running) => "generating",
            (_, RunState::Done) => "done",
            (_, RunState::Stopped) => "stopped",
            (LoadState::Loading { .. }, _) => "loading",
            (LoadState::Ready(_), _) => "ready",
            (LoadState::Idle, _) => "starting",
        }
    }

    /// Keeps `window.__hybrid_status` in step with the page.
    fn publish_status(self) {
        Effect::new(move |_| {
            let errors: Vec<String> = [
                self.index_error.get(),
                match self.load.get() {
                    LoadState::Failed(e) => Some(e),
                    _ => None,
                },
                match self.run.get() {
                    RunState::Failed(e) => Some(e),
                    _ => None,
                },
            ]
            .into_iter()
            .flatten()
            .collect();
            let stats = self.stats.get();
            let (webgpu, adapter) = match self.webgpu.get() {
                WebGpu::Checking => ("checking", String::new()),
                WebGpu::Available(a) => ("yes", a),
                WebGpu::Missing(why) => ("no", why),
            };
            web::publish_status(&serde_json::json!({
                "state": self.overall_state(),
                "engine": "cpu-wasm",
                "webgpu": webgpu,
                "webgpu_detail": adapter,
                "model": self.selected.get(),
                "run": self.run.get().marker(),
                "errors": errors,
                "ids": self.ids.get(),
                "text": self.output.get(),
                "prompt_tokens": stats.prompt_tokens,
                "generated": stats.generated,
                "prefill_ms": stats.prefill_ms,
                "decode_ms": stats.decode_ms,
                "tokens_per_s": stats.tokens_per_s(),
            }));
        });
    }
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let app = Playground::new();
    app.publish_status();
    spawn_local(app.load_index());
    spawn_local(async move { app.webgpu.set(web::probe_webgpu().await) });

    view! {
        <div class="page">
            <header class="top">
                <div>
                    <h1>"Hybrid Playground"</h1>
                    <p class="tagline">
                        "Small language models that mix attention with Mamba-2 state-space layers, "
                        "running entirely in your browser."
                    </p>
                </div>
                <BackendBadge webgpu=app.webgpu />
            </header>
            <Errors app=app />
            <main class="grid">
                <section class="panel" aria-label="Model and sampling">
                    <ModelPicker app=app />
                    <LoadStatus app=app />
                    <SamplingControls form=app.form disabled=Signal::derive(move || app.busy()) />
                </section>
                <section class="panel" aria-label="Prompt and output">
                    <PromptBox app=app />
                    <OutputView app=app />
                </section>
            </main>
            <footer class="foot">
                "Bring your own checkpoint: the format is described in docs/FORMAT.md of the repository."
            </footer>
        </div>
    }
}

/// Which engine runs, and whether the browser offers WebGPU (honestly: the GPU engine is
/// not in the page yet).
#[component]
fn BackendBadge(webgpu: RwSignal<WebGpu>) -> impl IntoView {
    let marker = move || match webgpu.get() {
        WebGpu::Checking => "checking",
        WebGpu::Available(_) => "yes",
        WebGpu::Missing(_) => "no",
    };
    let detail = move || match webgpu.get() {
        WebGpu::Checking => "checking for WebGPU…".to_string(),
        WebGpu::Available(adapter) => format!("WebGPU available ({adapter}) — GPU engine coming"),
        WebGpu::Missing(why) => format!("no WebGPU: {why}"),
    };
    view! {
        <div id="backend-badge" class="badge" data-webgpu=marker role="status">
            <strong>"Engine: CPU (wasm)"</strong>
            <span class="badge-detail">{detail}</span>
        </div>
    }
}

/// Every error in the page, each in its own alert.
#[component]
fn Errors(app: Playground) -> impl IntoView {
    let messages = move || {
        let mut out = Vec::new();
        if let Some(e) = app.index_error.get() {
            out.push(e);
        }
        if let LoadState::Failed(e) = app.load.get() {
            out.push(format!("Could not load the model: {e}"));
        }
        if let RunState::Failed(e) = app.run.get() {
            out.push(format!("Generation stopped: {e}"));
        }
        out
    };
    view! {
        <div class="errors">
            {move || {
                messages()
                    .into_iter()
                    .map(|m| view! { <p class="error" role="alert" data-testid="error">{m}</p> })
                    .collect_view()
            }}
        </div>
    }
}

/// The model list from `index.json`; choosing one loads it.
#[component]
fn ModelPicker(app: Playground) -> impl IntoView {
    let description = move || {
        app.selected_entry()
            .map(|m| m.description)
            .unwrap_or_default()
    };
    view! {
        <label class="field-label" for="model">"Model"</label>
        <select
            id="model"
            disabled=move || app.busy() || app.models.get().is_empty()
            on:change=move |ev| app.select(event_target_value(&ev))
        >
            {move || {
                app.models
                    .get()
                    .into_iter()
                    .map(|m| {
                        let id = m.id.clone();
                        let is_selected = move || app.selected.get().as_deref() == Some(id.as_str());
                        view! {
                            <option value=m.id.clone() selected=is_selected>
                                {m.name.clone()}
                            </option>
                        }
                    })
                    .collect_view()
            }}
        </select>
        <p class="hint">{description}</p>
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Download progress of the selected model, then its summary.
#[component]
fn LoadStatus(app: Playground) -> impl IntoView {
    let marker = move || match app.load.get() {
        LoadState::Idle => "idle",
        LoadState::Loading { .. } => "loading",
        LoadState::Ready(_) => "ready",
        LoadState::Failed(_) => "error",
    };
    let body = move || match app.load.get() {
        LoadState::Idle => view! { <p class="hint">"Loading the model list…"</p> }.into_any(),
        LoadState::Loading {
            what,
            step,
            received,
            total,
        } => {
            let n = MODEL_FILES.len();
            let (fraction, amount) = match total {
                Some(t) if t > 0 => (
                    (received as f64 / t as f64).min(1.0),
                    format!("{} of {}", megabytes(received), megabytes(t)),
                ),
                _ => (0.0, megabytes(received)),
            };
            let overall = ((step as f64 + fraction) / n as f64).min(1.0);
            let label = if step < n {
                format!("Fetching {what} ({} of {n}): {amount}", step + 1)
            } else {
                format!("{what}…")
            };
            view! {
                <progress max="1" value=format!("{overall:.3}")></progress>
                <p class="hint">{label}</p>
            }
            .into_any()
        }
        LoadState::Ready(summary) => view! { <p class="ok">"Ready — " {summary}</p> }.into_any(),
        LoadState::Failed(_) => {
            view! { <p class="hint">"Loading failed (see the message above)."</p> }.into_any()
        }
    };
    view! { <div id="model-status" class="status" data-state=marker>{body}</div> }
}

/// One labelled numeric input.
#[component]
fn NumberField(
    label: &'static str,
    id: &'static str,
    value: RwSignal<String>,
    step: &'static str,
    hint: &'static str,
    disabled: Signal<bool>,
) -> impl IntoView {
    view! {
        <label class="num" title=hint>
            <span>{label}</span>
            <input
                type="number"
                id=id
                step=step
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                disabled=move || disabled.get()
            />
        </label>
    }
}

/// Max new tokens, temperature, top-k, top-p and seed.
#[component]
fn SamplingControls(form: FormFields, disabled: Signal<bool>) -> impl IntoView {
    view! {
        <fieldset class="sampling">
            <legend>"Sampling"</legend>
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

/// The prompt, and the Generate and Stop buttons (Ctrl+Enter generates).
#[component]
fn PromptBox(app: Playground) -> impl IntoView {
    let can_generate = move || app.ready() && !app.busy();
    view! {
        <label class="field-label" for="prompt">"Prompt"</label>
        <textarea
            id="prompt"
            rows="4"
            prop:value=move || app.prompt.get()
            on:input=move |ev| app.prompt.set(event_target_value(&ev))
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) && can_generate() {
                    ev.prevent_default();
                    spawn_local(app.generate());
                }
            }
        ></textarea>
        <div class="buttons">
            <button id="generate" class="primary" disabled=move || !can_generate()
                on:click=move |_| spawn_local(app.generate())>
                "Generate"
            </button>
            <button id="stop" disabled=move || !app.busy() on:click=move |_| app.stop.set_value(true)>
                "Stop"
            </button>
        </div>
    }
}

/// The generated text as it streams in, and its speed.
#[component]
fn OutputView(app: Playground) -> impl IntoView {
    let stats_line = move || {
        let s = app.stats.get();
        if s.prompt_tokens == 0 {
            return String::new();
        }
        let speed = s
            .tokens_per_s()
            .map(|t| format!(" · {t:.1} tokens/s"))
            .unwrap_or_default();
        format!(
            "{} prompt tokens, prefill {:.0} ms · {} new tokens{speed}",
            s.prompt_tokens, s.prefill_ms, s.generated
        )
    };
    view! {
            <div class="field-label">"Output"</div>
            <pre id="output" class="output" data-state=move || app.run.get().marker() aria-live="polite">
    {move || app.output.get()}
            </pre>
            <p id="stats" class="hint">{stats_line}</p>
        }
}
