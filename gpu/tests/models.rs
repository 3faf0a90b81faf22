//! Whole models on the GPU against the CPU engine (itself within 1e-6 of the PyTorch
//! twin): every fixture's logits at every prompt position within 1e-3 relative, 64 greedy
//! tokens identical, a prefill equal to T single steps, chunked prefill, exact memory.

mod common;

use std::sync::Arc;

use common::{family_configs, fixture, fixture_names, fixtures_dir, gpu, rel_err};
use hybrid_core::sample::argmax;
use hybrid_core::testing::hf_fixture;
use hybrid_core::weights::Weights;
use hybrid_core::{ForwardOptions, LayerKind, Model};
use hybrid_gpu::ops::matmul::Matmul;
use hybrid_gpu::{Gpu, GpuError, GpuModel, Kernel, SessionOptions, WeightFormat};
use safetensors::SafeTensors;

/// GPU logits against CPU logits: max |a - b| / max |b|.
const LOGIT_TOL: f32 = 1e-3;
/// A prefill against T single steps on the GPU (same kernels, different T).
const STEP_TOL: f32 = 1e-4;
const GREEDY_STEPS: usize = 64;

fn cpu_all_logits(model: &Model, tokens: &[u32]) -> Vec<f32> {
    let mut st = model.new_state();
    let opts = ForwardOptions {
        all_logits: true,
        ..Default::default()
    };
    model
        .forward(&mut st, tokens, opts)
        .expect("cpu forward")
        .logits
}

fn cpu_greedy(model: &Model, tokens: &[u32], n: usize) -> Vec<u32> {
    let mut st = model.new_state();
    let mut tok = argmax(&model.prefill(&mut st, tokens).expect("prefill"));
    let mut out = vec![tok];
    for _ in 1..n {
        tok = argmax(&model.step(&mut st, tok).expect("step"));
        out.push(tok);
    }
    out
}

fn opts() -> SessionOptions {
    SessionOptions {
        max_context: 256,
        chunk: 64,
    }
}

/// Logits, greedy tokens, prefill vs steps for one model; returns (logit err, step err).
fn check_model(g: &Arc<Gpu>, name: &str, model: &Model, tokens: &[u32]) -> (f32, f32) {
    let gm = GpuModel::new(g.clone(), model).expect("upload");
    let v = model.config().vocab_size;
    // logits at every position
    let mut s = gm.session(opts()).expect("session");
    let got = s.prefill_all_blocking(tokens).expect("prefill_all");
    let want = cpu_all_logits(model, tokens);
    let e = rel_err(&got, &want);
    assert!(e < LOGIT_TOL, "{name}: GPU vs CPU logits rel err {e:e}");
    // a chunked prefill (chunks of 5) gives the same last logits
    let mut sc = gm
        .session(SessionOptions { chunk: 5, ..opts() })
        .expect("session");
    let last = sc.prefill_blocking(tokens).expect("chunked prefill");
    let ec = rel_err(&last, &got[(tokens.len() - 1) * v..]);
    assert!(ec < STEP_TOL, "{name}: chunked prefill rel err {ec:e}");
    // prefill == T single steps
    let mut s1 = gm.session(opts()).expect("session");
    let mut stepped = Vec::new();
    for &t in tokens {
        stepped.extend(s1.step_blocking(t).expect("step"));
    }
    let es = rel_err(&stepped, &got);
    assert!(es < STEP_TOL, "{name}: steps vs prefill rel err {es:e}");
    // greedy: the first token from the prefill logits, then tokens stay on the GPU
    let want_greedy = cpu_greedy(model, tokens, GREEDY_STEPS);
    let mut sg = gm.session(opts()).expect("session");
    let mut tok = argmax(&sg.prefill_blocking(tokens).expect("prefill"));
    let mut greedy = vec![tok];
    tok = sg.step_argmax_blocking(Some(tok)).expect("step_argmax");
    greedy.push(tok);
    while greedy.len() < GREEDY_STEPS {
        greedy.push(sg.step_argmax_blocking(None).expect("step_argmax"));
    }
    assert_eq!(greedy, want_greedy, "{name}: greedy tokens differ");
    // the pipelined form (step i + 1 submitted before step i's token is read): the same
    // tokens, in two calls (the second continues from the token left on the GPU)
    let mut sp = gm.session(opts()).expect("session");
    let first = argmax(&sp.prefill_blocking(tokens).expect("prefill"));
    let mut piped = vec![first];
    piped.extend(
        sp.decode_greedy_blocking(Some(first), 20)
            .expect("decode_greedy"),
    );
    piped.extend(
        sp.decode_greedy_blocking(None, GREEDY_STEPS - 21)
            .expect("decode_greedy"),
    );
    assert_eq!(piped, want_greedy, "{name}: pipelined greedy tokens differ");
    assert_eq!(
        sp.pos(),
        tokens.len() + GREEDY_STEPS - 1,
        "{name}: tokens consumed"
    );
    (e, es)
}

