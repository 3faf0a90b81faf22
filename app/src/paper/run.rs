//! Every engine call of the paper's figures, in one place so that they can be re-routed
//! (to a worker) without touching the figures: decode speed (on the model's own engine),
//! per-position losses and recall accuracy (on the CPU reference engine, token by token
//! through a [`crate::engine::Session`], the same path generation uses). Long loops yield
//! to the browser and stop when `cancelled()` says so.

use crate::engine::{recall, Backend, Interventions};
use crate::web;

use super::figures::{argmax, cross_entropy};

/// Decode steps timed for the tokens/s figure: at most this many, fewer (at least
/// [`DECODE_MIN`]) once they took [`DECODE_BUDGET_MS`] (a software GPU such as SwiftShader
/// takes seconds per step).
pub const DECODE_STEPS: usize = 32;
const DECODE_MIN: usize = 2;
const DECODE_BUDGET_MS: f64 = 1000.0;
/// Prompt tokens fed before timing.
const WARM_TOKENS: usize = 16;
/// Yield to the browser after this many ms of work.
const SLICE_MS: f64 = 30.0;

/// Stopped by the user (the caller says so in the page).
pub const CANCELLED: &str = "cancelled";

/// Decode tokens/s of `backend` on its own engine (the GPU engine where the page runs the
/// model there): a short prompt, then greedy steps timed (see [`DECODE_STEPS`]). Each
/// step reads its logits back, so a GPU step is timed to the end of its work. Returns
/// (tokens/s, engine name); stops between steps when `cancelled()` says so.
pub async fn decode_speed(
    backend: &Backend,
    cancelled: &dyn Fn() -> bool,
) -> Result<(f64, &'static str), String> {
    let vocab = backend.config().vocab_size.max(1) as u32;
    let mut session = backend.open_session(WARM_TOKENS + DECODE_STEPS + 1, WARM_TOKENS)?;
    let engine = backend.engine_name();
    let prompt: Vec<u32> = (0..WARM_TOKENS as u32)
        .map(|t| (t * 7 + 3) % vocab)
        .collect();
    let mut logits = backend.feed_async(&mut session, &prompt).await?;
    let t0 = web::now_ms();
    let mut steps = 0;
    while steps < DECODE_STEPS && (steps < DECODE_MIN || web::now_ms() - t0 < DECODE_BUDGET_MS) {
        let next = argmax(&logits).ok_or("the engine returned no logits")?;
        logits = backend.feed_async(&mut session, &[next]).await?;
        steps += 1;
        if cancelled() {
            return Err(CANCELLED.into());
        }
    }
    let ms = (web::now_ms() - t0).max(1e-3);
    Ok((steps as f64 * 1000.0 / ms, engine))
}

/// Cross-entropy of each next token of `tokens` ([T] -> [T - 1]) under the interventions
/// `set` (empty: the model as trained), token by token on the engine of intervened runs
/// (the CPU engine); returns the losses and that engine's name.
pub async fn token_losses(
    backend: &Backend,
    tokens: &[u32],
    set: &Interventions,
    cancelled: &dyn Fn() -> bool,
    progress: &dyn Fn(f64),
) -> Result<(Vec<f64>, &'static str), String> {
    let (mut session, engine) = backend.intervened_session();
    let mut out = Vec::with_capacity(tokens.len().saturating_sub(1));
    let mut slice = web::now_ms();
    for (i, pair) in tokens.windows(2).enumerate() {
        let logits = backend.feed_with(&mut session, &pair[..1], set)?;
        let loss = cross_entropy(&logits, pair[1])
            .ok_or_else(|| format!("token {} is outside the model's vocabulary", pair[1]))?;
        out.push(loss);
        if web::now_ms() - slice > SLICE_MS {
            progress(i as f64 / tokens.len() as f64);
            web::yield_to_browser().await;
            if cancelled() {
                return Err(CANCELLED.into());
            }
            slice = web::now_ms();
        }
    }
    Ok((out, engine))
}

/// Recall accuracy of `backend` over the first `cases` cases of the test split's cell
/// (`n_pairs`, `seq_len`): the generator seeded with `1000 * n_pairs + seq_len`, as
/// `metrics.json` was measured (`docs/FINDINGS.md`, "Splits"). CPU engine.
pub async fn recall_accuracy(
    backend: &Backend,
    n_pairs: usize,
    seq_len: usize,
    cases: usize,
    cancelled: &dyn Fn() -> bool,
) -> Result<f64, String> {
    let seed = 1000 * n_pairs as u64 + seq_len as u64;
    let batch = recall::make_batch(seed, cases, n_pairs, seq_len).map_err(|e| e.to_string())?;
    let mut right = 0usize;
    let mut asked = 0usize;
    for case in &batch {
        let first = *case
            .query_positions
            .first()
            .ok_or("a case without queries")?;
        let mut session = backend.new_session();
        let mut logits = backend.feed(&mut session, &case.tokens[..=first])?;
        for p in first..case.tokens.len().saturating_sub(1) {
            if p > first {
                logits = backend.feed(&mut session, &case.tokens[p..=p])?;
            }
            if case.query_positions.contains(&p) {
                asked += 1;
                right += usize::from(argmax(&logits) == case.tokens.get(p + 1).copied());
            }
        }
        web::yield_to_browser().await;
        if cancelled() {
            return Err(CANCELLED.into());
        }
    }
    Ok(right as f64 / asked.max(1) as f64)
}
