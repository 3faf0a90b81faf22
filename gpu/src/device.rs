//! Device setup, apart from the work so that tests and sessions share one device.

use std::sync::{Arc, Mutex};

use crate::caps::{self, Caps};
use crate::error::{GpuError, Result};
use crate::kernel::Kernel;
use crate::pipeline::{Pipeline, PipelineCache};

/// An open GPU: adapter info, device, queue, the pipeline cache, and the first error
/// wgpu reported outside an error scope (checked after each submission).
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// What the adapter says about itself.
    pub info: wgpu::AdapterInfo,
    /// The limits the device was opened with.
    pub limits: wgpu::Limits,
    /// The optional features it was opened with (f16, subgroups, tensor cores): kernels
    /// pick their path from these.
    pub caps: Caps,
    pub(crate) pipelines: PipelineCache,
    /// Small storage buffers that a kernel binds where it writes nothing (writable
    /// bindings of one dispatch must not alias).
    spare: [wgpu::Buffer; SPARE_OUTPUTS],
    errors: Arc<Mutex<Option<String>>>,
    lost: Arc<Mutex<Option<String>>>,
}

/// Spare outputs: the most unused writable bindings of a dispatch (matvec_sg's five
/// beside y).
pub(crate) const SPARE_OUTPUTS: usize = 5;

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu")
            .field("adapter", &self.adapter_string())
            .finish()
    }
}

impl Gpu {
    /// Request an adapter (high performance preferred) and a device with the default
    /// limits, raised to the adapter's storage-buffer binding size and buffer size (a
    /// bigger model fits where the hardware allows) and workgroup storage (larger tiles).
    pub async fn new() -> Result<Self> {
        Self::with_limits(|_| {}).await
    }

    /// [`Gpu::new`] with the limits changed by `adjust` before the device is requested
    /// (they must stay within the adapter's). Tests lower
    /// `max_compute_workgroups_per_dimension` with it so that small shapes exercise the
    /// grid folding of [`crate::dispatch::fold`].
    pub async fn with_limits(adjust: impl FnOnce(&mut wgpu::Limits)) -> Result<Self> {
        let allowed = caps::Allowed::from_env().map_err(GpuError::Unsupported)?;
        Self::open(allowed, adjust).await
    }

    /// [`Gpu::new`] with the optional features narrowed to `allowed` instead of
    /// `HYBRID_GPU_FEATURES` (tests open one device per path with it).
    pub async fn with_features(allowed: caps::Allowed) -> Result<Self> {
        Self::open(allowed, |_| {}).await
    }

