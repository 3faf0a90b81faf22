//! GPU timings of a plan from timestamp queries (native adapters with `TIMESTAMP_QUERY`):
//! the whole plan in one compute pass (what a step costs on the GPU), and each dispatch in
//! a pass of its own (what each kernel costs). For `hybrid bench --profile`; tests never
//! assert on times.

use crate::device::Gpu;
use crate::dispatch::Dispatch;
use crate::error::{GpuError, Result};
use crate::readback::read_bytes;

/// Timings of one run of a plan, in microseconds.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// The plan in one pass, as the engine runs it.
    pub total_us: f64,
    /// (label, kernel name, us) of each dispatch run alone.
    pub dispatches: Vec<(String, &'static str, f64)>,
}

impl Profile {
    /// Microseconds per kernel (shader), largest first.
    pub fn by_kernel(&self) -> Vec<(&'static str, usize, f64)> {
        let mut m: Vec<(&'static str, usize, f64)> = Vec::new();
        for (_, k, us) in &self.dispatches {
            match m.iter_mut().find(|e| e.0 == *k) {
                Some(e) => {
                    e.1 += 1;
                    e.2 += us;
                }
                None => m.push((k, 1, *us)),
            }
        }
        m.sort_by(|a, b| b.2.total_cmp(&a.2));
        m
    }
}

/// Whether `gpu` can time passes.
pub fn available(gpu: &Gpu) -> bool {
    gpu.device
        .features()
        .contains(wgpu::Features::TIMESTAMP_QUERY)
}

/// Run `plan` twice (once in one pass, once a pass per dispatch) and read the timestamps.
/// The plan's side effects happen twice: callers run it where that is harmless.
pub async fn profile(gpu: &Gpu, label: &str, plan: &[Dispatch]) -> Result<Profile> {
    if !available(gpu) {
        return Err(GpuError::Unsupported(
            "this adapter has no timestamp queries".into(),
        ));
    }
    let n = 2 * (plan.len() + 1) as u32;
    let set = gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
        label: Some("profile timestamps"),
        ty: wgpu::QueryType::Timestamp,
        count: n,
    });
    let bytes = 8 * n as u64;
    let resolve = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("profile resolve"),
        size: bytes,
        usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let staging = gpu.staging("profile staging", bytes)?;
    let mut enc = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
    let writes = |i: u32| wgpu::ComputePassTimestampWrites {
        query_set: &set,
        beginning_of_pass_write_index: Some(2 * i),
        end_of_pass_write_index: Some(2 * i + 1),
    };
    {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(label),
            timestamp_writes: Some(writes(0)),
        });
        for d in plan {
            d.record(&mut pass);
        }
    }
    for (i, d) in plan.iter().enumerate() {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(&d.label),
            timestamp_writes: Some(writes(1 + i as u32)),
        });
        d.record(&mut pass);
    }
    enc.resolve_query_set(&set, 0..n, &resolve, 0);
    enc.copy_buffer_to_buffer(&resolve, 0, &staging, 0, Some(bytes));
    gpu.queue.submit([enc.finish()]);
    let raw = read_bytes(gpu, &staging, bytes).await?;
    let ticks: Vec<u64> = bytemuck::pod_collect_to_vec(&raw);
    let period_us = gpu.queue.get_timestamp_period() as f64 / 1e3;
    let span = |i: usize| ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period_us;
    Ok(Profile {
        total_us: span(0),
        dispatches: plan
            .iter()
            .enumerate()
            .map(|(i, d)| (d.label.clone(), d.kernel().name(), span(1 + i)))
            .collect(),
    })
}
