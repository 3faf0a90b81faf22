//! Typed errors of the GPU engine: everything a user or a machine can cause (no adapter,
//! a lost device, a model too large for the device's limits, a full context) is one of
//! these, never a panic.

use thiserror::Error;

/// Any error of the GPU engine.
#[derive(Debug, Error)]
pub enum GpuError {
    /// No WebGPU / Vulkan / Metal / DX12 adapter is available.
    #[error("no GPU adapter found ({0}); the CPU engine still works")]
    NoAdapter(String),
    /// The adapter refused to open a device.
    #[error("could not open the GPU device: {0}")]
    RequestDevice(String),
    /// The device went away (driver reset, tab in background too long, ...).
    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),
    /// wgpu reported a validation or out-of-memory error.
    #[error("GPU error: {0}")]
    Wgpu(String),
    /// Reading a buffer back failed.
    #[error("reading results back from the GPU failed: {0}")]
    Map(String),
    /// A buffer would exceed a device limit.
    #[error("{what} needs {bytes} bytes, over this device's limit of {limit} bytes")]
    TooLarge {
        what: String,
        bytes: u64,
        limit: u64,
    },
    /// A dispatch grid over the device's workgroups-per-dimension limit (one that
    /// [`crate::dispatch::fold`] could not fold, or a kernel's fixed grid).
    #[error("{op}: dispatch grid {grid:?} needs more workgroups than this device's limit of {limit} workgroups per dimension")]
    Grid {
        op: String,
        grid: [u64; 3],
        limit: u32,
    },
    /// A model dimension the shaders don't support.
    #[error("not supported by the GPU engine: {0}")]
    Unsupported(String),
    /// An op was given buffers that don't fit its shapes (a bug in the caller).
    #[error("shape error in {op}: {msg}")]
    Shape { op: String, msg: String },
    /// The session's KV cache cannot take more tokens.
    #[error("context full: {pos} tokens cached + {tokens} new > max context {max}")]
    ContextFull {
        pos: usize,
        tokens: usize,
        max: usize,
    },
    /// Errors from the model side (bad tokens, empty prompt, ...).
    #[error(transparent)]
    Model(#[from] hybrid_core::Error),
}

/// Shorthand used across the crate.
pub type Result<T, E = GpuError> = std::result::Result<T, E>;
