//! The in-page benchmark's request and rows (`bench.rs`), on their own: the CPU engine's
//! worker receives a [`Spec`] and sends [`Row`]s back (`worker::protocol`), so these types
//! sit below both.

use serde::{Deserialize, Serialize};

/// What the URL asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// Playground families: `playground-<name>.json` is bundled.
    pub families: Vec<String>,
    pub lens: Vec<usize>,
    pub decode: usize,
    pub runs: usize,
    pub cpu: bool,
    pub webgpu: bool,
}

/// One measured point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub model: String,
    /// "cpu-wasm" or "webgpu".
    pub engine: String,
    pub context: usize,
    /// The whole prompt in one call (the GPU engine runs it in 256-token submissions),
    /// timed to the logits on the host; the best of `runs`.
    pub prefill_ms: f64,
    pub decode_ms_per_token: f64,
    pub decode_steps: usize,
    /// WebGPU: max |logit difference| with the CPU engine's last-token logits, over the
    /// largest |CPU logit|; `None` on the CPU or when the CPU engine did not run.
    pub rel_err_vs_cpu: Option<f64>,
    /// Every logit of the prefill and of the last decode step finite.
    pub finite: bool,
}
