//! One recorded dispatch: a cached pipeline, its params uniform, a bind group and a grid.
//! A forward pass is a `Vec<Dispatch>` encoded into one compute pass.
//!
//! **Grids fold here.** A device allows at most `max_compute_workgroups_per_dimension`
//! workgroups per grid dimension (65,535 by default), fewer than a 1B model's chunk needs
//! in one dimension (embed of 4,096 tokens x 2,048 channels: 131,072 workgroups of 64).
//! An op describes its work as a *logical* grid of `[a, b]` workgroups (x fastest) and
//! [`fold`] turns it into the dispatch grid: `[a, b, 1]` as is when both fit, else the
//! `a * b` workgroups as `[x, y, z]`, each within the limit ([`fold_grid`]). Every folded
//! shader recovers its logical workgroup with the same idiom (the helper `wg_index`,
//! copied identically into each, `gpu/tests/contract.rs` holds the copies equal):
//!
//! ```wgsl
//! let wg = wg_index(wid, nwg); // wid.x + nwg.x * (wid.y + nwg.y * wid.z)
//! if (wg >= a * b) { return; } // the tail of the last folded row
//! let gx = wg % a;             // = wid.x when the grid was not folded
//! let gy = wg / a;             // = wid.y when the grid was not folded
//! ```
//!
//! with `wid` the `workgroup_id` and `nwg` the `num_workgroups` builtins and `a` derived
//! from the `Params` exactly as the op derives it (both are uniform, so the early return
//! keeps later barriers in uniform control flow). Element-wise shaders need no early
//! return: their `idx = wg * 64 + li` falls past the end and is skipped by their own
//! bound check. A grid given to [`Dispatch::new`] as is (a kernel that reads
//! `workgroup_id` directly, at sizes that stay small) is checked against the limit.

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
        let limit = gpu.limits.max_compute_workgroups_per_dimension;
        if grid.iter().any(|&g| g > limit) {
            return Err(GpuError::Grid {
                op: label,
                grid: grid.map(u64::from),
                limit,
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

/// The dispatch grid of a logical grid of `a` x `b` workgroups (x fastest) on `gpu`:
/// `[a, b, 1]` when both fit the device's workgroups-per-dimension limit, else folded
/// ([`fold_grid`]; the shader decodes it with the idiom of the module doc). Fails, naming
/// the op, the grid and the limit, only past limit^3 workgroups.
pub fn fold(gpu: &Gpu, label: &str, logical: [u32; 2]) -> Result<[u32; 3]> {
    let limit = gpu.limits.max_compute_workgroups_per_dimension;
    fold_grid(logical, limit).map_err(|grid| GpuError::Grid {
        op: label.into(),
        grid,
        limit,
    })
}

/// [`fold`] for a per-dimension `limit`: `[a, b, 1]` when `a` and `b` fit, else the
/// `n = a * b` workgroups as `[x, y, z]` with z = ceil(n / limit^2), y = ceil(n / z /
/// limit), x = ceil(n / z / y): each at most `limit`, `x * y * z >= n`, and the fewest
/// spare workgroups that shape allows. Past limit^3 workgroups the error is the grid it
/// would need.
pub fn fold_grid(logical: [u32; 2], limit: u32) -> std::result::Result<[u32; 3], [u64; 3]> {
    let [a, b] = logical;
    if a <= limit && b <= limit {
        return Ok([a, b, 1]);
    }
    let lim = u64::from(limit.max(1));
    let n = u64::from(a) * u64::from(b);
    let z = n.div_ceil(lim * lim).max(1);
    let rest = n.div_ceil(z);
    let y = rest.div_ceil(lim).max(1);
    let x = rest.div_ceil(y);
    if z > lim {
        return Err([x, y, z]);
    }
    Ok([x as u32, y as u32, z as u32])
}
