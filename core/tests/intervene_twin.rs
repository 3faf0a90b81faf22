//! The CPU engine's interventions against the PyTorch twin's (issue #11): for each set in
//! `core/tests/fixtures/intervene/<fixture>.safetensors` (written by
//! `train/intervene_fixtures.py` from the committed fixture `tests/fixtures/<fixture>`),
//! `Model::forward_with` gives the twin's logits within 1e-4 relative at the kept rows;
//! together the sets cover every kind of intervention.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::{fixtures_dir, rel_err};
use hybrid_core::{ForwardOptions, Intervention, Interventions, Model};
use safetensors::{Dtype, SafeTensors};

/// Logits tolerance (relative to the largest |logit|), f32 against the twin's f64.
const TOL: f32 = 1e-4;
const FILES: [&str; 2] = ["inter_1to3", "intra_subtract"];

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/intervene")
}

fn words(st: &SafeTensors, name: &str, dtype: Dtype) -> Vec<[u8; 4]> {
    let v = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(v.dtype(), dtype, "{name}");
    (v.data().chunks_exact(4))
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect()
}

fn kind(iv: &Intervention) -> &'static str {
    match iv {
        Intervention::BranchScale { .. } => "branch_scale",
        Intervention::BranchNormOff { .. } => "branch_norm_off",
        Intervention::Skip { .. } => "skip",
        Intervention::Window { .. } => "window",
        Intervention::Hide { .. } => "hide",
        Intervention::SsmReset { .. } => "ssm_reset",
        Intervention::SsmFreeze { .. } => "ssm_freeze",
        Intervention::Dt { .. } => "dt",
    }
}

#[test]
fn every_kind_matches_the_pytorch_twin() {
    let mut kinds = BTreeSet::new();
    let mut sets = 0;
    for file in FILES {
        let path = golden_dir().join(format!("{file}.safetensors"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (_, header) = SafeTensors::read_metadata(&bytes).expect("header");
        let meta = header.metadata().clone().expect("metadata");
        let g = SafeTensors::deserialize(&bytes).expect("golden");
        let name = meta.get("model").expect("model name");
        let dir = fixtures_dir().join(name);
        let cfg = std::fs::read(dir.join("config.json")).expect("config.json");
        let weights = std::fs::read(dir.join("model.safetensors")).expect("model.safetensors");
        let model = Model::from_bytes(&cfg, &weights).expect("fixture loads");
        let v = model.config().vocab_size;
        let tokens: Vec<u32> = (words(&g, "tokens", Dtype::I32).into_iter())
            .map(|w| i32::from_le_bytes(w) as u32)
            .collect();
        let rows: Vec<usize> = (words(&g, "rows", Dtype::I32).into_iter())
            .map(|w| i32::from_le_bytes(w) as usize)
            .collect();
        let opts = ForwardOptions {
            all_logits: true,
            ..Default::default()
        };
        for k in 0.. {
            let Some(json) = meta.get(&format!("set.{k}")) else {
                break;
            };
            let iv = Interventions::parse(json).unwrap_or_else(|e| panic!("{json}: {e}"));
            kinds.extend(iv.0.iter().map(kind));
            let out = model.forward_with(&mut model.new_state(), &tokens, opts, &iv);
            let logits = out.expect("forward_with").logits;
            let got: Vec<f32> = (rows.iter())
                .flat_map(|&r| logits[r * v..(r + 1) * v].iter().copied())
                .collect();
            let want: Vec<f32> = (words(&g, &format!("set.{k}.logits"), Dtype::F32).into_iter())
                .map(f32::from_le_bytes)
                .collect();
            let e = rel_err(&got, &want);
            assert!(e < TOL, "{name} set {k} `{iv}`: rel err {e:e} vs the twin");
            eprintln!("{name} set {k} `{iv}`: rel err {e:.1e}");
            sets += 1;
        }
    }
    let all = [
        "branch_scale",
        "branch_norm_off",
        "skip",
        "window",
        "hide",
        "ssm_reset",
        "ssm_freeze",
        "dt",
    ];
    let missing: Vec<_> = all.iter().filter(|k| !kinds.contains(*k)).collect();
    assert!(missing.is_empty(), "kinds without a twin set: {missing:?}");
    assert!(sets >= 20, "only {sets} sets");
}
