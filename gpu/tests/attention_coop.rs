//! The tensor-core prefill attention (shaders/attention_coop.wgsl, ops/attention_coop.rs).
//!
//! - Everywhere: the shader, specialized as ops/attention_coop.rs plans it for several
//!   head sizes and subgroup sizes, passes naga's validation with the capabilities it
//!   needs and compiles to SPIR-V; that SPIR-V passes `spirv-val` (Vulkan 1.3) where one
//!   that knows SPV_KHR_cooperative_matrix is installed (`SPIRV_VAL` or `spirv-val` on
//!   PATH; SPIRV-Tools 2023.6 or later).
//! - Where the device has f16 cooperative matrices ([`Caps::coop_f16`]): the Attention op
//!   takes attention_coop and matches the CPU reference within [`COOP_TOL`] on T not a
//!   multiple of 16 or of the block, GQA, windows, chunks after a cached prefix, dh 64 and
//!   128, dv 64, 128 and 256. Where it has not, the test checks that the op takes an f32
//!   kernel and says so; with `HYBRID_REQUIRE_COOP=1` (the GPU machine's scripts) it fails.

mod common;

use common::attn::{prefill_case, PrefillCase, COOP_TOL};
use common::gpu;
use hybrid_gpu::caps::{coop_required, Caps};
use hybrid_gpu::ops::attention_coop::{plan, CoopPlan};
use hybrid_gpu::Kernel;

/// The shader specialized by `c`, checked by naga and compiled to SPIR-V 1.6 as wgpu's
/// Vulkan backend does (its capability list for a device with these features).
fn spirv(c: &CoopPlan) -> Vec<u32> {
    use naga::valid::Capabilities as C;
    let src = Kernel::AttentionCoop.source();
    let module = naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("attention_coop: {}", e.emit_to_string(src)));
    let caps = C::default() | C::SHADER_FLOAT16 | C::SUBGROUP | C::COOPERATIVE_MATRIX;
    let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
        .validate(&module)
        .unwrap_or_else(|e| panic!("attention_coop: {}", e.emit_to_string(src)));
    let mut constants = naga::back::PipelineConstants::default();
    for (name, value) in c.constants {
        constants.insert(name.to_string(), value);
    }
    let stage = naga::ShaderStage::Compute;
    let (module, info) = naga::back::pipeline_constants::process_overrides(
        &module,
        &info,
        Some((stage, "main")),
        &constants,
    )
    .unwrap_or_else(|e| panic!("attention_coop {c:?}: overrides: {e}"));
    use naga::back::spv;
    let options = spv::Options {
        lang_version: (1, 6),
        ..Default::default()
    };
    let pipeline = spv::PipelineOptions {
        shader_stage: stage,
        entry_point: "main".into(),
    };
    spv::write_vec(&module, &info, &options, Some(&pipeline))
        .unwrap_or_else(|e| panic!("attention_coop {c:?}: SPIR-V: {e}"))
}

/// `words` without the ArrayStride decorations of the workgroup and function arrays'
/// types. naga decorates every array type, which spirv-val 2025
/// (VUID-StandaloneSpirv-None-10684: no explicit layout in the Workgroup and Function
/// storage classes) rejects for every naga shader with such arrays (attention_tiled's
/// too); the drivers take it.
fn without_local_array_strides(words: &[u32]) -> Vec<u32> {
    const OP_DECORATE: u32 = 71;
    const OP_TYPE_POINTER: u32 = 32;
    const ARRAY_STRIDE: u32 = 6;
    const WORKGROUP: u32 = 4;
    const FUNCTION: u32 = 7;
    // the instructions after the 5-word header: (opcode, words)
    let mut insts = Vec::new();
    let mut i = 5;
    while i < words.len() {
        let n = (words[i] >> 16).max(1) as usize;
        insts.push(&words[i..(i + n).min(words.len())]);
        i += n;
    }
    let pointees: Vec<u32> = insts
        .iter()
        .filter(|w| {
            w[0] & 0xffff == OP_TYPE_POINTER
                && w.len() == 4
                && [WORKGROUP, FUNCTION].contains(&w[2])
        })
        .map(|w| w[3])
        .collect();
    let mut out = words[..5].to_vec();
    for w in insts {
        let stride_of_local_array = w[0] & 0xffff == OP_DECORATE
            && w.len() >= 3
            && w[2] == ARRAY_STRIDE
            && pointees.contains(&w[1]);
        if !stride_of_local_array {
            out.extend_from_slice(w);
        }
    }
    out
}

/// `spirv-val` to run: `SPIRV_VAL`, else one on PATH; `None` if neither runs.
fn spirv_val() -> Option<String> {
    let cmd = std::env::var("SPIRV_VAL").unwrap_or_else(|_| "spirv-val".into());
    let v = std::process::Command::new(&cmd)
        .arg("--version")
        .output()
        .ok()?;
    let version = String::from_utf8_lossy(&v.stdout);
    eprintln!("{cmd}: {}", version.lines().next().unwrap_or("?"));
    Some(cmd)
}

