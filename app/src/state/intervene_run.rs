//! The Interventions panel's A/B runs: the same model without and with a set of
//! interventions, on the engine of intervened runs (`Backend::intervened_session`).
//!
//! - loss: per-token loss over the shipped held-out passage (`paper::run::token_losses`,
//!   the loss-by-position figure's code);
//! - recall: the cases of the CLI's `hybrid recall` (its defaults: 16 pairs, 256 tokens,
//!   seed 1; `recall::accuracy` per case, averaged in f32 as the CLI does), so the page's
//!   accuracy is the CLI's;
//! - maps: the prompt's analysis both ways (`analysis::analyze_with`) and their difference.
//!
//! Long loops yield to the browser and stop when `cancelled()` says so.

use crate::analysis::{self, Analysis};
use crate::charts::heatmap::Matrix;
use crate::engine::{recall, Backend, Interventions};
use crate::paper::figures::{argmax, mean_of};
use crate::paper::run::{token_losses, CANCELLED};
use crate::web;

/// `hybrid recall`'s defaults: pairs, length and seed of the cases.
pub const RECALL_PAIRS: usize = 16;
pub const RECALL_LEN: usize = 256;
pub const RECALL_SEED: u64 = 1;
/// Tokens per forward call of a recall case (each call a short task in the page).
const RECALL_CHUNK: usize = 64;

/// Per-token losses over the held-out passage, without and with the set.
#[derive(Clone, Debug, PartialEq)]
pub struct LossAb {
    pub before: Vec<f64>,
    pub after: Vec<f64>,
    /// The model's training length (`max_seq_len`, if its config says): the means are
    /// split there.
    pub train_len: Option<usize>,
    pub engine: &'static str,
}

impl LossAb {
    /// (mean before the training length, mean past it) of `losses`.
    pub fn means(&self, losses: &[f64]) -> (Option<f64>, Option<f64>) {
        let t = self.train_len.unwrap_or(losses.len());
        (mean_of(losses, 0, t), mean_of(losses, t, losses.len()))
    }
}

/// One answer of a recall case: the query key, the value stored with it, the model's.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub key: u32,
    pub want: u32,
    pub got: Option<u32>,
}

/// Recall over the cases, one way.
#[derive(Clone, Debug, PartialEq)]
pub struct RecallRun {
    /// The CLI's accuracy in %: 100 x the sum over cases of each case's fraction right,
    /// over the cases, in f32 as `hybrid recall` computes it.
    pub percent: f32,
    pub right: usize,
    pub asked: usize,
    /// The first case's answers.
    pub answers: Vec<Answer>,
}

/// Recall without and with the set.
#[derive(Clone, Debug, PartialEq)]
pub struct RecallAb {
    pub cases: usize,
    pub before: RecallRun,
    pub after: RecallRun,
    pub engine: &'static str,
}

/// The prompt's maps without and with the set.
#[derive(Clone, Debug)]
pub struct MapsAb {
    pub before: Analysis,
    pub after: Analysis,
}

/// Whether `backend` reads the recall task (a recall model of the zoo).
pub fn is_recall_model(backend: &Backend) -> bool {
    backend.loaded().id.starts_with("recall") && backend.config().vocab_size >= recall::VOCAB
}

/// Why `backend` cannot read the passage `tokens`, if it cannot.
pub fn passage_unreadable(backend: &Backend, tokens: &[u32]) -> Option<String> {
    let vocab = backend.config().vocab_size;
    tokens.iter().any(|&t| t as usize >= vocab).then(|| {
        format!("the passage is Shakespeare text; this model's vocabulary ({vocab}) cannot read it")
    })
}

/// Losses over `tokens` without and with `set`.
pub async fn loss_ab(
    backend: &Backend,
    tokens: &[u32],
    set: &Interventions,
    cancelled: &dyn Fn() -> bool,
    progress: &dyn Fn(f64),
) -> Result<LossAb, String> {
    let none = Interventions::none();
    let half = |f: f64| progress(f / 2.0);
    let (before, engine) = token_losses(backend, tokens, &none, cancelled, &half).await?;
    let rest = |f: f64| progress(0.5 + f / 2.0);
    let (after, _) = token_losses(backend, tokens, set, cancelled, &rest).await?;
    Ok(LossAb {
        before,
        after,
        train_len: backend.config().max_seq_len,
        engine,
    })
}

