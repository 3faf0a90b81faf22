//! The Shader <-> Rust contract, read from each shader through naga (no GPU needed):
//! - each kernel's `Params` uniform at `@group(0) @binding(0)` against its Rust mirror
//!   (the `params` column of the kernel table), member by member: name, byte offset,
//!   type, and the struct's size as naga lays it out for the uniform;
//! - the bindings against `Kernel::bindings`: the uniform, then read-only storage inputs,
//!   then read-write storage outputs, nothing else;
//! - WGSL `const`s that copy a Rust constant (the `consts` column) against it;
//! - helpers copied into several shaders are identical copies.

use hybrid_gpu::params::{flatten, Field, Scalar, Ty};
use hybrid_gpu::Kernel;

fn module(k: Kernel) -> naga::Module {
    let src = k.source();
    naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{}: {}", k.name(), e.emit_to_string(src)))
}

/// The WGSL type of a uniform member in the terms of `Ty` (vecN as an array of N).
fn wgsl_ty(m: &naga::Module, ty: naga::Handle<naga::Type>) -> Result<Ty, String> {
    let scalar = |s: naga::Scalar| match (s.kind, s.width) {
        (naga::ScalarKind::Uint, 4) => Ok(Scalar::U32),
        (naga::ScalarKind::Sint, 4) => Ok(Scalar::I32),
        (naga::ScalarKind::Float, 4) => Ok(Scalar::F32),
        other => Err(format!("unsupported scalar {other:?}")),
    };
    match &m.types[ty].inner {
        naga::TypeInner::Scalar(s) => Ok(Ty::Scalar(scalar(*s)?)),
        naga::TypeInner::Vector { size, scalar: s } => Ok(Ty::Array(scalar(*s)?, *size as usize)),
        other => Err(format!("unsupported member type {other:?}")),
    }
}

/// One named member of a uniform: (name, byte offset, type).
type Member = (String, usize, Ty);

/// The members of the WGSL struct `ty` with nested structs inlined, and its size.
fn wgsl_members(
    m: &naga::Module,
    ty: naga::Handle<naga::Type>,
    base: usize,
    out: &mut Vec<Member>,
) -> Result<usize, String> {
    let naga::TypeInner::Struct { members, span } = &m.types[ty].inner else {
        return Err("binding 0 is not a struct".into());
    };
    for mb in members {
        let name = mb.name.clone().unwrap_or_default();
        let offset = base + mb.offset as usize;
        if let naga::TypeInner::Struct { .. } = m.types[mb.ty].inner {
            wgsl_members(m, mb.ty, offset, out)?;
        } else {
            out.push((
                name.clone(),
                offset,
                wgsl_ty(m, mb.ty).map_err(|e| format!("`{name}`: {e}"))?,
            ));
        }
    }
    Ok(*span as usize)
}

fn is_pad(name: &str) -> bool {
    name.starts_with("_pad")
}

fn show(ty: Ty) -> String {
    match ty {
        Ty::Scalar(s) => format!("{s:?}").to_lowercase(),
        Ty::Array(s, n) => format!("{n} x {}", format!("{s:?}").to_lowercase()),
        Ty::Struct(_) => "struct".into(),
    }
}

