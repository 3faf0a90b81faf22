//! The numbers behind the paper's figures, plain Rust: cache memory in three precisions
//! against context (Fig 3b), per-position losses bucketed (Fig 3c), recall accuracy per
//! cell (Fig 4 analogue). The engine work that produces their inputs is in `paper::run`.

use crate::engine::ModelConfig;

/// Context lengths of the memory table (1K..32K).
pub const MEMORY_LENGTHS: [usize; 6] = [1024, 2048, 4096, 8192, 16_384, 32_768];
/// The paper's cache at 32K (MiB, 1B models), by paper config label order.
pub const PAPER_CACHE_32K: [(&str, f64); 4] = [
    ("Transformer", 1024.0),
    ("Mamba", 13.0),
    ("inter", 139.0),
    ("intra", 113.0),
];
/// The paper's decode throughput at 1B (tokens/s, batch 4) at 2K/4K/8K/16K/32K.
pub const PAPER_THROUGHPUT: [(&str, [f64; 5]); 4] = [
    ("Transformer", [373.0, 214.0, 115.0, 60.0, 30.0]),
    ("Mamba", [2528.0, 2647.0, 2738.0, 2782.0, 2917.0]),
    ("inter", [969.0, 828.0, 595.0, 373.0, 213.0]),
    ("intra", [1089.0, 918.0, 683.0, 464.0, 280.0]),
];

/// Bytes per value of each precision.
pub const PRECISIONS: [(&str, usize); 3] = [("f32", 4), ("bf16", 2), ("f16", 2)];

/// Cache bytes (KV + SSM + conv state) at `context` in a precision of `bytes` per value.
pub fn cache_bytes(cfg: &ModelConfig, context: usize, bytes: usize) -> u64 {
    // cache_bytes is f32 (4 bytes per value)
    (cfg.cache_bytes(context) as u64 / 4) * bytes as u64
}

/// MiB of `bytes`.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub use hybrid_core::eval::cross_entropy;

/// Index of the largest logit (the first on ties).
pub fn argmax(logits: &[f32]) -> Option<u32> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &x) in logits.iter().enumerate() {
        if best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| i as u32)
}

/// Mean loss per bucket of `bucket` positions: (first position, mean).
pub fn buckets(losses: &[f64], bucket: usize) -> Vec<(usize, f64)> {
    losses
        .chunks(bucket.max(1))
        .enumerate()
        .map(|(i, c)| (i * bucket.max(1), c.iter().sum::<f64>() / c.len() as f64))
        .collect()
}

/// Mean of `losses[range]`, `None` when empty.
pub fn mean_of(losses: &[f64], from: usize, to: usize) -> Option<f64> {
    let part = losses.get(from..to.min(losses.len()))?;
    (!part.is_empty()).then(|| part.iter().sum::<f64>() / part.len() as f64)
}

/// One model's loss-by-position curve, computed in the page.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionCurve {
    pub model: String,
    pub engine: &'static str,
    /// Loss of predicting token i + 1 from tokens 0..=i.
    pub losses: Vec<f64>,
}

impl PositionCurve {
    /// Mean in 0..train_len and beyond.
    pub fn split(&self, train_len: usize) -> (Option<f64>, Option<f64>) {
        (
            mean_of(&self.losses, 0, train_len),
            mean_of(&self.losses, train_len, self.losses.len()),
        )
    }
}

/// One model's quality and speed (Fig 1b).
#[derive(Clone, Debug, PartialEq)]
pub struct QualityPoint {
    pub model: String,
    pub id: String,
    /// From metrics.json.
    pub val_loss: Option<f64>,
    /// Measured now.
    pub tokens_per_s: f64,
    pub engine: &'static str,
}

/// One recall cell computed in the page.
#[derive(Clone, Debug, PartialEq)]
pub struct RecallCell {
    pub model: String,
    pub id: String,
    pub seq_len: usize,
    pub n_pairs: usize,
    pub cases: usize,
    pub accuracy: f64,
    /// The committed test grid's value (512 cases, same seeds).
    pub committed: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_and_buckets() {
        let ce = cross_entropy(&[0.0, 0.0], 1).unwrap();
        assert!((ce - std::f64::consts::LN_2).abs() < 1e-12);
        assert_eq!(cross_entropy(&[0.0], 3), None);
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), Some(1));
        assert_eq!(argmax(&[]), None);
        assert_eq!(buckets(&[1.0, 3.0, 5.0], 2), vec![(0, 2.0), (2, 5.0)]);
        assert_eq!(mean_of(&[1.0, 3.0, 5.0], 1, 9), Some(4.0));
        assert_eq!(mean_of(&[1.0], 2, 9), None);
    }

    #[test]
    fn cache_matches_the_committed_metrics() {
        let root = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../assets/models/shakespeare-transformer"
        );
        let cfg =
            ModelConfig::from_json(&std::fs::read(format!("{root}/config.json")).unwrap()).unwrap();
        // metrics.json: cache.8192.total_bytes = 25165824 (24 MiB, f32)
        assert_eq!(cache_bytes(&cfg, 8192, 4), 25_165_824);
        assert_eq!(cache_bytes(&cfg, 8192, 2), 25_165_824 / 2);
    }
}
