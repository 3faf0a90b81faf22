//! Helpers shared by the GPU tests: one device per test binary, fixtures, errors.
#![allow(dead_code)]

pub mod attn;
pub mod fold;
pub mod matmul16;

use std::sync::{Arc, OnceLock};

use hybrid_gpu::Gpu;

#[allow(unused_imports)]
pub use hybrid_core::testing::{family_configs, fixture_names, fixtures_dir, rel_err};

/// The shared device, or `None` when there is no adapter and `HYBRID_SKIP_GPU=1`.
/// Without an adapter (and without that variable) the test fails with a clear message.
pub fn gpu() -> Option<Arc<Gpu>> {
    static GPU: OnceLock<Option<Arc<Gpu>>> = OnceLock::new();
    GPU.get_or_init(|| open(Gpu::new_blocking)).clone()
}

/// A device opened by `new` (e.g. with some optional features left out), as [`gpu`].
pub fn open(new: impl FnOnce() -> hybrid_gpu::Result<Gpu>) -> Option<Arc<Gpu>> {
    fix_xdg_runtime_dir();
    match new() {
        Ok(g) => {
            eprintln!(
                "GPU tests on: {} [{}]",
                g.adapter_string(),
                g.caps.summary()
            );
            Some(Arc::new(g))
        }
        Err(e) if std::env::var("HYBRID_SKIP_GPU").as_deref() == Ok("1") => {
            eprintln!("HYBRID_SKIP_GPU=1: skipping GPU tests ({e})");
            None
        }
        Err(e) => panic!(
            "no GPU adapter: {e}. Install Mesa's lavapipe (apt-get install mesa-vulkan-drivers \
             libvulkan1) or set HYBRID_SKIP_GPU=1 to skip the GPU tests"
        ),
    }
}

/// The device as every test opens it, and one opened with `HYBRID_GPU_FEATURES=none`
/// (core WebGPU: the plain kernel), once, in this order (no other device of this binary
/// reads the variable). Empty with `HYBRID_SKIP_GPU=1` and no adapter.
pub fn devices() -> &'static [Arc<Gpu>] {
    static DEVICES: OnceLock<Vec<Arc<Gpu>>> = OnceLock::new();
    DEVICES.get_or_init(|| {
        let Some(g) = gpu() else {
            return Vec::new();
        };
        let before = std::env::var("HYBRID_GPU_FEATURES").ok();
        std::env::set_var("HYBRID_GPU_FEATURES", "none");
        let plain = Gpu::new_blocking().expect("a core WebGPU device");
        match before {
            Some(v) => std::env::set_var("HYBRID_GPU_FEATURES", v),
            None => std::env::remove_var("HYBRID_GPU_FEATURES"),
        }
        let plain = Arc::new(plain);
        eprintln!(
            "matvec kernels: {:?} and {:?}",
            hybrid_gpu::ops::matvec::kernel(&g).name(),
            hybrid_gpu::ops::matvec::kernel(&plain).name()
        );
        vec![g, plain]
    })
}

/// lavapipe warns unless XDG_RUNTIME_DIR is a 0700 folder.
fn fix_xdg_runtime_dir() {
    use std::os::unix::fs::PermissionsExt;
    let ok = std::env::var("XDG_RUNTIME_DIR")
        .ok()
        .and_then(|d| std::fs::metadata(d).ok())
        .is_some_and(|m| m.is_dir() && m.permissions().mode() & 0o777 == 0o700);
    if !ok {
        let dir = std::env::temp_dir().join(format!("hybrid-gpu-xdg-{}", std::process::id()));
        if std::fs::create_dir_all(&dir).is_ok()
            && std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).is_ok()
        {
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
}

/// Deterministic pseudo-random values in [-1, 1).
pub fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

pub fn up(g: &Gpu, data: &[f32]) -> wgpu::Buffer {
    g.upload("test input", data).expect("upload")
}
pub fn up_u32(g: &Gpu, data: &[u32]) -> wgpu::Buffer {
    let b = g
        .storage(
            "test u32",
            (data.len() * 4) as u64,
            wgpu::BufferUsages::COPY_SRC,
        )
        .expect("buffer");
    g.queue.write_buffer(&b, 0, bytemuck::cast_slice(data));
    b
}
pub fn down(g: &Gpu, b: &wgpu::Buffer, len: usize) -> Vec<f32> {
    pollster::block_on(hybrid_gpu::readback::download_f32(g, b, len)).expect("download")
}

/// A fixture model of tests/fixtures and its prompt (the twin's golden tokens).
pub fn fixture(name: &str) -> (hybrid_core::Model, Vec<u32>) {
    let dir = fixtures_dir().join(name);
    let cfg = std::fs::read(dir.join("config.json")).expect("config.json");
    let weights = std::fs::read(dir.join("model.safetensors")).expect("model.safetensors");
    let golden = std::fs::read(dir.join("golden.safetensors")).expect("golden.safetensors");
    let g = safetensors::SafeTensors::deserialize(&golden).expect("golden");
    let toks = g.tensor("tokens").expect("tokens");
    let tokens = toks
        .data()
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u32)
        .collect();
    (
        hybrid_core::Model::from_bytes(&cfg, &weights).expect("fixture loads"),
        tokens,
    )
}