/// Every difference between the shader's `Params` and the Rust mirror of kernel `k`.
fn params_mismatches(k: Kernel) -> Vec<String> {
    let m = module(k);
    let mirror = k.params_mirror();
    let rust_ty = mirror.rust.replace("$crate :: ", "").replace(" :: ", "::");
    let at = |what: String| format!("{} ({}.wgsl vs {rust_ty}): {what}", k.name(), k.name());
    let Some(uniform) = m.global_variables.iter().find_map(|(_, g)| {
        let b = g.binding.as_ref()?;
        (b.group == 0 && b.binding == 0).then_some(g)
    }) else {
        return vec![at("no @group(0) @binding(0)".into())];
    };
    let mut errs = Vec::new();
    if uniform.space != naga::AddressSpace::Uniform {
        errs.push(at(format!(
            "binding 0 is in {:?}, not uniform",
            uniform.space
        )));
    }
    if m.types[uniform.ty].name.as_deref() != Some("Params") {
        errs.push(at(format!(
            "binding 0 has type {:?}, not Params",
            m.types[uniform.ty].name
        )));
    }
    let mut wgsl = Vec::new();
    let span = match wgsl_members(&m, uniform.ty, 0, &mut wgsl) {
        Ok(s) => s,
        Err(e) => return vec![at(e)],
    };
    let rust: Vec<Member> = flatten(mirror.fields, 0)
        .into_iter()
        .map(|f: Field| (f.name.to_string(), f.offset, f.ty))
        .collect();
    let named =
        |v: Vec<Member>| -> Vec<Member> { v.into_iter().filter(|(n, ..)| !is_pad(n)).collect() };
    let (wgsl, rust) = (named(wgsl), named(rust));
    for i in 0..wgsl.len().max(rust.len()) {
        match (wgsl.get(i), rust.get(i)) {
            (Some(w), Some(r)) if w == r => {}
            (Some((wn, wo, wt)), Some((rn, ro, rt))) => errs.push(at(format!(
                "member {i}: WGSL `{wn}` at byte {wo} ({}) vs Rust `{rn}` at byte {ro} ({})",
                show(*wt),
                show(*rt)
            ))),
            (Some((wn, wo, _)), None) => errs.push(at(format!(
                "member {i}: WGSL `{wn}` at byte {wo} has no Rust member"
            ))),
            (None, Some((rn, ro, _))) => errs.push(at(format!(
                "member {i}: Rust `{rn}` at byte {ro} has no WGSL member"
            ))),
            (None, None) => {}
        }
    }
    if span != mirror.size {
        errs.push(at(format!(
            "size: WGSL {span} bytes vs Rust {} bytes",
            mirror.size
        )));
    }
    errs
}

#[test]
fn params_mirrors_match_the_shaders() {
    let errs: Vec<String> = Kernel::ALL
        .iter()
        .flat_map(|&k| params_mismatches(k))
        .collect();
    assert!(
        errs.is_empty(),
        "Params mirrors differ from the shaders:\n{}",
        errs.join("\n")
    );
}

fn describe(space: Option<naga::AddressSpace>) -> &'static str {
    use naga::{AddressSpace as A, StorageAccess as S};
    match space {
        None => "nothing",
        Some(A::Uniform) => "a uniform",
        Some(A::Storage { access }) if access == S::LOAD => "read-only storage",
        Some(A::Storage { access }) if access == S::LOAD | S::STORE => "read-write storage",
        Some(_) => "another kind of binding",
    }
}

