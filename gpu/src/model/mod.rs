//! The model on the GPU: [`GpuModel`] holds the weights, [`Session`] the per-conversation
//! state (KV cache, SSM and conv state) and preallocated activations, and runs
//! `prefill` / `step` / `step_argmax`, each chunk or step one command submission, and
//! `prefill_probed` (the probes of one chunk, as the CPU engine defines them).

mod memory;
mod plan;
mod probes;
mod session;
mod weights;

use std::sync::Arc;

use hybrid_core::{Model, ModelConfig};

pub use memory::MemoryReport;
pub use session::{Session, SessionOptions};
pub use weights::{GpuWeights, WeightFormat};

use crate::{Gpu, Result};

/// A model whose weights live on the GPU (storage buffers; matrices f32 or f16).
#[derive(Debug, Clone)]
pub struct GpuModel {
    pub(crate) gpu: Arc<Gpu>,
    pub(crate) config: ModelConfig,
    pub(crate) weights: Arc<GpuWeights>,
}

impl GpuModel {
    /// Upload the weights of a loaded (and validated) model, as f32.
    pub fn new(gpu: Arc<Gpu>, model: &Model) -> Result<Self> {
        Self::with_format(gpu, model, WeightFormat::F32)
    }

    /// Upload the weights with the matrices stored in `format`.
    pub fn with_format(gpu: Arc<Gpu>, model: &Model, format: WeightFormat) -> Result<Self> {
        let weights = GpuWeights::upload(&gpu, model, format)?;
        gpu.check()?;
        Ok(GpuModel {
            gpu,
            config: model.config().clone(),
            weights: Arc::new(weights),
        })
    }

    /// The architecture.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The device.
    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }

    /// How the weight matrices are stored.
    pub fn weight_format(&self) -> WeightFormat {
        self.weights.format
    }

    /// Bytes of weights on the GPU.
    pub fn weight_bytes(&self) -> u64 {
        self.weights.bytes
    }

    /// A fresh session (position 0).
    pub fn session(&self, opts: SessionOptions) -> Result<Session> {
        Session::new(self.clone(), opts)
    }
}
