//! [`GpuModel`]: the weights of a model on the GPU, shared by its sessions.

use std::sync::Arc;

use hybrid_core::{Model, ModelConfig};

use super::weights::{GpuWeights, WeightFormat};
use crate::{Gpu, GpuError, Result};

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
    // wgpu's handles are Send + Sync natively but not on wasm32 (WebGPU objects live on
    // one thread); the Arc is for cheap clones, not for sharing across threads.
    #[allow(clippy::arc_with_non_send_sync)]
    pub fn with_format(gpu: Arc<Gpu>, model: &Model, format: WeightFormat) -> Result<Self> {
        check_supported(model.config())?;
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
}

/// Refuse the config options the shaders do not run yet (they would compute another
/// model): the scalar multipliers, a softmax scale other than 1/sqrt(dh), partial or no
/// RoPE (Hugging Face's Granite-4.0-H and Bamba).
fn check_supported(cfg: &ModelConfig) -> Result<()> {
    let scales = [
        ("embed_scale", cfg.embed_scale),
        ("residual_scale", cfg.residual_scale),
        ("logit_scale", cfg.logit_scale),
    ];
    if let Some((key, Some(v))) = scales
        .into_iter()
        .find(|(_, v)| v.is_some_and(|v| v != 1.0))
    {
        return Err(GpuError::Unsupported(format!(
            "`{key}` = {v} (use the CPU engine)"
        )));
    }
    if let Some(a) = &cfg.attention {
        if let Some(s) = a.scale {
            return Err(GpuError::Unsupported(format!(
                "`attention.scale` = {s} (use the CPU engine)"
            )));
        }
        if let Some(r) = a.rope_dim.filter(|&r| r != a.head_dim) {
            return Err(GpuError::Unsupported(format!(
                "`attention.rope_dim` = {r} of head_dim {} (use the CPU engine)",
                a.head_dim
            )));
        }
    }
    Ok(())
}
