//! Reading buffers back: copy into a MAP_READ staging buffer, map it, wait. Natively the
//! wait is `device.poll`; in the browser `poll` does nothing and the mapping resolves a
//! oneshot channel when the browser is done.

use crate::device::Gpu;
use crate::error::{GpuError, Result};

/// Map the first `bytes` of `staging` (already filled by a submitted copy) and return them.
pub async fn read_bytes(gpu: &Gpu, staging: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
    read_bytes_after(gpu, staging, bytes, None).await
}

/// As [`read_bytes`], natively waiting only for `submission` (`None`: for everything
/// submitted), so later submissions keep the GPU busy meanwhile.
pub async fn read_bytes_after(
    gpu: &Gpu,
    staging: &wgpu::Buffer,
    bytes: u64,
    submission: Option<wgpu::SubmissionIndex>,
) -> Result<Vec<u8>> {
    let slice = staging.slice(..bytes);
    #[cfg(target_arch = "wasm32")]
    let _ = submission;
    let (tx, rx) = futures_channel::oneshot::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    #[cfg(not(target_arch = "wasm32"))]
    gpu.device
        .poll(wgpu::PollType::Wait {
            submission_index: submission,
            timeout: None,
        })
        .map_err(|e| GpuError::Map(e.to_string()))?;
    let mapped = rx
        .await
        .map_err(|_| GpuError::Map("the mapping callback was dropped".into()))?;
    mapped.map_err(|e| GpuError::Map(e.to_string()))?;
    gpu.check()?;
    let out = {
        let view = slice
            .get_mapped_range()
            .map_err(|e| GpuError::Map(e.to_string()))?;
        view.to_vec()
    };
    staging.unmap();
    Ok(out)
}

/// As [`read_bytes`], as f32s.
pub async fn read_f32(gpu: &Gpu, staging: &wgpu::Buffer, len: usize) -> Result<Vec<f32>> {
    let bytes = read_bytes(gpu, staging, (len * 4) as u64).await?;
    Ok(bytemuck::pod_collect_to_vec(&bytes))
}

/// Copy `len` floats of `src` into a fresh staging buffer and read them (tests, probes).
pub async fn download_f32(gpu: &Gpu, src: &wgpu::Buffer, len: usize) -> Result<Vec<f32>> {
    let bytes = (len.max(1) * 4) as u64;
    let staging = gpu.staging("download staging", bytes)?;
    let mut enc = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("download"),
        });
    enc.copy_buffer_to_buffer(src, 0, &staging, 0, Some(bytes));
    gpu.queue.submit([enc.finish()]);
    let mut v = read_f32(gpu, &staging, len.max(1)).await?;
    v.truncate(len);
    Ok(v)
}