#[test]
fn fixtures_match_the_cpu_engine() {
    let Some(g) = gpu() else { return };
    let names = fixture_names();
    assert!(names.len() >= 7, "fixtures missing: {names:?}");
    let mut report = Vec::new();
    for name in names {
        let (model, tokens) = fixture(&name);
        let (e, es) = check_model(&g, &name, &model, &tokens);
        report.push(format!("{name:>20}: T={:>3} logits rel err {e:.2e}, steps vs prefill {es:.2e}, greedy {GREEDY_STEPS} identical", tokens.len()));
    }
    eprintln!(
        "GPU vs CPU on {}:\n{}",
        g.adapter_string(),
        report.join("\n")
    );
}

/// The Hugging Face fixtures (checkpoints written by `transformers`, mapped by
/// `hybrid_core::hf`): partial RoPE (Bamba), no RoPE and Granite's scalars folded into
/// the weights (Granite-4.0-H), blocks without FFN (Mamba-2), intra blocks with
/// Falcon-H1's multipliers folded in at load, per-block relu2 FFNs (Nemotron-H).
#[test]
fn hugging_face_checkpoints_match_the_cpu_engine() {
    let Some(g) = gpu() else { return };
    for family in [
        "llama",
        "mamba2",
        "bamba",
        "granitemoehybrid",
        "falcon_h1",
        "nemotron_h",
    ] {
        let (model, tokens) = hf_fixture(family);
        // bf16 checkpoints stay bf16 on the GPU, except where folded scalars (Granite's,
        // Falcon-H1's muP multipliers folded by the importer)
        // leave values bf16 cannot hold: then f32, the CPU engine's values either way
        let format = GpuModel::new(g.clone(), &model)
            .expect("upload")
            .weight_format();
        let want = match family {
            "granitemoehybrid" | "falcon_h1" => WeightFormat::F32,
            _ => WeightFormat::BF16,
        };
        assert_eq!(format, want, "{family}: weight format");
        let (e, es) = check_model(&g, family, &model, &tokens);
        eprintln!(
            "hf {family} ({}): logits rel err {e:.2e}, steps vs prefill {es:.2e}",
            format.name()
        );
    }
}

#[test]
fn random_families_match_the_cpu_engine() {
    let Some(g) = gpu() else { return };
    for (name, cfg) in family_configs() {
        let model = Model::new(
            cfg.clone(),
            Weights::random(&cfg, 3).expect("random weights"),
        );
        let tokens: Vec<u32> = (0..23)
            .map(|i| ((i * 31 + 7) % cfg.vocab_size) as u32)
            .collect();
        check_model(&g, name, &model, &tokens);
    }
}

/// The KV bytes a GPU session holds beyond the CPU's count (`kv_cache_bytes`: the keys a
/// later query can still see): a windowed layer's ring has one row more (sinks + w, so a
/// decode step appends before its attention: `CacheLayout::ring`).
fn ring_extra_bytes(cfg: &hybrid_core::ModelConfig, max: usize) -> usize {
    let sinks = cfg.attention.as_ref().map_or(0, |a| a.sink_tokens);
    (0..cfg.layers.len())
        .filter_map(|i| {
            let w = cfg.layer_window(i)?;
            let dims = match cfg.layers[i] {
                LayerKind::Attention => cfg.attn_dims(),
                LayerKind::Intra => cfg.intra_attn_dims(),
                LayerKind::Mamba => None,
            }?;
            Some((sinks + w - cfg.kv_positions(i, max)) * dims.kv_row() * 4)
        })
        .sum()
}

