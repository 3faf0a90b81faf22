//! [`GpuModel`]: the weights of a model on the GPU, shared by its sessions.

use std::sync::Arc;

use hybrid_core::{Model, ModelConfig};

use super::estimate::{estimate, SessionOptions};
use super::weights::{GpuWeights, WeightFormat};
use crate::{Gpu, Result};

/// A model whose weights live on the GPU (storage buffers; matrices f32 or f16).
#[derive(Debug, Clone)]
pub struct GpuModel {
    pub(crate) gpu: Arc<Gpu>,
    pub(crate) config: ModelConfig,
    pub(crate) weights: Arc<GpuWeights>,
}

impl GpuModel {
    /// Upload the weights of a loaded (and validated) model, the matrices in the
    /// narrowest format that holds them exactly ([`WeightFormat::exact_for`]: bf16 or f16
    /// for a checkpoint stored so, else f32), so the GPU computes on the CPU engine's
    /// values. (Granite's folded scalars usually make the matrices f32.)
    pub fn new(gpu: Arc<Gpu>, model: &Model) -> Result<Self> {
        let folded = super::fold::folded(model);
        let format = WeightFormat::exact_for(folded.as_ref().unwrap_or(model).weights());
        Self::upload(gpu, model, folded, format)
    }

    /// Upload the weights with the matrices stored in `format` (each value rounded to
    /// nearest; with Granite's scalars, the folded matrices are rounded).
    pub fn with_format(gpu: Arc<Gpu>, model: &Model, format: WeightFormat) -> Result<Self> {
        Self::upload(gpu, model, super::fold::folded(model), format)
    }

    // wgpu's handles are Send + Sync natively but not on wasm32 (WebGPU objects live on
    // one thread); the Arc is for cheap clones, not for sharing across threads.
    #[allow(clippy::arc_with_non_send_sync)]
    fn upload(
        gpu: Arc<Gpu>,
        model: &Model,
        folded: Option<Model>,
        format: WeightFormat,
    ) -> Result<Self> {
        // refuse a matrix over the device's limits before uploading any
        let one = SessionOptions {
            max_context: 1,
            chunk: 1,
        };
        estimate(model.config(), format, one).check(&gpu.limits, None)?;
        // Granite's scalars live in the uploaded matrices (fold.rs); the config keeps them
        let weights = GpuWeights::upload(&gpu, folded.as_ref().unwrap_or(model), format)?;
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
}
