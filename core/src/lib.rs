//! # hybrid-core
//!
//! Hybrid language models that mix self-attention with Mamba-2 state-space layers,
//! sequentially (inter-layer) or in parallel (intra-layer), as studied in *Hybrid
//! Architectures for Language Models: Systematic Analysis and Design Insights*
//! (arXiv 2510.04800).
//!
//! - [`config`]: `config.json`, derived sizes, parameters, cache bytes, FLOPs.
//! - [`weights`]: safetensors checkpoints (f32/f16/bf16), checked name by name.
//! - [`cpu`]: the CPU reference engine (prefill, decode step, explicit state).
//! - [`probes`]: what the views draw (attention maps, implicit attention, dt, state norms).
//! - [`sample`], [`tokenizer`]: sampling and HF tokenizers.
//! - [`eval`]: per-token loss (cross-entropy), with or without interventions.
//! - [`fuzz`]: the never-panics properties of every input, shared by `fuzz/` and the
//!   property tests.
//!
//! ## Glossary: code name -> paper symbol
//!
//! | code | symbol | meaning |
//! |---|---|---|
//! | `d_model` | D | residual stream width |
//! | `d_ffn` | F | SwiGLU hidden width |
//! | `n_heads`, `n_kv_heads`, `head_dim` | Hq, Hkv, dh | attention heads (GQA) |
//! | `d_inner` | E = expand * D | Mamba-2 inner width (d_ssm in the paper) |
//! | `MambaDims::n_heads`, `head_dim` | H, P | SSM heads, channels per head |
//! | `d_state` | N | state size per head |
//! | `n_groups` | G | heads sharing B, C |
//! | `conv_width` | W | causal depthwise conv width |
//! | `dt` | Δ_t | step size, softplus(dt + dt_bias) |
//! | `a_log` | log(-A) | A = -exp(A_log), a scalar per head |
//! | `ssm` state | h_t (S) | [H, P, N]: S_t = exp(Δ_t A) S_{t-1} + Δ_t x_t B_tᵀ |
//! | `d_skip` | D (skip) | y_t = S_t C_t + D x_t |
//! | `implicit_attn` | L ∘ C Bᵀ | Mamba-2's attention-like matrix (SSD), scaled by Δ_s |
//! | intra `attn_norm`, `ssm_norm` | Norm | per-branch (per-head) RMS norm |
//! | intra `attn_scale`, `ssm_scale` | a_attn, a_ssm | learned branch scalars |
//! | `Fusion` | (+) | add, subtract ("diff") or concat |

// Index loops read like the equations they implement.
#![allow(clippy::needless_range_loop)]

pub mod config;
pub mod cpu;
pub mod error;
pub mod eval;
pub mod fuzz;
pub mod header;
pub mod hf;
pub mod intervene;
pub mod probes;
pub mod sample;
pub mod tasks;
pub mod testing;
pub mod tokenizer;
pub mod weights;

pub use config::{Fusion, LayerKind, ModelConfig, OutProj};
pub use cpu::{Forward, ForwardOptions, Model, State, StateBytes};
pub use error::{Error, Result};
pub use intervene::{Intervention, Interventions};
pub use probes::{LayerProbes, Probes};
pub use sample::{Needs, Sampler, SamplingParams};
pub use tokenizer::Tokenizer;
