//! A model wider than the matvec stages in workgroup memory (d_model > 2048, `MAX_K` of
//! ops::matvec) against the CPU engine: decode steps normalize x as the matvec reads it
//! from memory (each workgroup takes the groups' 1 / rms first), and the head of a
//! prefill that wants only the last row's logits normalizes the chunk, then runs the
//! matvec on row T - 1 (this used to be a shape error).

mod common;

use common::{gpu, rel_err};
use hybrid_core::weights::Weights;
use hybrid_core::{ForwardOptions, Model, ModelConfig};
use hybrid_gpu::{GpuModel, SessionOptions};

/// GPU logits against CPU logits: max |a - b| / max |b| (as in models.rs).
const LOGIT_TOL: f32 = 1e-3;

#[test]
fn wide_models_match_the_cpu() {
    let Some(g) = gpu() else { return };
    let json = r#"{"name":"wide","vocab_size":50,"d_model":2304,"d_ffn":40,
        "layers":["attention","mamba"],
        "attention":{"n_heads":4,"n_kv_heads":2,"head_dim":16},
        "mamba":{"d_state":8,"head_dim":16,"n_groups":1,"expand":1}}"#;
    let cfg = ModelConfig::from_json(json.as_bytes()).expect("config");
    let model = Model::new(cfg.clone(), Weights::random(&cfg, 5).expect("weights"));
    let tokens = [3u32, 14, 15, 9, 26, 5];
    let opts = ForwardOptions {
        all_logits: true,
        ..Default::default()
    };
    let want = model
        .forward(&mut model.new_state(), &tokens, opts)
        .expect("cpu forward")
        .logits;
    let v = cfg.vocab_size;
    let gm = GpuModel::new(g.clone(), &model).expect("upload");
    let opts = SessionOptions {
        max_context: 64,
        chunk: 4,
    };
    let mut s = gm.session(opts).expect("session");
    // chunks of 4 and 2 tokens, the last row's logits
    let last = s.prefill_blocking(&tokens).expect("prefill");
    let e = rel_err(&last, &want[(tokens.len() - 1) * v..]);
    assert!(e < LOGIT_TOL, "wide prefill: rel err {e:e}");
    s.reset().expect("reset");
    for (i, &tok) in tokens.iter().enumerate() {
        let got = s.step_blocking(tok).expect("step");
        let e = rel_err(&got, &want[i * v..(i + 1) * v]);
        assert!(e < LOGIT_TOL, "wide step {i}: rel err {e:e}");
    }
}
