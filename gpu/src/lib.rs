//! # hybrid-gpu
//!
//! The WebGPU engine for the hybrid models of `hybrid-core`: the same forward pass as the
//! CPU reference (`hybrid_core::cpu`), as WGSL compute shaders (one op per file in the
//! repo's `shaders/` folder) run through `wgpu`, natively (Vulkan, Metal, DX12; Mesa's
//! lavapipe in tests) and in the browser (WebGPU).
//!
//! - [`device`]: adapter + device setup ([`Gpu`]), shared by everything else;
//!   [`caps`]: the optional features it was opened with (f16, subgroups, tensor cores).
//! - [`kernel`]: the kernel table: every shader, its bindings and its `Params` mirror, in
//!   one row each.
//! - [`params`]: the `params!` macro: each shader's `Params` uniform mirrored in Rust
//!   with its member list; [`contract`]: each kernel's mirror and the WGSL consts that copy
//!   a Rust constant (checked against the shaders by `gpu/tests/contract.rs`).
//! - [`pipeline`]: the pipeline cache (one pipeline per kernel + override constants).
//! - [`dispatch`]: one recorded dispatch (pipeline, bind group, params, grid).
//! - [`ops`]: one constructor per op: checks shapes, builds a [`Dispatch`].
//! - [`profile`]: per-dispatch GPU times from timestamp queries (`hybrid bench --profile`).
//! - [`weight_format`]: [`WeightFormat`], f32 or packed f16 / bf16 weight matrices.
//! - [`model`]: [`GpuModel`] (weights on the GPU) and [`Session`] (KV cache, SSM and conv
//!   state, preallocated activations; `prefill`, `step`, `step_argmax`, and
//!   `prefill_probed` for the probes of one chunk).
//!
//! Conventions: binding 0 of every shader is a `Params` uniform mirrored by a
//! `#[repr(C)]` Pod struct here (made by `params!`), then read-only inputs, then outputs;
//! specialization only through WGSL `override` constants; every buffer and pipeline is
//! labelled. `gpu/tests/contract.rs` holds the shaders and their Rust side in agreement.

pub mod caps;
pub mod contract;
pub mod device;
pub mod dispatch;
pub mod error;
pub mod kernel;
pub mod model;
pub mod ops;
pub mod params;
pub mod pipeline;
pub mod profile;
pub mod readback;
pub mod weight_format;

pub use caps::Caps;
pub use device::Gpu;
pub use dispatch::{run, Dispatch};
pub use error::{GpuError, Result};
pub use kernel::Kernel;
pub use model::{
    estimate, GpuModel, MemoryEstimate, MemoryReport, Session, SessionOptions, WeightFormat,
};
/// The wgpu this crate is built on (its `Limits` are what [`MemoryEstimate::check`] reads).
pub use wgpu;
