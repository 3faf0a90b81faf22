//! The GPU engine's device: opening it (the one place the page creates a
//! `hybrid_gpu::Gpu`), naming its adapter, and the check that a model uploaded to it
//! computes what the CPU engine computes.

use std::sync::Arc;

use hybrid_gpu::Gpu;

/// An open GPU device, shared by every model uploaded to it (cheap to clone).
#[derive(Clone)]
pub struct GpuEngine(Arc<Gpu>);

impl GpuEngine {
    /// Opens the GPU engine (WebGPU in the browser, any adapter natively); the error says
    /// why not, for the page's badge.
    // `GpuModel::new` takes an `Arc<Gpu>`; in wasm32 the WebGPU handles are not `Send`,
    // and the page has one thread.
    #[allow(clippy::arc_with_non_send_sync)]
    pub async fn open() -> Result<Self, String> {
        Gpu::new()
            .await
            .map(|g| GpuEngine(Arc::new(g)))
            .map_err(|e| e.to_string())
    }

    /// Opens the GPU engine, blocking (native tests).
    #[cfg(all(test, not(target_arch = "wasm32")))]
    pub fn open_blocking() -> Result<Self, String> {
        Gpu::new_blocking()
            .map(|g| GpuEngine(Arc::new(g)))
            .map_err(|e| e.to_string())
    }

    /// The adapter's name for the badge. In the browser wgpu's adapter name is empty; then
    /// `browser_adapter` (what `adapter.info` said: vendor, architecture, description)
    /// names it, with the device type.
    pub fn adapter_name(&self, browser_adapter: Option<&str>) -> String {
        match (browser_adapter, self.0.info.name.is_empty()) {
            (Some(a), true) => format!("{a} ({:?})", self.0.info.device_type),
            _ => self.0.adapter_string(),
        }
    }

    /// The device, for uploading a model.
    pub(super) fn device(&self) -> Arc<Gpu> {
        self.0.clone()
    }
}

/// GPU logits against CPU logits: same length, finite, within 1e-2 of the largest.
pub(super) fn check_close(got: &[f32], want: &[f32]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!(
            "the GPU returned {} logits, the CPU engine {}",
            got.len(),
            want.len()
        ));
    }
    let scale = want.iter().fold(1e-6f32, |m, x| m.max(x.abs()));
    let worst = got
        .iter()
        .zip(want)
        .map(|(a, b)| {
            if a.is_finite() {
                (a - b).abs()
            } else {
                f32::INFINITY
            }
        })
        .fold(0f32, f32::max);
    if worst > 1e-2 * scale {
        return Err(format!(
            "the GPU's logits differ from the CPU engine's (max error {worst:.3e}, scale {scale:.3e})"
        ));
    }
    Ok(())
}
