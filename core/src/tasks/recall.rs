//! Multi-query associative recall (MQAR): key-value pairs, filler, then the keys again in
//! a shuffled order; the model must answer each query key with its value. Attention can
//! look the pair up; a fixed-size state must have stored it. The training script
//! (`train/recall.py`) mirrors this definition exactly; `core/tests/recall.rs` checks both
//! against `tests/fixtures/recall_cases.json`.
//!
//! Vocabulary (256): 0 `<pad>`, 1 `<bos>`, 2 `<sep>`, filler 3..16, keys 16..128,
//! values 128..256. A case of `n` pairs and length `L`:
//! `<bos> k0 v0 .. k(n-1) v(n-1)  filler x (L - 4n - 2)  <sep> kσ0 vσ0 .. kσ(n-1) vσ(n-1)`.

use crate::error::{Error, Result};
use crate::sample::{argmax, Rng};

pub const VOCAB: usize = 256;
pub const BOS: u32 = 1;
pub const SEP: u32 = 2;
pub const FILLER: std::ops::Range<u32> = 3..16;
pub const KEYS: std::ops::Range<u32> = 16..128;
pub const VALUES: std::ops::Range<u32> = 128..256;

/// One recall case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallCase {
    /// [L]
    pub tokens: Vec<u32>,
    /// Positions of the query keys; the answer is the token after each.
    pub query_positions: Vec<usize>,
}

/// `lo + next % (hi - lo)`: the task's uniform draw.
fn uniform(rng: &mut Rng, lo: u32, hi: u32) -> u32 {
    lo + (rng.next_u64() % u64::from(hi - lo)) as u32
}

/// Draw one case of `n_pairs` pairs and total length `seq_len`.
pub fn make_case(rng: &mut Rng, n_pairs: usize, seq_len: usize) -> Result<RecallCase> {
    let n_keys = (KEYS.end - KEYS.start) as usize;
    if n_pairs == 0 || n_pairs > n_keys || 4 * n_pairs + 2 > seq_len {
        return Err(Error::Prompt(format!(
            "recall: {n_pairs} pairs need 1..={n_keys} pairs and a length of at least {} (got {seq_len})",
            4 * n_pairs + 2
        )));
    }
    let mut keys: Vec<u32> = KEYS.collect();
    for i in 0..n_pairs {
        let j = uniform(rng, i as u32, n_keys as u32) as usize;
        keys.swap(i, j);
    }
    let values: Vec<u32> = (0..n_pairs)
        .map(|_| uniform(rng, VALUES.start, VALUES.end))
        .collect();
    let mut order: Vec<usize> = (0..n_pairs).collect();
    for i in 0..n_pairs {
        let j = uniform(rng, i as u32, n_pairs as u32) as usize;
        order.swap(i, j);
    }
    let mut tokens = Vec::with_capacity(seq_len);
    tokens.push(BOS);
    for i in 0..n_pairs {
        tokens.extend([keys[i], values[i]]);
    }
    for _ in 0..seq_len - 4 * n_pairs - 2 {
        tokens.push(uniform(rng, FILLER.start, FILLER.end));
    }
    tokens.push(SEP);
    let mut query_positions = Vec::with_capacity(n_pairs);
    for &i in &order {
        query_positions.push(tokens.len());
        tokens.extend([keys[i], values[i]]);
    }
    Ok(RecallCase {
        tokens,
        query_positions,
    })
}

/// `count` cases from one generator seeded with `seed`.
pub fn make_batch(
    seed: u64,
    count: usize,
    n_pairs: usize,
    seq_len: usize,
) -> Result<Vec<RecallCase>> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| make_case(&mut rng, n_pairs, seq_len))
        .collect()
}

/// Fraction of queries answered right, from logits at every position ([L, V]).
pub fn accuracy(case: &RecallCase, logits: &[f32], vocab: usize) -> f32 {
    let right = case
        .query_positions
        .iter()
        .filter(|&&p| {
            let row = &logits[p * vocab..(p + 1) * vocab];
            case.tokens.get(p + 1) == Some(&argmax(row))
        })
        .count();
    right as f32 / case.query_positions.len().max(1) as f32
}
