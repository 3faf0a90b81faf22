//! Typed errors. Everything a user can feed in (a config, a checkpoint, a prompt, a
//! tokenizer) returns one of these instead of panicking: in the browser a panic kills the page.

use thiserror::Error;

/// Any error the engine reports.
#[derive(Debug, Error)]
pub enum Error {
    /// `config.json` is not valid JSON or misses a field.
    #[error("config.json: {0}")]
    ConfigSyntax(String),
    /// `config.json` parses but describes an impossible model.
    #[error("config.json: {0}")]
    Config(String),
    /// The safetensors file itself is unreadable (truncated, bad header, ...).
    #[error("model.safetensors: {0}")]
    Safetensors(String),
    /// A tensor the config requires is not in the checkpoint.
    #[error("model.safetensors: missing tensor `{name}` (expected shape {expected:?})")]
    MissingTensor { name: String, expected: Vec<usize> },
    /// A tensor has the wrong shape.
    #[error("model.safetensors: tensor `{name}` has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    /// A tensor has a dtype the engine cannot read.
    #[error("model.safetensors: tensor `{name}` has dtype {found}, expected F32, F16 or BF16")]
    DType { name: String, found: String },
    /// The checkpoint holds tensors the config does not explain (config and weights disagree).
    #[error("model.safetensors: {count} unexpected tensor(s) for this config, e.g. `{example}`: does config.json match the weights?")]
    UnexpectedTensors { count: usize, example: String },
    /// A tensor holds NaN or infinite values: the model would print garbage.
    #[error("model.safetensors: tensor `{name}` holds {count} non-finite value(s), the first ({first}) at flat index {index}")]
    NonFinite {
        name: String,
        count: usize,
        index: usize,
        first: f32,
    },
    /// A token id outside the vocabulary.
    #[error("token id {id} is outside the vocabulary (size {vocab})")]
    TokenOutOfRange { id: u32, vocab: usize },
    /// A prompt that is empty or too long for the session.
    #[error("{0}")]
    Prompt(String),
    /// Sampling settings out of their range.
    #[error("sampling: {0}")]
    Sampling(String),
    /// A buffer sized in advance (a KV cache) could not be allocated, or a model is over
    /// the memory this platform can address: the message gives the bytes.
    #[error("out of memory: {0}")]
    Memory(String),
    /// The tokenizer file or an encode/decode call failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// An intervention that does not parse or does not fit the model.
    #[error("intervention: {0}")]
    Intervention(String),
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
