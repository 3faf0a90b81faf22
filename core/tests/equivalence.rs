//! Intra configurations that are one model written differently (docs/FORMAT.md,
//! "Equivalent intra configurations"): a checkpoint converted from one to the other,
//! tensor by tensor, loads through the format and gives the same logits (1e-5). Each
//! case also checks that the conversion matters: the same tensors under the target config
//! without the conversion give other logits.

mod common;

use std::collections::BTreeMap;

use common::{fixtures_dir, rel_err};
use hybrid_core::{ForwardOptions, Model};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde_json::{json, Value};

/// A checkpoint as f32 tensors by name: (shape, data).
type Tensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

fn read(name: &str) -> (Value, Tensors) {
    let dir = fixtures_dir().join(name);
    let cfg = std::fs::read(dir.join("config.json")).expect("config.json");
    let bytes = std::fs::read(dir.join("model.safetensors")).expect("model.safetensors");
    let st = SafeTensors::deserialize(&bytes).expect("safetensors");
    let mut out = Tensors::new();
    for (n, v) in st.tensors() {
        let data = match v.dtype() {
            Dtype::F32 => v
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::BF16 => v
                .data()
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::F16 => v
                .data()
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            d => panic!("{name}: {n} has dtype {d:?}"),
        };
        out.insert(n, (v.shape().to_vec(), data));
    }
    (serde_json::from_slice(&cfg).expect("json"), out)
}

/// The f32 safetensors file of `t`.
fn write(t: &Tensors) -> Vec<u8> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = t
        .iter()
        .map(|(n, (s, d))| {
            (
                n.clone(),
                s.clone(),
                d.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(String, TensorView)> = bytes
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).expect("view"),
            )
        })
        .collect();
    safetensors::serialize(views, None).expect("serialize")
}

/// Logits at every position of a fixed prompt.
fn logits(cfg: &Value, t: &Tensors) -> Vec<f32> {
    let model = Model::from_bytes(cfg.to_string().as_bytes(), &write(t))
        .unwrap_or_else(|e| panic!("the converted checkpoint does not load: {e}"));
    let v = model.config().vocab_size as u32;
    let tokens: Vec<u32> = (0..40u32).map(|i| (i * 37 + 11) % v).collect();
    let mut st = model.new_state();
    let opts = ForwardOptions {
        all_logits: true,
        ..Default::default()
    };
    model
        .forward(&mut st, &tokens, opts)
        .expect("forward")
        .logits
}

/// The mixer prefixes (`layers.{i}.mixer.`) of the intra blocks.
fn intra_mixers(cfg: &Value) -> Vec<String> {
    let layers = cfg["layers"].as_array().expect("layers");
    (0..layers.len())
        .filter(|&i| layers[i] == "intra")
        .map(|i| format!("layers.{i}.mixer."))
        .collect()
}

fn negate(t: &mut Tensors, name: &str) {
    let (_, d) = t
        .get_mut(name)
        .unwrap_or_else(|| panic!("no tensor {name}"));
    d.iter_mut().for_each(|x| *x = -*x);
}

/// `from` converted to `to` is the same model; `to` without the conversion is not.
fn check(what: &str, from: (&Value, &Tensors), to: (&Value, &Tensors), unconverted: &Tensors) {
    let (a, b) = (logits(from.0, from.1), logits(to.0, to.1));
    let e = rel_err(&b, &a);
    assert!(e < 1e-5, "{what}: converted logits differ, rel err {e}");
    let e = rel_err(&logits(to.0, unconverted), &a);
    assert!(
        e > 1e-2,
        "{what}: the conversion changed nothing (rel err {e})"
    );
}

fn with_intra(cfg: &Value, fusion: &str, out_proj: &str) -> Value {
    let mut c = cfg.clone();
    c["intra"]["fusion"] = json!(fusion);
    c["intra"]["out_proj"] = json!(out_proj);
    c
}

