//! The messages between the page and the CPU engine's Web Worker, as JSON text. Model
//! files travel beside the JSON as transferred `Uint8Array`s (never copied into text).

use serde::{Deserialize, Serialize};

use crate::engine::SamplingParams;

/// What the page asks of the worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Build a model from the files sent beside this message, named by `names` in order
    /// (config.json, tokenizer.json and the weights: model.safetensors, or a Hugging Face
    /// index and its shards) and keep it under `key`.
    Load {
        key: u64,
        id: String,
        names: Vec<String>,
    },
    /// Forget model `key` (its page-side model was dropped).
    Drop { key: u64 },
    /// Generate from `prompt` with each model (`slots[i] = (slot index, model key)`),
    /// side by side, streaming [`Reply`]s tagged with `run`.
    Generate {
        run: u64,
        prompt: String,
        params: SamplingParams,
        max_new_tokens: usize,
        slots: Vec<(usize, u64)>,
    },
    /// Stop run `run` (at the next prefill chunk or token).
    Stop { run: u64 },
    /// Time the CPU engine on a playground family (random weights) at each of the
    /// benchmark's lengths (the in-page benchmark, `bench.rs`): a [`Reply::BenchRow`] per
    /// length, then [`Reply::RunOver`].
    Bench {
        run: u64,
        family: String,
        spec: crate::bench_types::Spec,
    },
}

/// Where one slot's run is, as the worker reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    /// The worker's wasm is running: requests may be sent. `threads`: the CPU engine's
    /// thread count there; `why_one`: why it runs on one thread, where it does.
    Ready {
        threads: usize,
        why_one: Option<String>,
    },
    /// Model `key` is built, or why not.
    Loaded { key: u64, error: Option<String> },
    /// Prefill progress: `done` of `total` prompt tokens read.
    Prefill {
        run: u64,
        slot: usize,
        done: usize,
        total: usize,
        training_len: Option<usize>,
        ms: f64,
    },
    /// New tokens since the last report, with the text they completed.
    Tokens {
        run: u64,
        slot: usize,
        ids: Vec<u32>,
        text: String,
        update: Progress,
    },
    /// The slot's run ended: "done", "stopped", or an error.
    Finished {
        run: u64,
        slot: usize,
        outcome: Result<String, String>,
        update: Progress,
    },
    /// Every slot of run `run` has finished.
    RunOver { run: u64 },
    /// One length of a [`Request::Bench`]: the row and the prefill's last-token logits,
    /// or why it failed (the run then ends).
    BenchRow {
        run: u64,
        row: Result<(crate::bench_types::Row, Vec<f32>), String>,
    },
}

/// Counters of one slot's run, sent with every token report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub generated: usize,
    pub decode_ms: f64,
    pub kv_bytes: usize,
    pub ssm_bytes: usize,
    /// The worker's wasm memory (bytes), for the memory benchmark.
    pub wasm_bytes: usize,
}

impl Request {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("bad request to the worker: {e}"))
    }
}

impl Reply {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("bad reply from the worker: {e}"))
    }

    /// The run a reply belongs to, if any.
    pub fn run(&self) -> Option<u64> {
        match self {
            Reply::Prefill { run, .. }
            | Reply::Tokens { run, .. }
            | Reply::Finished { run, .. }
            | Reply::RunOver { run }
            | Reply::BenchRow { run, .. } => Some(*run),
            Reply::Ready { .. } | Reply::Loaded { .. } => None,
        }
    }
}
