//! A state sized in advance (`Model::new_state_for`) holds its KV caches from the start:
//! a run of that length never reallocates them (the page's long generations stay flat
//! beyond the cache), computes the same logits as a state that grows, and a cache too
//! large to allocate is an error naming its bytes.

mod common;

use common::family_configs;
use hybrid_core::cpu::model::LayerState;
use hybrid_core::weights::Weights;
use hybrid_core::{Error, Model, State};

/// (pointer, capacity) of every K and V buffer of `st`.
fn buffers(st: &State) -> Vec<(*const f32, usize)> {
    let mut out = Vec::new();
    for l in &st.layers {
        if let LayerState::Attention(kv) | LayerState::Intra(kv, _) = l {
            out.push((kv.k.as_ptr(), kv.k.capacity()));
            out.push((kv.v.as_ptr(), kv.v.capacity()));
        }
    }
    out
}

#[test]
fn a_reserved_cache_never_moves_and_gives_the_same_logits() {
    let (prompt, new_tokens, chunk) = (37, 60, 16);
    let mut checked = 0;
    for (name, cfg) in family_configs() {
        let model = Model::new(cfg.clone(), Weights::random(&cfg, 5).expect("weights"));
        let toks: Vec<u32> = (0..prompt + new_tokens)
            .map(|i| ((i * 13 + 3) % cfg.vocab_size) as u32)
            .collect();
        let mut grown = model.new_state();
        let mut sized = model
            .new_state_for(prompt + new_tokens, chunk)
            .expect("room for 97 tokens");
        let before = buffers(&sized);
        for c in toks[..prompt].chunks(chunk) {
            let a = model.prefill(&mut grown, c).expect("prefill");
            let b = model.prefill(&mut sized, c).expect("prefill");
            assert_eq!(a, b, "{name}: prefill logits");
        }
        for &t in &toks[prompt..] {
            let a = model.step(&mut grown, t).expect("step");
            let b = model.step(&mut sized, t).expect("step");
            assert_eq!(a, b, "{name}: decode logits");
        }
        assert_eq!(grown.bytes(), sized.bytes(), "{name}: bytes in use");
        assert_eq!(
            buffers(&sized),
            before,
            "{name}: a KV buffer was reallocated"
        );
        if !before.is_empty() {
            // the reservation is exact: a full-attention layer holds room for every token
            let widest = before.iter().map(|b| b.1).max().unwrap_or(0);
            assert!(
                widest >= prompt + new_tokens,
                "{name}: {widest} floats reserved"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 5,
        "only {checked} families with attention were checked"
    );
}

#[test]
fn a_cache_too_large_to_allocate_is_an_error_with_its_bytes() {
    let (_, cfg) = family_configs()
        .into_iter()
        .find(|(n, _)| *n == "transformer")
        .expect("transformer config");
    let model = Model::new(cfg.clone(), Weights::random(&cfg, 5).expect("weights"));
    // 2^50 positions x 16 floats: far beyond any allocator (and beyond usize on wasm32)
    let err = model
        .new_state_for(1 << 50, 1)
        .expect_err("cannot be allocated");
    let msg = err.to_string();
    assert!(matches!(err, Error::Memory(_)), "{msg}");
    assert!(msg.contains("1125899906842624 positions"), "{msg}");
    assert!(msg.contains("bytes"), "{msg}");
}
