//! The tensor-core matmul (shaders/matmul_coop.wgsl) against the CPU reference, where the
//! device has cooperative matrices (`Caps::coop_f16`: the GPU machine, docs/bench); where
//! it has not (lavapipe, CI), the same checks run through the kernel that `Matmul::path`
//! picks instead (matmul_f16.wgsl where the device has `shader-f16`, else the f32 one),
//! and the test says so. `HYBRID_REQUIRE_COOP=1` turns that
//! fallback into a failure (the GPU-machine scripts set it).
//!
//! Tolerances: `common::matmul16::rel_bound` (per kernel: the fallback on a device with
//! `shader-f16` is matmul_f16.wgsl, checked with its own bound).

mod common;

use common::gpu;
use common::matmul16::{cases, check_cases, check_fixture_prefill, expected_path, throughput};
use hybrid_gpu::ops::matmul::{Matmul, COOP_MIN_ROWS};
use hybrid_gpu::{caps, Kernel, WeightFormat};

/// Logits of the same f16-weight model through the tensor-core kernel vs the f32 kernel
/// (activations rounded to f16 in every projection), max |a - b| / max |b|.
const PATHS_TOL: f32 = 1e-2;
/// Those logits against the CPU engine's with the unrounded f32 weights.
const CPU_TOL: f32 = 2e-2;

/// The adapter's cooperative-matrix configurations, as Vulkan lists them (for the log).
fn print_coop_configs() {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let options = wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    };
    if let Ok(a) = pollster::block_on(instance.request_adapter(&options)) {
        let configs = a.cooperative_matrix_properties();
        eprintln!(
            "{}: {} cooperative-matrix configurations",
            a.get_info().name,
            configs.len()
        );
        for c in configs {
            eprintln!("  {c:?}");
        }
    }
}

#[test]
fn coop_matmul_matches_the_cpu_reference() {
    let Some(g) = gpu() else { return };
    print_coop_configs();
    let path = expected_path(&g, COOP_MIN_ROWS, Kernel::MatmulCoop, caps::coop_required());
    check_cases(&g, path, &cases(COOP_MIN_ROWS));
    // below COOP_MIN_ROWS, and for f32 / bf16 weights, the f32 kernel
    let small = Matmul {
        w_format: WeightFormat::F16,
        ..Matmul::new(COOP_MIN_ROWS - 1, 64, 64)
    };
    assert_eq!(small.path(&g), Kernel::Matmul);
    for f in [WeightFormat::F32, WeightFormat::BF16] {
        let m = Matmul {
            w_format: f,
            ..Matmul::new(256, 64, 64)
        };
        assert_eq!(m.path(&g), Kernel::Matmul, "{f:?}");
    }
    if path == Kernel::MatmulCoop {
        throughput(&g);
    }
}

/// A trained fixture with f16 weight matrices: a 200-token prefill in chunks of 128 (the
/// tensor-core kernel where the device has it) against chunks of 32 (below
/// COOP_MIN_ROWS: the f32 kernel) and against the CPU engine; the greedy token at each
/// position equal to the CPU's wherever the CPU's best two logits are clearly apart.
#[test]
fn coop_prefill_matches_the_cpu_engine() {
    let Some(g) = gpu() else { return };
    let path = expected_path(&g, 128, Kernel::MatmulCoop, caps::coop_required());
    check_fixture_prefill(&g, path, PATHS_TOL, CPU_TOL);
}
