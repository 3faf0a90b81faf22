//! Helpers shared by the GPU tests: one device per test binary, fixtures, errors.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use hybrid_gpu::Gpu;

/// The shared device, or `None` when there is no adapter and `HYBRID_SKIP_GPU=1`.
/// Without an adapter (and without that variable) the test fails with a clear message.
pub fn gpu() -> Option<Arc<Gpu>> {
    static GPU: OnceLock<Option<Arc<Gpu>>> = OnceLock::new();
    GPU.get_or_init(|| {
        fix_xdg_runtime_dir();
        match Gpu::new_blocking() {
            Ok(g) => {
                eprintln!("GPU tests on: {}", g.adapter_string());
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
    })
    .clone()
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

/// The repo's `tests/fixtures` folder.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// Names of the committed fixtures.
pub fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("golden.safetensors").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Max |a - b| / max |b|: the relative error of `a` against the reference `b`.
pub fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
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

/// A small config of each family, for tests that need no fixture.
pub fn family_configs() -> Vec<(&'static str, hybrid_core::ModelConfig)> {
    let base = |layers: &str, extra: &str| {
        let json = format!(
            r#"{{"name":"t","vocab_size":97,"d_model":32,"d_ffn":48,"layers":{layers},
            "attention":{{"n_heads":4,"n_kv_heads":2,"head_dim":8{extra}}},
            "mamba":{{"d_state":8,"head_dim":8,"n_groups":2}},
            "intra":{{"attn_heads":2,"attn_kv_heads":1,"ssm_heads":2,"fusion":"subtract"}}}}"#
        );
        hybrid_core::ModelConfig::from_json(json.as_bytes()).expect("valid test config")
    };
    let intra = |fusion: &str, out: &str, scalars: bool, norm: bool| {
        let mut c = base(r#"["mamba","intra","mamba","intra"]"#, "");
        let i = c.intra.as_mut().expect("intra");
        i.fusion = serde_json::from_str(&format!("\"{fusion}\"")).expect("fusion");
        i.out_proj = serde_json::from_str(&format!("\"{out}\"")).expect("out_proj");
        i.branch_scalars = scalars;
        i.branch_norm = norm;
        i.ssm_heads = 2; // E_b = 16 = Ha*dh for joint add/subtract
        c.validate().expect("valid intra config");
        c
    };
    vec![
        ("transformer", base(r#"["attention","attention"]"#, "")),
        ("mamba", base(r#"["mamba","mamba"]"#, "")),
        (
            "inter",
            base(r#"["mamba","attention","mamba","mamba"]"#, ""),
        ),
        ("intra_add", intra("add", "separate", false, true)),
        ("intra_subtract", intra("subtract", "separate", false, true)),
        ("intra_concat", intra("concat", "joint", false, true)),
        (
            "intra_joint_scalars",
            intra("subtract", "joint", true, false),
        ),
        (
            "swa",
            base(
                r#"["attention","attention"]"#,
                r#","window":5,"sink_tokens":2"#,
            ),
        ),
    ]
}
