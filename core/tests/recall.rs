//! The recall task is defined once: the Rust generator and the training script's mirror
//! (`train/recall.py`, which wrote the fixture) draw identical cases from the same seed.

mod common;

use hybrid_core::sample::Rng;
use hybrid_core::tasks::recall::{self, make_case};

#[test]
fn rust_and_python_generators_agree() {
    let path = common::fixtures_dir().join("recall_cases.json");
    let text = std::fs::read_to_string(&path).expect("tests/fixtures/recall_cases.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut rng = Rng::new(v["seed"].as_u64().expect("seed"));
    let cases = v["cases"].as_array().expect("cases");
    assert!(cases.len() >= 4);
    for c in cases {
        let n = c["n_pairs"].as_u64().expect("n_pairs") as usize;
        let len = c["seq_len"].as_u64().expect("seq_len") as usize;
        let got = make_case(&mut rng, n, len).expect("case");
        let want: Vec<u32> = serde_json::from_value(c["tokens"].clone()).expect("tokens");
        let pos: Vec<usize> =
            serde_json::from_value(c["query_positions"].clone()).expect("positions");
        assert_eq!(got.tokens, want, "n_pairs {n}, seq_len {len}");
        assert_eq!(got.query_positions, pos);
    }
}

#[test]
fn cases_are_well_formed() {
    let batch = recall::make_batch(9, 20, 8, 64).expect("batch");
    for c in &batch {
        assert_eq!(c.tokens.len(), 64);
        assert_eq!(c.tokens[0], recall::BOS);
        // every query key appears once in the context, followed by the same value
        for &p in &c.query_positions {
            let (k, v) = (c.tokens[p], c.tokens[p + 1]);
            let i = c.tokens[1..17]
                .chunks(2)
                .position(|kv| kv[0] == k)
                .expect("key in context");
            assert_eq!(c.tokens[2 + 2 * i], v);
        }
    }
    assert!(
        make_case(&mut Rng::new(0), 20, 64).is_err(),
        "too many pairs for the length"
    );
    // perfect logits score 100%
    let c = &batch[0];
    let mut logits = vec![0.0; 64 * recall::VOCAB];
    for &p in &c.query_positions {
        logits[p * recall::VOCAB + c.tokens[p + 1] as usize] = 1.0;
    }
    assert_eq!(recall::accuracy(c, &logits, recall::VOCAB), 1.0);
}