#[test]
fn memory_is_exact_and_dispatches_are_counted() {
    let Some(g) = gpu() else { return };
    let mut lines = Vec::new();
    for name in fixture_names() {
        let (model, _) = fixture(&name);
        let cfg = model.config();
        // f32 matrices: 4 bytes per parameter (`new` may pick a 16-bit format for a
        // fixture whose values fit one)
        let gm = GpuModel::with_format(g.clone(), &model, WeightFormat::F32).expect("upload");
        let max = 200;
        let mut s = gm
            .session(SessionOptions {
                max_context: max,
                chunk: 16,
            })
            .expect("session");
        let m = s.memory();
        assert_eq!(
            m.kv_cache as usize,
            cfg.kv_cache_bytes(max) + ring_extra_bytes(cfg, max),
            "{name}: KV cache bytes"
        );
        assert_eq!(
            m.ssm_state as usize,
            cfg.ssm_state_bytes(),
            "{name}: SSM state bytes"
        );
        assert_eq!(
            m.conv_state as usize,
            cfg.conv_state_bytes(),
            "{name}: conv state bytes"
        );
        // learned branch scalars live in the projections' params uniforms, not in buffers
        let intra_blocks = cfg
            .layers
            .iter()
            .filter(|k| **k == LayerKind::Intra)
            .count();
        let scalars = if cfg.intra.as_ref().is_some_and(|i| i.branch_scalars) {
            2 * intra_blocks
        } else {
            0
        };
        assert_eq!(
            m.weights as usize,
            4 * (cfg.param_count() - scalars),
            "{name}: weight bytes"
        );
        let labels = s.decode_dispatches().expect("plan");
        let per_layer = |i: usize| {
            labels
                .iter()
                .filter(|l| l.starts_with(&format!("layers.{i} ")))
                .count()
        };
        // the bound per layer of a decode step: attention 6 (norm + qkv + rope + KV
        // append, flat or ring, split, combine, o_proj + residual, norm + gate|up +
        // SwiGLU, down + residual; with at most 16 splits the o_proj merges them: 5),
        // Mamba 5 (norm + in_proj + conv, scan, gated norm + out_proj + residual, the two
        // FFN matvecs), intra 9; plus embed and norm_f + lm_head.
        let kv_alone = labels
            .iter()
            .find(|l| l.ends_with("kv store") && !l.contains("qkv"));
        assert!(
            kv_alone.is_none(),
            "{name}: {kv_alone:?} outside the q|k|v matvec"
        );
        for (i, k) in cfg.layers.iter().enumerate() {
            let bound = match k {
                LayerKind::Attention => 6,
                LayerKind::Mamba => 5,
                LayerKind::Intra => 9,
            };
            assert!(
                per_layer(i) <= bound,
                "{name}: layer {i} ({k:?}) has {} dispatches",
                per_layer(i)
            );
        }
        let outside: usize = labels.iter().filter(|l| !l.starts_with("layers.")).count();
        assert_eq!(outside, 2, "{name}: embed and norm_f + lm_head");
        let kinds: Vec<String> = cfg
            .layers
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k:?}={}", per_layer(i)))
            .collect();
        lines.push(format!(
            "{name:>20}: {} dispatches per step ({}; embed, norm_f + lm_head = 2; argmax +1)",
            labels.len(),
            kinds.join(" ")
        ));
    }
    eprintln!("{}", lines.join("\n"));
}

/// Every tensor of a safetensors file rounded to the nearest value of `format`, stored as
/// f32 (what the CPU engine makes of a checkpoint stored in that format).
fn rounded_to(bytes: &[u8], format: WeightFormat) -> Vec<u8> {
    use safetensors::Dtype;
    let st = SafeTensors::deserialize(bytes).expect("safetensors");
    let mut out: Vec<(String, Vec<u8>, Vec<usize>)> = Vec::new();
    for (name, view) in st.tensors() {
        let d = view.data();
        let vals: Vec<f32> = match view.dtype() {
            Dtype::F32 => d
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F16 => d
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::BF16 => d
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => panic!("{name}: unexpected dtype {other:?}"),
        };
        let data = vals
            .iter()
            .flat_map(|&v| format.round(v).to_le_bytes())
            .collect();
        out.push((name, data, view.shape().to_vec()));
    }
    let views: Vec<(String, safetensors::tensor::TensorView)> = out
        .iter()
        .map(|(n, d, sh)| {
            let v = safetensors::tensor::TensorView::new(Dtype::F32, sh.clone(), d).expect("view");
            (n.clone(), v)
        })
        .collect();
    safetensors::serialize(views, None).expect("serialize")
}

