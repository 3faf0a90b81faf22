//! The pipeline cache: one compiled pipeline per kernel + override constants (so each
//! specialization compiles once per device), and one shader module per kernel.
//!
//! It needs only a `wgpu::Device` and the kernel table; [`Gpu::pipeline`](crate::Gpu::pipeline)
//! is the thin method the ops call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::kernel::Kernel;

/// A compiled pipeline and its bind group layout.
#[derive(Debug)]
pub struct Pipeline {
    pub kernel: Kernel,
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

type Key = (Kernel, Vec<(&'static str, u64)>);

/// Pipelines by shader and override constants; shader modules by shader.
#[derive(Default)]
pub struct PipelineCache {
    pipelines: Mutex<HashMap<Key, Arc<Pipeline>>>,
    modules: Mutex<HashMap<Kernel, wgpu::ShaderModule>>,
}

impl PipelineCache {
    /// Number of distinct pipelines compiled so far.
    pub fn len(&self) -> usize {
        self.pipelines.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// True before the first pipeline.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pipeline of `kernel` specialized with `constants` (WGSL `override` name, value)
    /// on `device`, compiled on first use.
    // In the threaded wasm build (the CPU engine's worker, which never opens a GPU) wgpu's
    // WebGPU handles are neither Send nor Sync; natively and in the page's build they are.
    #[cfg_attr(
        all(target_arch = "wasm32", target_feature = "atomics"),
        allow(clippy::arc_with_non_send_sync)
    )]
    pub fn get(
        &self,
        device: &wgpu::Device,
        kernel: Kernel,
        constants: &[(&'static str, f64)],
    ) -> Arc<Pipeline> {
        let key: Key = (
            kernel,
            constants.iter().map(|(n, v)| (*n, v.to_bits())).collect(),
        );
        if let Some(p) = self
            .pipelines
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            return p;
        }
        let module = self.module(device, kernel);
        let label = format!("{} {:?}", kernel.name(), constants);
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(&label),
            entries: &layout_entries(kernel),
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(&label),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&label),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                zero_initialize_workgroup_memory: kernel.zeroes_workgroup_memory(),
            },
            cache: None,
        });
        let p = Arc::new(Pipeline {
            kernel,
            pipeline,
            layout,
        });
        if let Ok(mut m) = self.pipelines.lock() {
            m.insert(key, p.clone());
        }
        p
    }

    /// The shader module of `kernel`, created on first use.
    fn module(&self, device: &wgpu::Device, kernel: Kernel) -> wgpu::ShaderModule {
        let mut modules = match self.modules.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        modules
            .entry(kernel)
            .or_insert_with(|| {
                device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(kernel.name()),
                    source: wgpu::ShaderSource::Wgsl(kernel.source().into()),
                })
            })
            .clone()
    }
}

/// Binding 0 the `Params` uniform, then the read-only inputs, then the read-write outputs
/// ([`Kernel::bindings`]).
fn layout_entries(kernel: Kernel) -> Vec<wgpu::BindGroupLayoutEntry> {
    let (inputs, outputs) = kernel.bindings();
    let entry = |binding: u32, ty: wgpu::BufferBindingType| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    let mut entries = vec![entry(0, wgpu::BufferBindingType::Uniform)];
    for i in 0..inputs + outputs {
        let read_only = i < inputs;
        entries.push(entry(
            1 + i as u32,
            wgpu::BufferBindingType::Storage { read_only },
        ));
    }
    entries
}
