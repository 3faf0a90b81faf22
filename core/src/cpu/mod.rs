//! The CPU reference engine (f32): the readable oracle for the GPU engine and the
//! fallback where WebGPU is missing.

pub mod attention;
pub mod exp;
pub mod mamba;
pub mod mat;
pub mod model;
pub mod ops;
pub mod packed;
pub mod par;
pub mod reduce;
pub mod sgemm_shapes;
pub mod softmax;
pub mod ssd;
pub mod state;

pub use model::{Forward, ForwardOptions, LayerState, Model, State, StateBytes, DEFAULT_CHUNK};