#[test]
fn bindings_match_the_kernel_table() {
    use naga::{AddressSpace as A, StorageAccess as S};
    let mut errs = Vec::new();
    for k in Kernel::ALL {
        let m = module(k);
        let (inputs, outputs) = k.bindings();
        let mut found = std::collections::BTreeMap::new();
        for (_, g) in m.global_variables.iter() {
            if let Some(b) = &g.binding {
                if b.group != 0 {
                    errs.push(format!("{}: a binding in group {}", k.name(), b.group));
                }
                found.insert(b.binding, g.space);
            }
        }
        let want = |b: u32| match b as usize {
            0 => Some(A::Uniform),
            b if b <= inputs => Some(A::Storage { access: S::LOAD }),
            b if b <= inputs + outputs => Some(A::Storage {
                access: S::LOAD | S::STORE,
            }),
            _ => None,
        };
        let last = found
            .keys()
            .copied()
            .max()
            .unwrap_or(0)
            .max((inputs + outputs) as u32);
        for b in 0..=last {
            let (have, want) = (found.get(&b).copied(), want(b));
            if have != want {
                errs.push(format!(
                    "{}: binding {b} is {} in the shader, {} in the kernel table \
                     ({inputs} inputs, {outputs} outputs)",
                    k.name(),
                    describe(have),
                    describe(want)
                ));
            }
        }
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

/// The value of the WGSL `const` `name` of `m` (naga folds const expressions to literals).
fn wgsl_const(m: &naga::Module, name: &str) -> Option<u64> {
    let (_, c) = m
        .constants
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some(name))?;
    match m.global_expressions[c.init] {
        naga::Expression::Literal(naga::Literal::U32(v)) => Some(v as u64),
        naga::Expression::Literal(naga::Literal::I32(v)) => u64::try_from(v).ok(),
        naga::Expression::Literal(naga::Literal::AbstractInt(v)) => u64::try_from(v).ok(),
        _ => None,
    }
}

#[test]
fn shared_consts_match_rust() {
    let mut errs = Vec::new();
    let mut checked = 0;
    for k in Kernel::ALL {
        let m = module(k);
        for &(name, rust) in k.shared_consts() {
            checked += 1;
            match wgsl_const(&m, name) {
                Some(v) if v == rust => {}
                Some(v) => errs.push(format!(
                    "{}.wgsl: const {name} = {v}, Rust has {rust}",
                    k.name()
                )),
                None => errs.push(format!(
                    "{}.wgsl: no integer const {name} (Rust has {rust})",
                    k.name()
                )),
            }
        }
    }
    assert!(
        checked >= 10,
        "the kernel table lists only {checked} shared consts"
    );
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

// WGSL has no includes: a helper that several shaders need is copied into each, and
// this list plus the test below hold the copies textually identical (a copy changed in
// one file fails until every copy agrees).
const SHARED: &[(&str, &[&str])] = &[
    // the layout every Mamba-2 scan shader reads (Rust: ops::ssm_scan::ScanParams)
    (
        "struct Params",
        &[
            "ssm_scan",
            "ssd_chunk_state",
            "ssd_state_pass",
            "ssd_chunk_out",
            "ssm_probes",
            "ssm_state_norm",
        ],
    ),
    // as the CPU engine's softplus (threshold 20, log1p)
    (
        "fn softplus",
        &[
            "ssm_scan",
            "ssd_chunk_state",
            "ssm_probes",
            "ssm_state_norm",
        ],
    ),
    // KV cache row of position s (sinks, then a ring)
    (
        "fn slot",
        &[
            "attention",
            "attention_split",
            "attention_split_vec4",
            "attention_tiled",
            "attention_coop",
        ],
    ),
    // the keys of a query block and which of them a row sees
    ("fn key_at", &["attention", "attention_tiled"]),
    ("fn block_sees", &["attention", "attention_tiled"]),
    // a hidden key (interventions)
    (
        "fn hidden",
        &[
            "attention",
            "attention_split",
            "attention_split_vec4",
            "attention_probs",
            "attention_tiled",
        ],
    ),
    // dt after the interventions' edits and freezes
    (
        "fn edit_dt",
        &[
            "ssm_scan",
            "ssd_chunk_state",
            "ssm_probes",
            "ssm_state_norm",
        ],
    ),
    // the tiled f32 / f16 matmuls' epilogue (alpha, ACCUMULATE)
    ("fn store_row", &["matmul", "matmul_f16"]),
    // weight i, f32 or packed f16 / bf16
    ("fn wt", &["matmul", "embed"]),
    // RoPE's rotation at position t (matvec's rope_kv epilogue)
    ("fn rope_cs", &["rope", "matvec", "matvec_sg"]),
    // matvec_sg is matvec with other reductions (group_rms, reduce_rows, main)
    ("struct Params", &["matvec", "matvec_sg"]),
    ("fn first4", &["matvec", "matvec_sg"]),
    ("fn weight", &["matvec", "matvec_sg"]),
    ("fn rows_n", &["matvec", "matvec_sg"]),
    ("fn xraw", &["matvec", "matvec_sg"]),
    ("fn xin", &["matvec", "matvec_sg"]),
    ("fn xin4", &["matvec", "matvec_sg"]),
    ("fn rotated", &["matvec", "matvec_sg"]),
    ("fn row_of", &["matvec", "matvec_sg"]),
    ("fn rope_kv", &["matvec", "matvec_sg"]),
    ("fn conv_step", &["matvec", "matvec_sg"]),
    ("fn combined", &["matvec", "matvec_sg"]),
    ("fn row_partials", &["matvec", "matvec_sg"]),
    ("fn paired", &["matvec", "matvec_sg"]),
    ("fn unpack_pair", &["matvec", "matvec_sg"]),
    ("fn pair", &["matvec", "matvec_sg"]),
    ("fn first4w", &["matvec", "matvec_sg"]),
    ("fn xpair", &["matvec", "matvec_sg"]),
    ("fn dot_word", &["matvec", "matvec_sg"]),
    ("fn dot_pairs", &["matvec", "matvec_sg"]),
    ("fn finish", &["matvec", "matvec_sg"]),
    // the workgroup index of a folded grid (gpu/src/dispatch.rs `fold`)
    (
        "fn wg_index",
        &[
            "add",
            "attention",
            "attention_coop",
            "attention_probs",
            "attention_split",
            "attention_split_vec4",
            "attention_tiled",
            "conv1d",
            "embed",
            "kv_store",
            "matmul",
            "matmul_coop",
            "matmul_f16",
            "matvec",
            "matvec_sg",
            "relu2",
            "rmsnorm",
            "rope",
            "row_norm",
            "ssd_chunk_out",
            "ssd_chunk_state",
            "ssd_state_pass",
            "ssm_probes",
            "ssm_scan",
            "swiglu",
            "topk",
        ],
    ),
];

/// The text of `decl` ("fn name" / "struct Name") in `src`: its first line through the
/// first line that is just "}".
fn helper(src: &str, decl: &str) -> Option<String> {
    let start = src
        .lines()
        .position(|l| l.starts_with(&format!("{decl}(")) || l.starts_with(&format!("{decl} {{")))?;
    let lines: Vec<&str> = src.lines().skip(start).collect();
    let end = lines.iter().position(|l| *l == "}")?;
    Some(lines[..=end].join("\n"))
}

fn source(file: &str) -> &'static str {
    Kernel::ALL
        .into_iter()
        .find(|k| k.name() == file)
        .unwrap_or_else(|| panic!("no kernel {file}"))
        .source()
}

#[test]
fn shared_helpers_are_identical_copies() {
    let mut errs = Vec::new();
    for &(decl, files) in SHARED {
        let first = helper(source(files[0]), decl)
            .unwrap_or_else(|| panic!("{}.wgsl has no `{decl}`", files[0]));
        for &f in &files[1..] {
            match helper(source(f), decl) {
                Some(text) if text == first => {}
                Some(text) => errs.push(format!(
                    "`{decl}` of {f}.wgsl differs from {}.wgsl:\n{text}\n--- vs ---\n{first}",
                    files[0]
                )),
                None => errs.push(format!("{f}.wgsl has no `{decl}`")),
            }
        }
        // A function of a shared name elsewhere is a copy nobody listed.
        if decl.starts_with("fn ") {
            for k in Kernel::ALL {
                if !files.contains(&k.name()) && helper(k.source(), decl).is_some() {
                    errs.push(format!(
                        "{}.wgsl has `{decl}` but is not in its SHARED list",
                        k.name()
                    ));
                }
            }
        }
    }
    // And an identical function in two shaders must be listed (so that it stays identical).
    let mut seen: Vec<(String, &str, String)> = Vec::new();
    for k in Kernel::ALL {
        for line in k.source().lines().filter(|l| l.starts_with("fn ")) {
            let name = line[3..].split('(').next().unwrap_or("").to_string();
            let decl = format!("fn {name}");
            let Some(text) = helper(k.source(), &decl) else {
                continue;
            };
            for (n, other, t) in &seen {
                if *n == name && *t == text && !SHARED.iter().any(|(d, _)| *d == decl) {
                    errs.push(format!(
                        "`{decl}` is copied in {other}.wgsl and {}.wgsl: list it in SHARED",
                        k.name()
                    ));
                }
            }
            seen.push((name, k.name(), text));
        }
    }
    assert!(errs.is_empty(), "{}", errs.join("\n\n"));
}
