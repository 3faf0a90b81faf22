//! The generation's state: the prompt, the sampling form, and per slot the run, the text
//! and ids so far and the stats. The run itself is `state::generate`.

use leptos::prelude::*;

use super::models::{Models, MAX_MODELS};
use super::run::RunState;
use crate::sampling::SamplingForm;

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
    /// Prompt tokens read so far (the prefill runs in chunks).
    pub prefilled: usize,
    /// The worker's wasm memory, where the run is in the CPU engine's worker.
    pub wasm_bytes: usize,
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

    /// The form as typed now (untracked).
    pub fn snapshot(&self) -> SamplingForm {
        SamplingForm {
            max_new_tokens: self.max_new_tokens.get_untracked(),
            temperature: self.temperature.get_untracked(),
            top_k: self.top_k.get_untracked(),
            top_p: self.top_p.get_untracked(),
            seed: self.seed.get_untracked(),
        }
    }
}

/// One slot's generation: its run, output and stats.
#[derive(Clone, Copy)]
pub struct Output {
    pub run: RwSignal<RunState>,
    /// The decoded text so far.
    pub text: RwSignal<String>,
    pub ids: RwSignal<Vec<u32>>,
    pub stats: RwSignal<Stats>,
    /// A line about the run beside the stats: prefill progress, a prompt longer than
    /// the model's training length.
    pub note: RwSignal<Option<String>>,
}

impl Output {
    fn new() -> Self {
        Output {
            run: RwSignal::new(RunState::Idle),
            text: RwSignal::new(String::new()),
            ids: RwSignal::new(Vec::new()),
            stats: RwSignal::new(Stats::default()),
            note: RwSignal::new(None),
        }
    }

    /// Back to nothing generated.
    pub fn reset(&self) {
        self.run.set(RunState::Idle);
        self.text.set(String::new());
        self.ids.set(Vec::new());
        self.stats.set(Stats::default());
        self.note.set(None);
    }
}

/// Prompt, form, outputs and the stop flag.
#[derive(Clone, Copy)]
pub struct GenerationState {
    pub prompt: RwSignal<String>,
    pub form: FormFields,
    /// Per slot, by index.
    pub outputs: [Output; MAX_MODELS],
    /// Set by "Stop"; the run checks it between tokens.
    pub stop: StoredValue<bool>,
}

impl GenerationState {
    /// With the prompt from the URL hash, else the default one.
    pub fn new(prompt: Option<String>) -> Self {
        GenerationState {
            prompt: RwSignal::new(
                prompt.unwrap_or_else(|| "The cat sat on the mat. The cat".to_string()),
            ),
            form: FormFields::new(),
            outputs: std::array::from_fn(|_| Output::new()),
            stop: StoredValue::new(false),
        }
    }

    /// Whether any slot in use is generating (tracked).
    pub fn busy(self, models: Models) -> bool {
        models
            .active()
            .iter()
            .any(|s| self.outputs[s.index].run.get() == RunState::Running)
    }
}
