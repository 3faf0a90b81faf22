//! One recorded dispatch: a cached pipeline, its params uniform, a bind group and a grid.
//! A forward pass is a `Vec<Dispatch>` encoded into one compute pass.

use std::sync::Arc;

use wgpu::util::DeviceExt;

use crate::device::Gpu;
use crate::error::{GpuError, Result};
use crate::kernel::Kernel;
use crate::pipeline::Pipeline;

/// A ready-to-encode dispatch.
#[derive(Debug)]
pub struct Dispatch {
    /// What it does, e.g. "layer 3 qkv".
    pub label: String,
    pipeline: Arc<Pipeline>,
    bind_group: wgpu::BindGroup,
    /// Workgroups in x, y, z.
    pub grid: [u32; 3],
    params: wgpu::Buffer,
}

impl Dispatch {
    /// Build from `params` (binding 0), `inputs` (read-only) and `outputs` (read-write).
    #[allow(clippy::too_many_arguments)]
    pub fn new<P: bytemuck::Pod>(
        gpu: &Gpu,
        label: impl Into<String>,
        kernel: Kernel,
        constants: &[(&'static str, f64)],
        params: &P,
        inputs: &[&wgpu::Buffer],
        outputs: &[&wgpu::Buffer],
        grid: [u32; 3],
    ) -> Result<Self> {
        let label = label.into();
        let (ni, no) = kernel.bindings();
        if inputs.len() != ni || outputs.len() != no {
            return Err(GpuError::Shape {
                op: label,
                msg: format!("{} takes {ni} inputs and {no} outputs", kernel.name()),
            });
        }
        let max = gpu.limits.max_compute_workgroups_per_dimension;
        if grid.iter().any(|&g| g > max) {
            return Err(GpuError::TooLarge {
                what: format!("{label}: dispatch grid {grid:?}"),
                bytes: grid.iter().copied().max().unwrap_or(0) as u64,
                limit: max as u64,
            });
        }
        let pipeline = gpu.pipeline(kernel, constants);
        let params = gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(&format!("{label} params")),
                contents: bytemuck::bytes_of(params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: params.as_entire_binding(),
        }];
        for (i, b) in inputs.iter().chain(outputs).enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: 1 + i as u32,
                resource: b.as_entire_binding(),
            });
        }
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(&label),
            layout: &pipeline.layout,
            entries: &entries,
        });
        Ok(Dispatch {
            label,
            pipeline,
            bind_group,
            grid,
            params,
        })
    }

    /// The kernel this dispatch runs.
    pub fn kernel(&self) -> Kernel {
        self.pipeline.kernel
    }

    /// Set the pipeline and bind group and dispatch, in `pass`.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(self.grid[0], self.grid[1], self.grid[2]);
    }

    /// Bytes of its params uniform.
    pub fn params_bytes(&self) -> u64 {
        self.params.size()
    }
}

/// Record `dispatches` in order into one compute pass (wgpu orders the storage accesses
/// of consecutive dispatches).
pub fn encode(encoder: &mut wgpu::CommandEncoder, label: &str, dispatches: &[Dispatch]) {
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(label),
        timestamp_writes: None,
    });
    for d in dispatches {
        d.record(&mut pass);
    }
}

/// Run `dispatches` in one submission (for tests and one-off work).
pub fn run(gpu: &Gpu, label: &str, dispatches: &[Dispatch]) -> Result<()> {
    let mut encoder = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
    encode(&mut encoder, label, dispatches);
    gpu.queue.submit([encoder.finish()]);
    gpu.check()
}

/// Workgroups to cover `n` items with `per` items each.
pub fn groups(n: usize, per: usize) -> u32 {
    n.div_ceil(per).max(1) as u32
}