/// Recall over the first `cases` cases of `hybrid recall` under `set`.
pub async fn recall_run(
    backend: &Backend,
    set: &Interventions,
    cases: usize,
    cancelled: &dyn Fn() -> bool,
) -> Result<RecallRun, String> {
    let batch = recall::make_batch(RECALL_SEED, cases, RECALL_PAIRS, RECALL_LEN)
        .map_err(|e| e.to_string())?;
    let vocab = backend.config().vocab_size;
    let (mut total, mut right, mut asked) = (0.0f32, 0, 0);
    let mut answers = Vec::new();
    for (c, case) in batch.iter().enumerate() {
        let (mut session, _) = backend.intervened_session();
        let mut logits = Vec::with_capacity(case.tokens.len() * vocab);
        for chunk in case.tokens.chunks(RECALL_CHUNK) {
            logits.extend(backend.feed_with(&mut session, chunk, set)?);
            web::yield_to_browser().await;
            if cancelled() {
                return Err(CANCELLED.into());
            }
        }
        if logits.len() != case.tokens.len() * vocab {
            return Err(format!("the engine returned {} logits", logits.len()));
        }
        total += recall::accuracy(case, &logits, vocab);
        for &p in &case.query_positions {
            let got = logits.get(p * vocab..(p + 1) * vocab).and_then(argmax);
            let want = case.tokens.get(p + 1).copied().unwrap_or(0);
            asked += 1;
            right += usize::from(got == Some(want));
            if c == 0 {
                let key = case.tokens.get(p).copied().unwrap_or(0);
                answers.push(Answer { key, want, got });
            }
        }
    }
    Ok(RecallRun {
        percent: 100.0 * total / batch.len().max(1) as f32,
        right,
        asked,
        answers,
    })
}

/// Recall without and with `set`.
pub async fn recall_ab(
    backend: &Backend,
    set: &Interventions,
    cases: usize,
    cancelled: &dyn Fn() -> bool,
) -> Result<RecallAb, String> {
    let before = recall_run(backend, &Interventions::none(), cases, cancelled).await?;
    let after = recall_run(backend, set, cases, cancelled).await?;
    let (_, engine) = backend.intervened_session();
    Ok(RecallAb {
        cases,
        before,
        after,
        engine,
    })
}

/// The prompt's maps without and with `set`.
pub fn maps_ab(backend: &Backend, prompt: &str, set: &Interventions) -> Result<MapsAb, String> {
    Ok(MapsAb {
        before: analysis::analyze_with(backend, prompt, &Interventions::none())?,
        after: analysis::analyze_with(backend, prompt, set)?,
    })
}

/// `after - before`, cell by cell (`None` when the shapes differ).
pub fn difference(before: &Matrix, after: &Matrix) -> Option<Matrix> {
    if (before.rows, before.cols) != (after.rows, after.cols) {
        return None;
    }
    let d = before
        .values
        .iter()
        .zip(&after.values)
        .map(|(a, b)| b - a)
        .collect();
    Matrix::new(before.rows, before.cols, d)
}

/// The largest |change| of any map of each layer (attention, implicit attention, dt,
/// state norms), for the layer picker and tests.
pub fn layer_changes(ab: &MapsAb) -> Vec<f32> {
    ab.before
        .layers
        .iter()
        .zip(&ab.after.layers)
        .map(|(a, b)| {
            let pairs = a.attn.iter().zip(&b.attn);
            let pairs = pairs.chain(a.implicit.iter().zip(&b.implicit));
            let pairs = pairs.chain(a.dt.iter().zip(&b.dt));
            let pairs = pairs.chain(a.state_norm.iter().zip(&b.state_norm));
            pairs
                .filter_map(|(x, y)| difference(x, y))
                .map(|d| d.max_abs())
                .fold(0.0, f32::max)
        })
        .collect()
}
