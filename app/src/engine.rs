//! The engine seam: the only module that names the engine crates. Every other module
//! reaches the CPU reference engine (`hybrid_core`, compiled to wasm) and the GPU engine
//! (`hybrid_gpu`, WebGPU in the browser) through what this module exports:
//!
//! - [`GpuEngine`] (`engine/gpu.rs`): opens the GPU device (the one place a
//!   `hybrid_gpu::Gpu` is created) and checks an uploaded model against the CPU engine;
//! - [`LoadedModel`] (`engine/loaded.rs`): a model and its tokenizer from three files;
//!   `engine/limits.rs` refuses one too large for the page's wasm memory, from its config
//!   alone ([`check_config_fits_page`]);
//! - [`Backend`] (`engine/backend.rs`): a model on one engine, the CPU or the GPU, with the
//!   CPU model kept beside a GPU one to fall back on;
//! - [`Session`] (`engine/session.rs`): one sequence's state on an engine, fed tokens and
//!   probed;
//! - interventions (`engine/intervene.rs`): a set checked against a model, intervened
//!   forwards and probes, routed to an engine in one place
//!   ([`Backend::intervened_session`]);
//! - [`WorkerRun`] (`engine/worker.rs`): a generation in the CPU engine's Web Worker,
//!   which holds a copy of every CPU model built in the page (sent there by
//!   [`Backend::cpu_from_files`], dropped with the model);
//! - the plain data types of `hybrid_core` the page reads (configs, probes, sampling
//!   parameters), re-exported below so that `grep hybrid_ app/src` finds only this module.
//!
//! Imports inside: `backend` uses `gpu` and `loaded`; `session` uses `backend`; nothing
//! here imports a page module.

mod backend;
mod gpu;
mod intervene;
mod limits;
mod loaded;
mod session;
mod worker;

pub use backend::Backend;
pub use gpu::GpuEngine;
pub use intervene::INTERVENED_ENGINE;
pub use limits::{
    check_config_fits_page, check_fits_page, hf_architecture, page_bytes, read_config,
    WASM_MEMORY_BYTES,
};
pub use loaded::LoadedModel;
pub use loaded::NamedFiles;
pub use session::Session;
pub use worker::{cpu_threads_now, on_cpu_threads, CpuThreads, WorkerRun};

pub use hybrid_core::hf::{shard_files, INDEX_FILE, WEIGHTS_FILE};
pub use hybrid_core::tokenizer::TextStream;

pub use hybrid_core::config::{
    AttentionConfig, IntraConfig, MambaConfig, ATTENTION_KEYS, INTRA_KEYS, TOP_KEYS,
};
pub use hybrid_core::intervene::{Branch, DtOp, Part};
pub use hybrid_core::sample::Rng;
pub use hybrid_core::tasks::recall;
pub use hybrid_core::{
    Fusion, Intervention, Interventions, LayerKind, ModelConfig, OutProj, Probes, Sampler,
    SamplingParams, StateBytes, Tokenizer,
};
