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
        // (wgpu's SHADER_F16_IN_F32 downlevel flag): `unpack2x16float` for f16 weights.
        // A shader of an optional feature (caps.rs) also gets that feature's.
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
        _ => C::empty(),
    }
}
