//! The f16-arithmetic matmul (shaders/matmul_f16.wgsl) against the CPU reference, on a
//! device opened without tensor cores (so that the kernel after them in `Matmul::path`'s
//! order runs): where the adapter has `shader-f16` (lavapipe in CI, the GPU machine,
//! browsers' WebGPU on most GPUs) the f16 kernel, else the f32 kernel that runs instead,
//! and the test says so. `HYBRID_REQUIRE_F16=1` turns that fallback into a failure.
//!
//! Tolerances: products within `common::matmul16::rel_bound` (9 * 2^-11 + (K / 8) 2^-24 of
//! |alpha| sum_k |x_k w_k|, the bound derived in the shader's header); a whole model's
//! logits within `PATHS_TOL` of the f32 kernel's and `CPU_TOL` of the CPU engine's (with
//! the unrounded f32 weights), the greedy tokens equal where the CPU's are clear.

mod common;

use std::sync::{Arc, OnceLock};

use common::matmul16::{cases, check_cases, check_fixture_prefill, expected_path, throughput};
use hybrid_gpu::caps::Allowed;
use hybrid_gpu::ops::matmul::{Matmul, F16_MIN_ROWS};
use hybrid_gpu::{Gpu, GpuError, Kernel, WeightFormat};

/// Logits of an f16-weight model through the f16-arithmetic kernel vs the f32 kernel,
/// max |a - b| / max |b| (6.4e-3 on lavapipe, where the f32 kernel is 2.1e-3 from the CPU
/// engine with its f32 weights; each product's worst case is 4.4e-3 of its sum of |terms|).
const PATHS_TOL: f32 = 1e-2;
/// Those logits against the CPU engine's with the unrounded f32 weights.
const CPU_TOL: f32 = 2e-2;

/// A device with the features `HYBRID_GPU_FEATURES` allows, less the tensor cores (one
/// per test binary), as `common::gpu`.
fn gpu_without_coop() -> Option<Arc<Gpu>> {
    static GPU: OnceLock<Option<Arc<Gpu>>> = OnceLock::new();
    GPU.get_or_init(|| {
        common::open(|| {
            let env = Allowed::from_env().map_err(GpuError::Unsupported)?;
            Gpu::with_features_blocking(Allowed { coop: false, ..env })
        })
    })
    .clone()
}

/// Whether `HYBRID_REQUIRE_F16=1`: the f16 kernel must run (scripts/test.sh, the GPU
/// machine's script), not a fallback.
fn f16_required() -> bool {
    std::env::var("HYBRID_REQUIRE_F16").is_ok_and(|v| v == "1")
}

#[test]
fn f16_matmul_matches_the_cpu_reference() {
    let Some(g) = gpu_without_coop() else { return };
    let path = expected_path(&g, F16_MIN_ROWS, Kernel::MatmulF16, f16_required());
    check_cases(&g, path, &cases(F16_MIN_ROWS));
    // (minutes on a CPU adapter)
    if path == Kernel::MatmulF16 && g.info.device_type != wgpu::DeviceType::Cpu {
        throughput(&g);
    }
}

/// The path chosen for each product: f16 arithmetic for f16 weights from F16_MIN_ROWS
/// rows where the device has shader-f16, never under `HYBRID_GPU_FEATURES=none` (the f32
/// kernel is always there), never for f32 / bf16 weights or fewer rows.
#[test]
fn the_f16_path_is_chosen_only_with_shader_f16() {
    let Some(g) = gpu_without_coop() else { return };
    let f16 = |t: usize, f: WeightFormat| {
        Matmul {
            w_format: f,
            ..Matmul::new(t, 256, 256)
        }
        .path(&g)
    };
    let want = if g.caps.shader_f16 {
        Kernel::MatmulF16
    } else {
        Kernel::Matmul
    };
    assert_eq!(f16(F16_MIN_ROWS, WeightFormat::F16), want);
    assert_eq!(f16(4096, WeightFormat::F16), want);
    assert_eq!(f16(F16_MIN_ROWS - 1, WeightFormat::F16), Kernel::Matmul);
    assert_eq!(f16(4096, WeightFormat::F32), Kernel::Matmul);
    assert_eq!(f16(4096, WeightFormat::BF16), Kernel::Matmul);
    // HYBRID_GPU_FEATURES=none: core WebGPU only, the f32 kernel
    let none = Allowed::parse("none").expect("parses");
    let bare = Gpu::with_features_blocking(none).expect("device");
    assert!(!bare.caps.shader_f16, "{:?}", bare.caps);
    let mm = Matmul {
        w_format: WeightFormat::F16,
        ..Matmul::new(4096, 256, 256)
    };
    assert_eq!(mm.path(&bare), Kernel::Matmul);
}

/// inter_1to3 with f16 weight matrices, prefill chunks of 128 (the f16 kernel) against
/// chunks of 32 (the f32 kernel) and the CPU engine (common::matmul16).
#[test]
fn f16_prefill_matches_the_cpu_engine() {
    let Some(g) = gpu_without_coop() else { return };
    let path = expected_path(&g, 128, Kernel::MatmulF16, f16_required());
    check_fixture_prefill(&g, path, PATHS_TOL, CPU_TOL);
}