#[test]
fn separate_subtract_is_add_with_the_ssm_projection_negated() {
    // out = o_proj(a) - out_proj(s) = o_proj(a) + (-out_proj)(s); also with dva != dh
    for name in ["intra_subtract", "intra_vfull"] {
        let (cfg, w) = read(name);
        let to = with_intra(&cfg, "add", "separate");
        let mut conv = w.clone();
        for p in intra_mixers(&cfg) {
            negate(&mut conv, &format!("{p}ssm.out_proj.weight"));
        }
        check(name, (&cfg, &w), (&to, &conv), &w);
    }
}

#[test]
fn separate_subtract_is_add_with_the_ssm_norm_negated() {
    // with branch_norm, s = rms(s) * ssm_norm: -ssm_norm gives -s
    let (cfg, w) = read("intra_subtract");
    let to = with_intra(&cfg, "add", "separate");
    let mut conv = w.clone();
    for p in intra_mixers(&cfg) {
        negate(&mut conv, &format!("{p}ssm_norm.weight"));
    }
    check("ssm_norm", (&cfg, &w), (&to, &conv), &w);
}

#[test]
fn joint_concat_is_separate_add_with_the_projection_split() {
    // out_proj([a | s]) = W[:, :A] a + W[:, A:] s, A = Ha*dva
    let (cfg, w) = read("intra_concat");
    let to = with_intra(&cfg, "add", "separate");
    let mut conv = w.clone();
    for p in intra_mixers(&cfg) {
        let (shape, data) = conv
            .remove(&format!("{p}out_proj.weight"))
            .expect("out_proj");
        let (d, cols) = (shape[0], shape[1]);
        // A = Ha*dva = (Hakv*dva) * (Ha*dh) / (Hakv*dh)
        let rows = |n: &str| w[&format!("{p}attn.{n}_proj.weight")].0[0];
        let a_cols = rows("v") * rows("q") / rows("k");
        let (mut wa, mut ws) = (Vec::new(), Vec::new());
        for row in data.chunks_exact(cols) {
            wa.extend_from_slice(&row[..a_cols]);
            ws.extend_from_slice(&row[a_cols..]);
        }
        conv.insert(format!("{p}attn.o_proj.weight"), (vec![d, a_cols], wa));
        conv.insert(
            format!("{p}ssm.out_proj.weight"),
            (vec![d, cols - a_cols], ws),
        );
    }
    // unconverted: the split with the Mamba half's sign flipped
    let mut flipped = conv.clone();
    for p in intra_mixers(&cfg) {
        negate(&mut flipped, &format!("{p}ssm.out_proj.weight"));
    }
    check("concat", (&cfg, &w), (&to, &conv), &flipped);
}

#[test]
fn joint_subtract_is_separate_subtract_with_one_projection_twice() {
    // out_proj(a - s) = W a - W s: both separate projections are W (Ha*dva == E_b)
    let (cfg, w) = read("intra_joint_scalars");
    let to = with_intra(&cfg, "subtract", "separate");
    let mut conv = w.clone();
    for p in intra_mixers(&cfg) {
        let j = conv
            .remove(&format!("{p}out_proj.weight"))
            .expect("out_proj");
        conv.insert(format!("{p}attn.o_proj.weight"), j.clone());
        conv.insert(format!("{p}ssm.out_proj.weight"), j);
    }
    let mut flipped = conv.clone();
    for p in intra_mixers(&cfg) {
        negate(&mut flipped, &format!("{p}ssm.out_proj.weight"));
    }
    check("joint subtract", (&cfg, &w), (&to, &conv), &flipped);
    // and joint add with the Mamba branch's scalar negated: out_proj(a + (-k) s)
    let to = with_intra(&cfg, "add", "joint");
    let mut conv = w.clone();
    for p in intra_mixers(&cfg) {
        negate(&mut conv, &format!("{p}ssm_scale"));
    }
    check("joint add, -ssm_scale", (&cfg, &w), (&to, &conv), &w);
}
