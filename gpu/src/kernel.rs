//! The shaders of `shaders/`, their binding layouts, and the pipeline cache (keyed by
//! shader + override constants, so each specialization compiles once per device).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::device::Gpu;

/// One WGSL file of `shaders/`: binding 0 is its `Params` uniform, then `inputs`
/// read-only storage buffers, then `outputs` read-write storage buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    Matmul,
    Matvec,
    RmsNorm,
    Rope,
    Attention,
    AttentionSplit,
    AttentionCombine,
    KvStore,
    Conv1d,
    SsmScan,
    SsdChunkState,
    SsdStatePass,
    SsdChunkOut,
    SwiGlu,
    Add,
    Embed,
    Argmax,
    AttentionProbs,
    SsmProbes,
    SsmStateNorm,
    RowNorm,
}

impl Kernel {
    /// Every kernel (for tests).
    pub const ALL: [Kernel; 21] = [
        Kernel::Matmul,
        Kernel::Matvec,
        Kernel::RmsNorm,
        Kernel::Rope,
        Kernel::Attention,
        Kernel::AttentionSplit,
        Kernel::AttentionCombine,
        Kernel::KvStore,
        Kernel::Conv1d,
        Kernel::SsmScan,
        Kernel::SsdChunkState,
        Kernel::SsdStatePass,
        Kernel::SsdChunkOut,
        Kernel::SwiGlu,
        Kernel::Add,
        Kernel::Embed,
        Kernel::Argmax,
        Kernel::AttentionProbs,
        Kernel::SsmProbes,
        Kernel::SsmStateNorm,
        Kernel::RowNorm,
    ];

    /// File name in `shaders/` (without `.wgsl`).
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Matmul => "matmul",
            Kernel::Matvec => "matvec",
            Kernel::RmsNorm => "rmsnorm",
            Kernel::Rope => "rope",
            Kernel::Attention => "attention",
            Kernel::AttentionSplit => "attention_split",
            Kernel::AttentionCombine => "attention_combine",
            Kernel::KvStore => "kv_store",
            Kernel::Conv1d => "conv1d",
            Kernel::SsmScan => "ssm_scan",
            Kernel::SsdChunkState => "ssd_chunk_state",
            Kernel::SsdStatePass => "ssd_state_pass",
            Kernel::SsdChunkOut => "ssd_chunk_out",
            Kernel::SwiGlu => "swiglu",
            Kernel::Add => "add",
            Kernel::Embed => "embed",
            Kernel::Argmax => "argmax",
            Kernel::AttentionProbs => "attention_probs",
            Kernel::SsmProbes => "ssm_probes",
            Kernel::SsmStateNorm => "ssm_state_norm",
            Kernel::RowNorm => "row_norm",
        }
    }

    /// The WGSL source.
    pub fn source(self) -> &'static str {
        match self {
            Kernel::Matmul => include_str!("../../shaders/matmul.wgsl"),
            Kernel::Matvec => include_str!("../../shaders/matvec.wgsl"),
            Kernel::RmsNorm => include_str!("../../shaders/rmsnorm.wgsl"),
            Kernel::Rope => include_str!("../../shaders/rope.wgsl"),
            Kernel::Attention => include_str!("../../shaders/attention.wgsl"),
            Kernel::AttentionSplit => include_str!("../../shaders/attention_split.wgsl"),
            Kernel::AttentionCombine => include_str!("../../shaders/attention_combine.wgsl"),
            Kernel::KvStore => include_str!("../../shaders/kv_store.wgsl"),
            Kernel::Conv1d => include_str!("../../shaders/conv1d.wgsl"),
            Kernel::SsmScan => include_str!("../../shaders/ssm_scan.wgsl"),
            Kernel::SsdChunkState => include_str!("../../shaders/ssd_chunk_state.wgsl"),
            Kernel::SsdStatePass => include_str!("../../shaders/ssd_state_pass.wgsl"),
            Kernel::SsdChunkOut => include_str!("../../shaders/ssd_chunk_out.wgsl"),
            Kernel::SwiGlu => include_str!("../../shaders/swiglu.wgsl"),
            Kernel::Add => include_str!("../../shaders/add.wgsl"),
            Kernel::Embed => include_str!("../../shaders/embed.wgsl"),
            Kernel::Argmax => include_str!("../../shaders/argmax.wgsl"),
            Kernel::AttentionProbs => include_str!("../../shaders/attention_probs.wgsl"),
            Kernel::SsmProbes => include_str!("../../shaders/ssm_probes.wgsl"),
            Kernel::SsmStateNorm => include_str!("../../shaders/ssm_state_norm.wgsl"),
            Kernel::RowNorm => include_str!("../../shaders/row_norm.wgsl"),
        }
    }

    /// Whether workgroup memory must start zeroed. Kernels that write every element they
    /// read skip the zeroing (it costs each workgroup a pass over its memory).
    pub fn zeroes_workgroup_memory(self) -> bool {
        !matches!(
            self,
            Kernel::Matmul
                | Kernel::Matvec
                | Kernel::AttentionSplit
                | Kernel::AttentionCombine
                | Kernel::SsmScan
        )
    }

    /// (read-only inputs, read-write outputs) after the params uniform.
    pub fn bindings(self) -> (usize, usize) {
        match self {
            Kernel::Matmul | Kernel::RmsNorm | Kernel::Embed => (2, 1),
            Kernel::Matvec => (3, 1),
            Kernel::Rope
            | Kernel::SwiGlu
            | Kernel::Add
            | Kernel::Argmax
            | Kernel::AttentionCombine
            | Kernel::AttentionProbs
            | Kernel::RowNorm => (1, 1),
            Kernel::Attention | Kernel::AttentionSplit => (4, 1),
            Kernel::KvStore => (2, 2),
            Kernel::Conv1d
            | Kernel::SsmScan
            | Kernel::SsdChunkState
            | Kernel::SsmProbes
            | Kernel::SsmStateNorm => (3, 2),
            Kernel::SsdStatePass => (1, 2),
            Kernel::SsdChunkOut => (5, 1),
        }
    }
}

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
}

impl Gpu {
    /// The pipeline of `kernel` specialized with `constants` (WGSL `override` name, value),
    /// compiled on first use.
    pub fn pipeline(&self, kernel: Kernel, constants: &[(&'static str, f64)]) -> Arc<Pipeline> {
        let key: Key = (
            kernel,
            constants.iter().map(|(n, v)| (*n, v.to_bits())).collect(),
        );
        let cache = &self.pipelines;
        if let Some(p) = cache
            .pipelines
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            return p;
        }
        let module = {
            let mut modules = match cache.modules.lock() {
                Ok(m) => m,
                Err(poisoned) => poisoned.into_inner(),
            };
            modules
                .entry(kernel)
                .or_insert_with(|| {
                    self.device
                        .create_shader_module(wgpu::ShaderModuleDescriptor {
                            label: Some(kernel.name()),
                            source: wgpu::ShaderSource::Wgsl(kernel.source().into()),
                        })
                })
                .clone()
        };
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
        let label = format!("{} {:?}", kernel.name(), constants);
        let layout = self
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(&label),
                entries: &entries,
            });
        let pipeline_layout = self
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(&label),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
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
        if let Ok(mut m) = cache.pipelines.lock() {
            m.insert(key, p.clone());
        }
        p
    }
}
