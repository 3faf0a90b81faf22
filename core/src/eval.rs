//! Per-token loss: the one definition of cross-entropy the command line, the page and the
//! intervention tables share.

use crate::cpu::{ForwardOptions, Model};
use crate::error::{Error, Result};
use crate::intervene::Interventions;

/// Cross-entropy (nats) of `target` under `logits`: -log softmax(logits)[target], with a
/// stable log-sum-exp in f64. `None` for a target outside the row or a row without a
/// finite maximum.
pub fn cross_entropy(logits: &[f32], target: u32) -> Option<f64> {
    let t = *logits.get(target as usize)? as f64;
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    if !max.is_finite() {
        return None;
    }
    let sum: f64 = logits.iter().map(|&x| (x as f64 - max).exp()).sum();
    Some(max + sum.ln() - t)
}

/// -log p(ids[t+1] | ids[..=t]) for every t (`ids.len() - 1` values), the model fed
/// `chunk` tokens per forward call from a fresh state, with the interventions `iv`.
pub fn token_losses(m: &Model, ids: &[u32], chunk: usize, iv: &Interventions) -> Result<Vec<f32>> {
    let opts = ForwardOptions {
        all_logits: true,
        ..Default::default()
    };
    let mut st = m.new_state();
    token_losses_by(ids, chunk, m.config().vocab_size, |part| {
        Ok(m.forward_with(&mut st, part, opts, iv)?.logits)
    })
}

/// [`token_losses`] on any engine: `forward(part)` runs the next `part` of `ids` (at most
/// `chunk` tokens) and returns its logits at every position, `[part.len(), vocab]`.
pub fn token_losses_by<E: From<Error>>(
    ids: &[u32],
    chunk: usize,
    vocab: usize,
    mut forward: impl FnMut(&[u32]) -> std::result::Result<Vec<f32>, E>,
) -> std::result::Result<Vec<f32>, E> {
    let chunk = chunk.max(1);
    let inputs = ids.get(..ids.len().saturating_sub(1)).unwrap_or(&[]);
    let mut losses = Vec::with_capacity(inputs.len());
    for (c, part) in inputs.chunks(chunk).enumerate() {
        let logits = forward(part)?;
        for (i, row) in logits.chunks_exact(vocab.max(1)).enumerate() {
            let at = c * chunk + i + 1;
            let target = ids.get(at).copied().unwrap_or(0);
            if target as usize >= vocab {
                return Err(Error::TokenOutOfRange { id: target, vocab }.into());
            }
            let loss = cross_entropy(row, target).ok_or_else(|| {
                Error::Prompt(format!("loss: the logits at position {at} are not finite"))
            })?;
            losses.push(loss as f32);
        }
    }
    Ok(losses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_of_uniform_logits_is_log_vocab() {
        let ce = cross_entropy(&[0.5; 8], 3).unwrap();
        assert!((ce - 8f64.ln()).abs() < 1e-12);
        assert_eq!(cross_entropy(&[0.0; 4], 4), None);
        assert_eq!(cross_entropy(&[f32::NEG_INFINITY; 4], 1), None);
    }

    #[test]
    fn a_sure_prediction_costs_nothing() {
        let ce = cross_entropy(&[0.0, 100.0, 0.0], 1).unwrap();
        assert!(ce < 1e-40, "{ce}");
    }
}
