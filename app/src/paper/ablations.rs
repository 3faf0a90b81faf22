//! The atlas's ablation tables, read from `atlas/summary.json` (train/atlas/summary.json,
//! written by `train/atlas_report.py`: one entry per task x config with its seeds and,
//! per metric, the values over seeds): the attention:Mamba ratio, the placement of the
//! attention layers, the intra-layer axes, and the equivalence pair. Each row: the
//! Shakespeare test loss and the recall accuracy of one config, mean ± sd over seeds.
//! Plain Rust (unit-tested natively against the committed file).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::stat::Stat;

/// One metric of a summary entry over seeds.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct SummaryMetric {
    #[serde(default)]
    pub values: Vec<f64>,
}

/// One entry of `atlas/summary.json` (docs/METRICS.md): a task x config and its seeds.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct SummaryEntry {
    pub task: String,
    pub config_id: String,
    #[serde(default)]
    pub seeds: Vec<u64>,
    /// "baseline" | "inter-ratio" | "inter-placement" | "intra-axis" | "equivalence".
    #[serde(default)]
    pub group: String,
    /// What the config changes, in words.
    #[serde(default)]
    pub axis: String,
    /// The layer plan ("mammam": m Mamba-2, a attention, i intra).
    #[serde(default)]
    pub layers: String,
    /// By metric name ("test_loss", "recall_16@256", ...).
    #[serde(default)]
    pub metrics: BTreeMap<String, SummaryMetric>,
}

impl SummaryEntry {
    /// Mean ± sd over the seeds of `metric`, if recorded.
    pub fn stat(&self, metric: &str) -> Option<Stat> {
        Stat::of(&self.metrics.get(metric)?.values)
    }
}

/// The recall columns: (metric, seq_len, n_pairs).
pub const RECALL_COLUMNS: [(&str, usize, usize); 4] = [
    ("recall_16@256", 256, 16),
    ("recall_32@256", 256, 32),
    ("recall_16@512", 512, 16),
    ("recall_64@1024", 1024, 64),
];
/// The Shakespeare column's metric.
pub const LOSS: &str = "test_loss";

/// One config's row: both tasks.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub config_id: String,
    pub axis: String,
    /// Layer plans, Shakespeare then recall (they have 6 and 4 blocks).
    pub layers: Vec<String>,
    /// Shakespeare test loss (nats/token).
    pub loss: Option<Stat>,
    /// Per [`RECALL_COLUMNS`]: accuracy (fraction).
    pub recall: Vec<Option<Stat>>,
}

/// One table.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub id: &'static str,
    pub title: &'static str,
    pub note: &'static str,
    pub rows: Vec<Row>,
}

/// (id, title, note, the summary group, configs shown first, configs shown last).
type Spec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

const SPECS: [Spec; 4] = [
    ("ratio", "Attention:Mamba ratio (inter-layer)",
     "All attention and no attention are the baselines. Paper: 1:1 gives the best quality, about 1:5 balances quality and efficiency.",
     "inter-ratio", &["transformer"], &["mamba2"]),
    ("placement", "Placement of the attention layers (inter-layer, same ratio)",
     "Paper: never put attention first; the middle is best.",
     "inter-placement", &[], &[]),
    ("intra", "Intra-layer axes (one change from the reference each)",
     "The first row is the reference (branch norm, subtract, separate projections, 2:2 heads). Paper: per-branch norm matters, scalars do not help, a 1:1 split is best.",
     "intra-axis", &[], &[]),
    ("equivalence", "One model written two ways",
     "Concat with one joint output projection computes the same function as the reference (separate projections, subtract): one model written two ways, trained separately here, so any gap between the two rows is training noise, not architecture.",
     "equivalence", &["intra"], &[]),
];

/// The inter ratio's N of "inter-1toN" (rows of the ratio table in order of N).
fn ratio_n(config_id: &str) -> usize {
    config_id
        .strip_prefix("inter-1to")
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX)
}

/// The row of `config_id` from every task's entry; `None` if the summary has none.
fn row(summary: &[SummaryEntry], config_id: &str) -> Option<Row> {
    let of = |task: &str| {
        summary
            .iter()
            .find(|e| e.task == task && e.config_id == config_id)
    };
    let (text, recall) = (of("shakespeare"), of("recall"));
    let first = text.or(recall)?;
    Some(Row {
        config_id: config_id.to_string(),
        axis: first.axis.clone(),
        layers: [text, recall]
            .iter()
            .flatten()
            .map(|e| e.layers.clone())
            .collect(),
        loss: text.and_then(|e| e.stat(LOSS)),
        recall: RECALL_COLUMNS
            .iter()
            .map(|(m, _, _)| recall.and_then(|e| e.stat(m)))
            .collect(),
    })
}

/// The four tables from the summary (a table whose group has no entry is left out).
pub fn tables(summary: &[SummaryEntry]) -> Vec<Table> {
    SPECS
        .iter()
        .filter_map(|&(id, title, note, group, first, last)| {
            let mut ids: Vec<&str> = Vec::new();
            for e in summary.iter().filter(|e| e.group == group) {
                if !ids.contains(&e.config_id.as_str()) {
                    ids.push(&e.config_id);
                }
            }
            if ids.is_empty() {
                return None;
            }
            if group == "inter-ratio" {
                ids.sort_by_key(|c| ratio_n(c));
            }
            let order = first.iter().copied().chain(ids).chain(last.iter().copied());
            Some(Table {
                id,
                title,
                note,
                rows: order.filter_map(|c| row(summary, c)).collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed() -> Vec<SummaryEntry> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../train/atlas/summary.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn the_committed_summary_gives_four_tables() {
        let t = tables(&committed());
        let ids: Vec<&str> = t.iter().map(|t| t.id).collect();
        assert_eq!(ids, ["ratio", "placement", "intra", "equivalence"]);
        let ratio: Vec<&str> = t[0].rows.iter().map(|r| r.config_id.as_str()).collect();
        assert_eq!(
            ratio,
            [
                "transformer",
                "inter-1to1",
                "inter-1to2",
                "inter-1to3",
                "inter-1to5",
                "mamba2"
            ]
        );
        // inter-1to1: 3 seeds on each task (summary.json)
        let r = &t[0].rows[1];
        assert_eq!(r.loss.unwrap().n, 3);
        assert_eq!(r.recall[0].unwrap().n, 3);
        assert_eq!(r.layers, ["mamama", "mama"]);
        // inter-1to5 was run on Shakespeare only, inter-1to3 on recall only
        assert!(t[0].rows[4].recall.iter().all(Option::is_none));
        assert!(t[0].rows[3].loss.is_none());
        let eq: Vec<&str> = t[3].rows.iter().map(|r| r.config_id.as_str()).collect();
        assert_eq!(eq, ["intra", "intra-concat"]);
        assert_eq!(t[2].rows[0].config_id, "intra");
        // the recall Transformer's 16 pairs at 256 (docs/FINDINGS.md: 92.5 ± 3.4, n = 3)
        let tr = &t[0].rows[0];
        assert_eq!(tr.recall[0].unwrap().text(100.0, 1), "92.5 ± 3.4 (n = 3)");
    }

    #[test]
    fn a_summary_without_groups_gives_no_table() {
        let e: Vec<SummaryEntry> =
            serde_json::from_str(r#"[{"task":"recall","config_id":"x","seeds":[0]}]"#).unwrap();
        assert!(tables(&e).is_empty());
        assert_eq!(ratio_n("inter-1to5"), 5);
        assert_eq!(ratio_n("inter-front"), usize::MAX);
    }
}
