//! `hybrid generate`: prefill, then sample and stream tokens.

use std::time::Instant;

use crate::engine::Engine;
use crate::input::AnyResult;
use crate::say;
use hybrid_core::{Sampler, SamplingParams, Tokenizer};

/// Prefill the prompt, then sample and stream `max_tokens` tokens.
pub fn generate(
    eng: &mut Engine,
    tok: &Tokenizer,
    ids: &[u32],
    max_tokens: usize,
    params: SamplingParams,
) -> AnyResult<()> {
    let mut sampler = Sampler::new(params);
    let t0 = Instant::now();
    let mut logits = eng.forward(ids, false)?;
    let prefill = t0.elapsed();
    let mut generated = 0;
    say(tok.decode(ids)?)?;
    // the text that became final at each token (byte-level tokens may split characters)
    let mut stream = tok.stream();
    let t1 = Instant::now();
    for _ in 0..max_tokens {
        let next = sampler.sample(&logits);
        generated += 1;
        let piece = stream.push(next)?;
        if !piece.is_empty() {
            say(piece)?;
        }
        logits = eng.forward(&[next], false)?;
    }
    let decode = t1.elapsed();
    say("\n")?;
    eprintln!(
        "prefill {} tokens in {:.1} ms; decode {} tokens at {:.1} tokens/s; cache {} bytes",
        ids.len(),
        prefill.as_secs_f64() * 1e3,
        generated,
        generated as f64 / decode.as_secs_f64().max(1e-9),
        eng.cache_bytes()
    );
    Ok(())
}
