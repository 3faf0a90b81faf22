//! Fetching what the paper's figures read, from the page's own origin: every bundled
//! model's `metrics.json` (through `assets/models/index.json`), the atlas seeds
//! (`atlas/recall/<family>-s<seed>.json`, copied from `train/atlas/` by trunk) and the
//! held-out passage (`assets/paper/heldout.json`).

use serde::Deserialize;

use super::metrics::FAMILIES;
use super::metrics::{RunMetrics, Zoo};
use crate::catalog::{self, INDEX_URL};
use crate::web;

/// The held-out passage of the loss-by-position figure.
pub const HELDOUT_URL: &str = "assets/paper/heldout.json";
/// The atlas's index: one entry per task x config, with its seeds (docs/METRICS.md).
pub const SUMMARY_URL: &str = "atlas/summary.json";

pub use super::ablations::SummaryEntry;

/// The atlas run file of `task`, `config_id`, `seed`.
pub fn atlas_url(task: &str, config_id: &str, seed: u64) -> String {
    format!("atlas/{task}/{config_id}-s{seed}.json")
}

/// The run files to fetch: every seed of the configs whose family the page shows.
pub fn atlas_files(summary: &[SummaryEntry]) -> Vec<String> {
    summary
        .iter()
        .filter(|e| {
            let f = super::metrics::family_of(&e.config_id, None);
            FAMILIES.iter().any(|(id, _)| *id == f)
        })
        .flat_map(|e| e.seeds.iter().map(|&s| atlas_url(&e.task, &e.config_id, s)))
        .collect()
}

/// Every metrics file; what could not be read is listed in the second value (the page
/// shows it), so one missing file does not hide the rest.
pub async fn load_zoo() -> Result<(Zoo, Vec<String>), String> {
    let index = web::fetch_bytes(INDEX_URL, |_, _| {}).await?;
    let entries = catalog::parse_index(&index)?;
    let mut zoo = Zoo::default();
    let mut missing = Vec::new();
    // The random test models (scripts/make-test-model.sh) are untrained: no metrics.
    for e in entries.iter().filter(|e| !e.id.starts_with("test-")) {
        let url = e.file_url("metrics.json");
        match fetch_metrics(&url).await {
            Ok(m) => zoo.models.push((e.id.clone(), m)),
            Err(err) => missing.push(err),
        }
    }
    let summary = web::fetch_bytes(SUMMARY_URL, |_, _| {})
        .await
        .and_then(|b| {
            serde_json::from_slice::<Vec<SummaryEntry>>(&b)
                .map_err(|e| format!("{SUMMARY_URL}: not the atlas summary: {e}"))
        });
    match summary {
        Ok(entries) => {
            for url in atlas_files(&entries) {
                match fetch_metrics(&url).await {
                    Ok(m) => zoo.atlas.push(m),
                    Err(err) => missing.push(err),
                }
            }
            zoo.summary = entries;
        }
        Err(err) => missing.push(err),
    }
    Ok((zoo, missing))
}

async fn fetch_metrics(url: &str) -> Result<RunMetrics, String> {
    let bytes = web::fetch_bytes(url, |_, _| {}).await?;
    RunMetrics::parse(url, &bytes)
}

/// The shipped held-out passage.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Heldout {
    /// Where the tokens come from (split, file, offset).
    pub source: String,
    /// [T] token ids of the Shakespeare tokenizer, T >= 1025.
    pub tokens: Vec<u32>,
}

/// Fetches and checks the held-out passage.
pub async fn load_heldout() -> Result<Heldout, String> {
    let bytes = web::fetch_bytes(HELDOUT_URL, |_, _| {}).await?;
    parse_heldout(&bytes)
}

/// Parses the passage; it must hold at least 1,025 tokens (1,024 predictions).
pub fn parse_heldout(bytes: &[u8]) -> Result<Heldout, String> {
    let h: Heldout = serde_json::from_slice(bytes)
        .map_err(|e| format!("{HELDOUT_URL}: not {{source, tokens}}: {e}"))?;
    if h.tokens.len() < 1025 {
        return Err(format!(
            "{HELDOUT_URL}: {} tokens, the figure needs at least 1,025",
            h.tokens.len()
        ));
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_passage_is_held_out_and_long_enough() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/paper/heldout.json");
        let h = parse_heldout(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(h.tokens.len(), 1025);
        assert!(h.source.contains("test split"), "{}", h.source);
        // The same tokens as the start of the test split (The Tempest, the third document of
        // val.bin: each document starts with id 0), where test.loss_by_position starts.
        let val = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../train/data_prepared/shakespeare/val.bin"
        ))
        .unwrap();
        let ids: Vec<u32> = val
            .chunks(2)
            .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]])))
            .collect();
        let tempest = ids
            .iter()
            .enumerate()
            .filter(|(_, &t)| t == 0)
            .nth(2)
            .unwrap()
            .0;
        let first = ids[tempest..tempest + 1025].to_vec();
        assert_eq!(h.tokens, first);
        assert!(parse_heldout(b"{\"source\":\"x\",\"tokens\":[1]}").is_err());
    }

    #[test]
    fn the_atlas_files_named_by_the_summary_exist() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../train/");
        let summary: Vec<SummaryEntry> =
            serde_json::from_slice(&std::fs::read(format!("{root}atlas/summary.json")).unwrap())
                .unwrap();
        let files = atlas_files(&summary);
        // 5 atlas families shown (intra-add is the intra run rewritten), both tasks
        assert!(files.len() >= 20, "{files:?}");
        assert!(files.contains(&"atlas/recall/inter-1to3-s0.json".to_string()));
        for f in &files {
            let bytes = std::fs::read(format!("{root}{f}")).unwrap();
            let m = RunMetrics::parse(f, &bytes).unwrap();
            assert!(m.val_loss().is_some() || m.recall_grid().is_some(), "{f}");
        }
    }
}
