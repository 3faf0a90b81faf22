//! The tables of the Findings figures, plain Rust: the ablation table (mean ± sd over the
//! atlas seeds per family and cell) and the memory table (per model and context).

use super::figures::{cache_bytes, MEMORY_LENGTHS};
use super::metrics::FAMILIES;
use super::metrics::{Stat, Zoo};
use crate::engine::ModelConfig;

/// Recall cells of the ablation table: (seq_len, n_pairs).
pub const ABLATION_CELLS: [(usize, usize); 6] = [
    (256, 4),
    (256, 16),
    (256, 32),
    (512, 4),
    (512, 16),
    (1024, 4),
];

/// One family's row.
#[derive(Clone, Debug, PartialEq)]
pub struct AblationRow {
    pub family: &'static str,
    pub name: &'static str,
    /// Per cell of [`ABLATION_CELLS`]: accuracy (fraction) over seeds.
    pub cells: Vec<Option<Stat>>,
    /// Shakespeare validation loss (the language-model side of the ablation).
    pub val_loss: Option<Stat>,
}

/// The ablation table (families x cells).
pub fn ablation(zoo: &Zoo) -> Vec<AblationRow> {
    FAMILIES
        .iter()
        .map(|&(family, name)| AblationRow {
            family,
            name,
            cells: ABLATION_CELLS
                .iter()
                .map(|&(l, p)| zoo.stat("recall", family, |m| m.recall_grid()?.at(l, p)))
                .collect(),
            val_loss: zoo.stat("shakespeare", family, |m| m.val_loss()),
        })
        .collect()
}

/// One model's cache per context length (f32 bytes; bf16 and f16 are half).
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryRow {
    pub name: String,
    /// Per [`MEMORY_LENGTHS`].
    pub f32_bytes: Vec<u64>,
}

/// The memory rows of `configs` (name, config).
pub fn memory(configs: &[(String, ModelConfig)]) -> Vec<MemoryRow> {
    configs
        .iter()
        .map(|(name, cfg)| MemoryRow {
            name: name.clone(),
            f32_bytes: MEMORY_LENGTHS
                .iter()
                .map(|&t| cache_bytes(cfg, t, 4))
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::paper_configs;
    use crate::paper::figures::mib;
    use crate::paper::findings::tests::committed_zoo;

    #[test]
    fn ablation_from_the_atlas_seeds() {
        let rows = ablation(&committed_zoo());
        let t = &rows[0];
        assert_eq!(t.family, "transformer");
        // docs/FINDINGS.md: 92.5 ± 3.4 (16 pairs at 256, n = 3)
        assert_eq!(t.cells[1].unwrap().text(100.0, 1), "92.5 ± 3.4 (n = 3)");
        assert_eq!(t.val_loss.unwrap().n, 3);
    }

    #[test]
    fn paper_configs_give_the_papers_order_of_cache() {
        let rows = memory(&paper_configs());
        assert_eq!(rows.len(), 5);
        let at_32k: Vec<f64> = rows.iter().map(|r| mib(r.f32_bytes[5] / 2)).collect();
        // bf16 at 32K; the paper: Transformer 1024 MiB, Mamba 13 (its exact configs differ).
        let (max, min) = at_32k
            .iter()
            .fold((0.0f64, f64::MAX), |(a, b), &x| (a.max(x), b.min(x)));
        assert!(max > 50.0 * min, "{at_32k:?}");
    }
}