    async fn open(allowed: caps::Allowed, adjust: impl FnOnce(&mut wgpu::Limits)) -> Result<Self> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        let have = adapter.limits();
        let mut limits = wgpu::Limits {
            max_storage_buffer_binding_size: have.max_storage_buffer_binding_size,
            max_buffer_size: have.max_buffer_size,
            // ops/attention_tiled.rs sizes its tiles to it
            max_compute_workgroup_storage_size: have.max_compute_workgroup_storage_size,
            // matvec_sg binds 13 (ops::matvec::kernel takes it only where the device has them)
            max_storage_buffers_per_shader_stage: have.max_storage_buffers_per_shader_stage.min(16),
            ..Default::default()
        };
        adjust(&mut limits);
        // timestamps for `hybrid bench --profile`, and the optional features of caps.rs,
        // where the adapter has them
        let (required_features, caps) = caps::select(&adapter, allowed);
        let experimental_features = if caps.coop_f16 {
            // SAFETY: wgpu's cooperative matrices are experimental (its bugs may be UB);
            // they are requested only where the adapter lists the one configuration the
            // kernels use, every such kernel is tested against the CPU reference on the
            // GPU machine (docs/bench), and HYBRID_GPU_FEATURES turns them off.
            unsafe { wgpu::ExperimentalFeatures::enabled() }
        } else {
            wgpu::ExperimentalFeatures::disabled()
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("hybrid-gpu device"),
                required_features,
                required_limits: limits.clone(),
                experimental_features,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::RequestDevice(e.to_string()))?;
        let errors = Arc::new(Mutex::new(None));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut slot) = sink.lock() {
                slot.get_or_insert_with(|| e.to_string());
            }
        }));
        let lost = Arc::new(Mutex::new(None));
        let lost_sink = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if let Ok(mut slot) = lost_sink.lock() {
                *slot = Some(format!("{reason:?}: {msg}"));
            }
        });
        let spare = std::array::from_fn(|i| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(&format!("spare output {i}")),
                size: 16,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        });
        Ok(Gpu {
            device,
            queue,
            info,
            limits,
            caps,
            pipelines: PipelineCache::default(),
            spare,
            errors,
            lost,
        })
    }

    /// The pipeline of `kernel` specialized with `constants` (WGSL `override` name, value),
    /// compiled on first use (the device's [`PipelineCache`]).
    pub fn pipeline(&self, kernel: Kernel, constants: &[(&'static str, f64)]) -> Arc<Pipeline> {
        self.pipelines.get(&self.device, kernel, constants)
    }

    /// The spare output buffers (see the field).
    pub(crate) fn spare_outputs(&self) -> [&wgpu::Buffer; SPARE_OUTPUTS] {
        self.spare.each_ref()
    }

    /// [`Gpu::new`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking() -> Result<Self> {
        pollster::block_on(Self::new())
    }

    /// [`Gpu::with_features`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_features_blocking(allowed: caps::Allowed) -> Result<Self> {
        pollster::block_on(Self::with_features(allowed))
    }

    /// [`Gpu::with_limits`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_limits_blocking(adjust: impl FnOnce(&mut wgpu::Limits)) -> Result<Self> {
        pollster::block_on(Self::with_limits(adjust))
    }

    /// A one-line description for a backend badge: "llvmpipe (LLVM 15.0.6, 256 bits), Vulkan, Cpu".
    pub fn adapter_string(&self) -> String {
        let i = &self.info;
        format!("{}, {:?}, {:?}", i.name, i.backend, i.device_type)
    }

    /// Fail if the device is lost or wgpu reported an error since the last check.
    pub fn check(&self) -> Result<()> {
        if let Some(m) = self.lost.lock().ok().and_then(|s| s.clone()) {
            return Err(GpuError::DeviceLost(m));
        }
        match self.errors.lock().ok().and_then(|mut s| s.take()) {
            Some(m) => Err(GpuError::Wgpu(m)),
            None => Ok(()),
        }
    }

    /// A labelled storage buffer of `bytes` (at least 4), checked against the limits.
    pub fn storage(
        &self,
        label: &str,
        bytes: u64,
        extra: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer> {
        let bytes = bytes.max(4).next_multiple_of(4);
        self.fits(label, bytes)?;
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | extra,
            mapped_at_creation: false,
        }))
    }

    /// A labelled storage buffer holding `data`.
    pub fn upload(&self, label: &str, data: &[f32]) -> Result<wgpu::Buffer> {
        let buf = self.storage(label, (data.len() * 4) as u64, wgpu::BufferUsages::COPY_SRC)?;
        if !data.is_empty() {
            self.queue.write_buffer(&buf, 0, bytemuck::cast_slice(data));
        }
        Ok(buf)
    }

    /// A labelled storage buffer holding raw 32-bit words (packed f16 weights).
    pub fn upload_words(&self, label: &str, data: &[u32]) -> Result<wgpu::Buffer> {
        let buf = self.storage(label, (data.len() * 4) as u64, wgpu::BufferUsages::COPY_SRC)?;
        if !data.is_empty() {
            self.queue.write_buffer(&buf, 0, bytemuck::cast_slice(data));
        }
        Ok(buf)
    }

    /// A labelled MAP_READ staging buffer.
    pub fn staging(&self, label: &str, bytes: u64) -> Result<wgpu::Buffer> {
        let bytes = bytes.max(4).next_multiple_of(4);
        if bytes > self.limits.max_buffer_size {
            return Err(GpuError::TooLarge {
                what: label.into(),
                bytes,
                limit: self.limits.max_buffer_size,
            });
        }
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }))
    }

    /// Check that one storage binding of `bytes` is allowed.
    pub fn fits(&self, what: &str, bytes: u64) -> Result<()> {
        let limit = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        if bytes > limit {
            return Err(GpuError::TooLarge {
                what: what.into(),
                bytes,
                limit,
            });
        }
        Ok(())
    }
}