/// 16-bit weight storage: each fixture rounded to f16 and to bf16 (as a checkpoint stored
/// in that dtype reads): `GpuModel::new` must pick a 16-bit format (the narrowest that
/// holds the values exactly); in that format the matrices take 2 bytes, and the
/// GPU against the CPU engine on the same values: logits at every position within the f32
/// tolerance, T decode steps equal to the prefill, and the same greedy tokens.
#[test]
fn sixteen_bit_weights_match_the_cpu_engine_on_the_same_values() {
    let Some(g) = gpu() else { return };
    let mut report = Vec::new();
    for format in [WeightFormat::F16, WeightFormat::BF16] {
        for name in fixture_names() {
            let dir = fixtures_dir().join(&name);
            let cfg = std::fs::read(dir.join("config.json")).expect("config.json");
            let weights = std::fs::read(dir.join("model.safetensors")).expect("weights");
            let model = Model::from_bytes(&cfg, &rounded_to(&weights, format)).expect("rounded");
            let (_, tokens) = fixture(&name);
            let f = format.name();
            // These tolerances are the f32 arithmetic's: the prompts are shorter than the
            // 16-bit kernels' minimum rows, so every product runs matmul.wgsl / matvec
            // (f16 arithmetic and tensor cores: gpu/tests/matmul_f16.rs and coop.rs).
            let mm = Matmul {
                w_format: format,
                ..Matmul::new(tokens.len(), 64, 64)
            };
            assert_eq!(mm.path(&g), Kernel::Matmul, "{name}: {f} prompt's kernel");
            // `new` picks a 16-bit format (bf16 where the values happen to fit it too)
            let auto = GpuModel::new(g.clone(), &model)
                .expect("upload")
                .weight_format();
            assert!(
                auto == format || auto == WeightFormat::BF16,
                "{name}: {auto:?} chosen for {f} values"
            );
            let gm = GpuModel::with_format(g.clone(), &model, format).expect("upload");
            let full = GpuModel::with_format(g.clone(), &model, WeightFormat::F32).expect("f32");
            // matrices at 2 bytes, norms / conv / per-head parameters at 4
            let (h, w) = (gm.weight_bytes(), full.weight_bytes());
            assert!(h < w && 2 * h > w, "{name}: {f} {h} bytes vs f32 {w}");
            let mut s = gm.session(opts()).expect("session");
            assert_eq!(s.memory().weights, h, "{name}: memory report");
            let got = s.prefill_all_blocking(&tokens).expect("prefill");
            let e = rel_err(&got, &cpu_all_logits(&model, &tokens));
            assert!(e < LOGIT_TOL, "{name}: {f} weights, logits rel err {e:e}");
            let mut s1 = gm.session(opts()).expect("session");
            let mut stepped = Vec::new();
            for &t in &tokens {
                stepped.extend(s1.step_blocking(t).expect("step"));
            }
            let es = rel_err(&stepped, &got);
            assert!(es < STEP_TOL, "{name}: {f} steps vs prefill rel err {es:e}");
            let first = argmax(&got[got.len() - model.config().vocab_size..]);
            let mut greedy = vec![first];
            greedy.extend(s.decode_greedy_blocking(Some(first), 31).expect("decode"));
            assert_eq!(
                greedy,
                cpu_greedy(&model, &tokens, 32),
                "{name}: {f} greedy"
            );
            report.push(format!(
                "{name:>20} {f:>4}: logits rel err {e:.2e}, steps {es:.2e}, weights {w} -> {h} bytes"
            ));
        }
    }
    eprintln!("16-bit weights:\n{}", report.join("\n"));
}

#[test]
fn user_errors_are_typed_not_panics() {
    let Some(g) = gpu() else { return };
    let (model, tokens) = fixture("transformer");
    let gm = GpuModel::new(g.clone(), &model).expect("upload");
    let mut s = gm
        .session(SessionOptions {
            max_context: 8,
            chunk: 4,
        })
        .expect("session");
    assert!(matches!(s.prefill_blocking(&[]), Err(GpuError::Model(_))));
    assert!(matches!(s.step_blocking(100_000), Err(GpuError::Model(_))));
    assert!(matches!(
        s.step_argmax_blocking(None),
        Err(GpuError::Model(_))
    ));
    assert!(matches!(
        s.prefill_blocking(&tokens[..9]),
        Err(GpuError::ContextFull { .. })
    ));
    s.prefill_blocking(&tokens[..8]).expect("fits exactly");
    assert!(matches!(
        s.step_blocking(tokens[0]),
        Err(GpuError::ContextFull { .. })
    ));
    s.reset().expect("reset");
    assert_eq!(s.pos(), 0);
    s.step_blocking(tokens[0]).expect("after reset");
}