#[test]
fn coop_shader_compiles_to_valid_spirv() {
    let limits = |storage| hybrid_gpu::wgpu::Limits {
        max_compute_workgroup_storage_size: storage,
        ..Default::default()
    };
    let val = spirv_val();
    if val.is_none() {
        eprintln!(
            "spirv-val not found (SPIRV_VAL or PATH): naga's validation and SPIR-V output only"
        );
    }
    let dir = std::env::temp_dir().join(format!("hybrid-coop-spv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut n = 0;
    for sg in [16, 32, 64] {
        let caps = Caps {
            shader_f16: true,
            subgroups: true,
            subgroup_size: (sg, sg),
            coop_f16: true,
        };
        for storage in [16384, 32768, 49152] {
            for (dh, dv) in [(64, 64), (128, 128), (128, 256), (64, 128), (256, 256)] {
                let Some(c) = plan(&caps, &limits(storage), dh, dv) else {
                    continue;
                };
                let words = without_local_array_strides(&spirv(&c));
                n += 1;
                let Some(val) = &val else { continue };
                let path = dir.join(format!("coop-{sg}-{storage}-{dh}-{dv}.spv"));
                std::fs::write(&path, bytemuck::cast_slice::<u32, u8>(&words)).expect("write");
                let out = std::process::Command::new(val)
                    .args(["--target-env", "vulkan1.3"])
                    .arg(&path)
                    .output()
                    .expect("spirv-val runs");
                assert!(
                    out.status.success(),
                    "spirv-val {c:?}: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(n >= 20, "only {n} plans");
    eprintln!(
        "attention_coop: {n} specializations compiled to SPIR-V{}",
        if val.is_some() {
            " and passed spirv-val"
        } else {
            ""
        }
    );
}

#[test]
fn coop_attention_matches_reference() {
    let Some(g) = gpu() else { return };
    let case = |hq, hkv, (dh, dv), (pos0, t), window, q_gain| PrefillCase {
        window,
        sinks: 0,
        hq,
        hkv,
        dh,
        dv,
        pos0,
        t,
        hide: None,
        q_gain,
    };
    if !g.caps.coop_f16 {
        // the f32 kernels take every shape
        let c = case(4, 2, (128, 128), (0, 70), None, 1.0);
        let (e, kernel) = prefill_case(&g, c);
        assert_ne!(kernel, Kernel::AttentionCoop);
        assert!(e < 1e-4, "{c:?} on {kernel:?}: {e:e}");
        assert!(
            !coop_required(),
            "HYBRID_REQUIRE_COOP=1 but {} has no f16 cooperative matrices [{}]",
            g.adapter_string(),
            g.caps.summary()
        );
        eprintln!(
            "attention_coop NOT TESTED: {} has no f16 cooperative matrices [{}]; the op took {kernel:?} (f32)",
            g.adapter_string(),
            g.caps.summary()
        );
        return;
    }
    let mut worst = 0.0f32;
    let mut n = 0;
    for (hq, hkv) in [(4, 4), (8, 2), (16, 4)] {
        for heads in [(64, 64), (128, 128), (128, 256), (64, 128)] {
            for (pos0, t) in [(0, 1), (0, 37), (0, 200), (150, 129), (700, 40)] {
                for window in [None, Some(100)] {
                    let q_gain = if n % 3 == 2 { 8.0 } else { 1.0 };
                    let c = case(hq, hkv, heads, (pos0, t), window, q_gain);
                    let (e, kernel) = prefill_case(&g, c);
                    // dh = dv <= 64 keeps attention.wgsl's tiled path (as fast there)
                    let want = if heads.0 == heads.1 && heads.0 <= 64 {
                        Kernel::Attention
                    } else {
                        Kernel::AttentionCoop
                    };
                    assert_eq!(kernel, want, "{c:?}");
                    assert!(e < COOP_TOL, "{c:?}: {e:e}");
                    worst = worst.max(e);
                    n += 1;
                }
            }
        }
    }
    // sinks and hidden keys stay on the f32 kernels
    let mut c = case(4, 2, (128, 128), (0, 70), Some(20), 1.0);
    c.sinks = 4;
    assert_ne!(prefill_case(&g, c).1, Kernel::AttentionCoop, "sinks");
    let mut c = case(4, 2, (128, 128), (0, 70), None, 1.0);
    c.hide = Some((3, 40));
    assert_ne!(prefill_case(&g, c).1, Kernel::AttentionCoop, "hidden keys");
    eprintln!(
        "attention_coop on {} [{}]: {n} cases, max rel err {worst:e} (tolerance {COOP_TOL:e})",
        g.adapter_string(),
        g.caps.summary()
    );
}
