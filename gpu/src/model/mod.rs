//! The model on the GPU: [`GpuModel`] holds the weights, [`Session`] the per-conversation
//! state (KV cache, SSM and conv state) and preallocated activations, and runs
//! `prefill` / `step` / `step_argmax`, each chunk or step one command submission, and
//! `prefill_probed` (the probes of one chunk, as the CPU engine defines them).
//!
//! One home for each contract:
//!
//! - `gpu_model.rs`: [`GpuModel`] (weights on the GPU, config, device).
//! - `weights.rs`: the weight buffers and their upload.
//! - `fold.rs`: Granite's scalar multipliers folded into the weights before the upload.
//! - `acts.rs`: what a session allocates: the activations of one chunk (one table) and the
//!   per-block state (KV cache, conv and SSM state).
//! - `probes.rs`: the probe buffers and their readback into `hybrid_core::Probes`.
//! - `plan/`: the plan builder (`plan::Planner`): the dispatches of a chunk of T tokens,
//!   with or without the probe hooks; the one decode-vs-prefill choice (`plan::Phase`).
//! - `session/`: [`Session`]: owns the buffers, caches the plans and runs them.
//! - `memory.rs`: [`MemoryReport`].
//! - `estimate.rs`: [`SessionOptions`] and [`estimate`]: what a model and a session will
//!   allocate, from the config, checked against the device's limits before allocating.
//!
//! Imports between these modules (none imports a module that imports it back; this file
//! only declares and re-exports):
//!
//! ```text
//! memory     -> (none)
//! weights    -> (none)
//! fold       -> (none)
//! gpu_model  -> estimate, fold, weights
//! acts       -> weights
//! estimate   -> acts, memory
//! probes     -> acts, weights
//! plan       -> acts, probes, weights
//! session    -> acts, estimate, gpu_model, memory, plan, probes
//! ```

mod acts;
mod estimate;
mod fold;
mod gpu_model;
mod memory;
mod plan;
mod probes;
mod session;
mod weights;

pub use estimate::{estimate, MemoryEstimate};
pub use gpu_model::GpuModel;
pub use memory::MemoryReport;
pub use session::{Session, SessionOptions};
pub use weights::{GpuWeights, WeightFormat};
