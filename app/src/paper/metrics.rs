//! One typed loader for the zoo's committed metrics: a model's `metrics.json`
//! (`assets/models/<id>/metrics.json`) and a per-seed atlas run
//! (`train/atlas/recall/<family>-s<seed>.json`, served as `atlas/recall/...`). Every field
//! is optional and unknown fields are ignored, so a richer schema (the coming atlas) still
//! parses; what a figure needs and does not find is reported as missing, never invented.
//! Plain Rust (unit-tested natively): no fetching here (`paper::fetch`).

use std::collections::BTreeMap;

use serde::Deserialize;

pub use super::stat::Stat;

/// Cache sizes at one context length, in bytes (f32).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct CacheBytes {
    #[serde(default)]
    pub kv_bytes: Option<u64>,
    #[serde(default)]
    pub state_bytes: Option<u64>,
    #[serde(default)]
    pub total_bytes: Option<u64>,
}

/// A run's test split (docs/METRICS.md, `test`): Shakespeare's loss and loss by
/// position, or recall's accuracy grid.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Test {
    /// Mean cross-entropy (nats/token) on the test plays.
    #[serde(default)]
    pub loss: Option<f64>,
    #[serde(default)]
    pub perplexity: Option<f64>,
    #[serde(default)]
    pub loss_by_position: Option<LossByPosition>,
    /// Recall: `grid[seq_len][n_pairs]`.
    #[serde(flatten)]
    pub recall: RecallGrid,
}

/// Loss by token position on long held-out windows (Fig 3c).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct LossByPosition {
    #[serde(default)]
    pub seq_len: Option<usize>,
    #[serde(default)]
    pub train_len: Option<usize>,
    #[serde(default)]
    pub bucket: Option<usize>,
    #[serde(default)]
    pub windows: Option<usize>,
    /// (first position of the bucket, mean loss)
    #[serde(default)]
    pub buckets: Vec<(usize, f64)>,
    #[serde(default)]
    pub mean_in_train_len: Option<f64>,
    #[serde(default)]
    pub mean_beyond: Option<f64>,
}

/// Recall accuracy, `grid[seq_len][n_pairs]` (fraction; `null` where a cell cannot exist).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct RecallGrid {
    #[serde(default)]
    pub cases: Option<usize>,
    #[serde(default)]
    pub train_len: Option<usize>,
    #[serde(default)]
    pub grid: BTreeMap<String, BTreeMap<String, Option<f64>>>,
}

impl RecallGrid {
    /// Accuracy at `seq_len` tokens and `n_pairs` pairs, if measured.
    pub fn at(&self, seq_len: usize, n_pairs: usize) -> Option<f64> {
        *self
            .grid
            .get(&seq_len.to_string())?
            .get(&n_pairs.to_string())?
    }
}

/// How a run was trained (only what the page shows).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Training {
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub wall_seconds: Option<f64>,
    #[serde(default)]
    pub recipe: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
}

/// One trained run's metrics, from either file kind.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct RunMetrics {
    #[serde(default)]
    pub id: String,
    /// "shakespeare" | "recall" (atlas files omit it: taken from the id's prefix).
    #[serde(default)]
    pub task: Option<String>,
    /// "transformer" | "mamba2" | "inter" | "intra" | "intra-add" | "intra-concat" | ...
    /// (from `config_id`, see [`family_of`]).
    #[serde(default)]
    pub family: Option<String>,
    /// The atlas config (docs/METRICS.md).
    #[serde(default)]
    pub config_id: Option<String>,
    /// A shipped model rewritten from its run (`*-intra-add`): how.
    #[serde(default)]
    pub written_as: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub params: Option<u64>,
    /// By context length ("1024", "8192").
    #[serde(default)]
    pub cache: BTreeMap<String, CacheBytes>,
    #[serde(default)]
    pub test: Option<Test>,
    #[serde(default)]
    pub training: Option<Training>,
}

impl RunMetrics {
    /// Parses one metrics file; `source` names it in the error.
    pub fn parse(source: &str, bytes: &[u8]) -> Result<Self, String> {
        let mut m: RunMetrics = serde_json::from_slice(bytes)
            .map_err(|e| format!("{source}: not metrics JSON: {e}"))?;
        if m.task.is_none() {
            m.task = m.id.split('-').next().map(str::to_string);
        }
        if m.seed.is_none() {
            m.seed = m.training.as_ref().and_then(|t| t.seed);
        }
        if m.family.is_none() {
            m.family = m
                .config_id
                .as_deref()
                .map(|c| family_of(c, m.written_as.as_deref()).to_string());
        }
        Ok(m)
    }

    /// The recall test grid, if this is a recall run.
    pub fn recall_grid(&self) -> Option<&RecallGrid> {
        let t = self.test.as_ref()?;
        (!t.recall.grid.is_empty()).then_some(&t.recall)
    }

    /// Test loss (language models; the name is the figures' "quality").
    pub fn val_loss(&self) -> Option<f64> {
        self.test.as_ref()?.loss
    }

    /// Loss by token position on 1024-token test windows.
    pub fn loss_by_position(&self) -> Option<&LossByPosition> {
        self.test.as_ref()?.loss_by_position.as_ref()
    }

    /// Total cache bytes at `context` tokens, if recorded.
    pub fn cache_total(&self, context: usize) -> Option<u64> {
        self.cache.get(&context.to_string())?.total_bytes
    }

    fn is(&self, task: &str, family: &str) -> bool {
        self.task.as_deref() == Some(task) && self.family.as_deref() == Some(family)
    }
}

/// Families in the order the page lists them, with their names.
pub const FAMILIES: [(&str, &str); 6] = [
    ("transformer", "Transformer"),
    ("mamba2", "Mamba-2"),
    ("inter", "inter"),
    ("intra", "intra (subtract)"),
    ("intra-add", "intra (add)"),
    ("intra-concat", "intra (concat)"),
];

/// The page's family of an atlas config: the zoo's inter model is `inter-1to2` on
/// Shakespeare (6 blocks) and `inter-1to3` on recall (4 blocks); a shipped model written
/// as add (`written_as` "add: ...") is `intra-add`; every other config is its own family.
pub fn family_of<'a>(config_id: &'a str, written_as: Option<&str>) -> &'a str {
    match (config_id, written_as) {
        ("intra", Some(w)) if w.starts_with("add") => "intra-add",
        ("inter-1to2" | "inter-1to3", _) => "inter",
        (c, _) => c,
    }
}

/// Every run the page has read: the bundled models and the atlas seeds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Zoo {
    /// Bundled models, by model id.
    pub models: Vec<(String, RunMetrics)>,
    /// Atlas runs (several seeds per family).
    pub atlas: Vec<RunMetrics>,
    /// `atlas/summary.json`: every config's metrics over seeds (the ablation tables).
    pub summary: Vec<super::ablations::SummaryEntry>,
}

impl Zoo {
    /// The bundled model `id`'s metrics.
    pub fn model(&self, id: &str) -> Option<&RunMetrics> {
        self.models.iter().find(|(k, _)| k == id).map(|(_, m)| m)
    }

    /// The runs of one task and family: the atlas seeds when there are any, else the
    /// bundled model (one seed). Duplicated ids (a bundled model that is also an atlas
    /// seed) count once.
    pub fn runs(&self, task: &str, family: &str) -> Vec<&RunMetrics> {
        let atlas: Vec<&RunMetrics> = self.atlas.iter().filter(|m| m.is(task, family)).collect();
        if !atlas.is_empty() {
            return atlas;
        }
        self.models
            .iter()
            .map(|(_, m)| m)
            .filter(|m| m.is(task, family))
            .collect()
    }

    /// `value` over the runs of a task and family.
    pub fn stat(
        &self,
        task: &str,
        family: &str,
        value: impl Fn(&RunMetrics) -> Option<f64>,
    ) -> Option<Stat> {
        let v: Vec<f64> = self
            .runs(task, family)
            .into_iter()
            .filter_map(value)
            .collect();
        Stat::of(&v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // atlas-run/1 files (docs/METRICS.md), trimmed, with a field this page does not know
    const MODEL: &str = r#"{"schema":"atlas-run/1","id":"shakespeare-inter-1to2-s0","task":"shakespeare",
        "config_id":"inter-1to2","params":1648000,"cache":{"8192":{"kv_bytes":1,"state_bytes":2,"total_bytes":3}},
        "training":{"seed":0,"new_field":[1,2]},"seed":0,
        "test":{"loss":3.618,"perplexity":37.3,
        "loss_by_position":{"seq_len":1024,"train_len":256,"bucket":32,"buckets":[[0,3.8],[32,3.6]]}},
        "something_new":{"x":1}}"#;
    const ATLAS: &str = r#"{"id":"recall-inter-1to3-s2","task":"recall","config_id":"inter-1to3","seed":2,
        "test":{"cases":512,"grid":{"256":{"16":0.97,"64":null}}}}"#;

    #[test]
    fn parses_both_kinds_and_ignores_new_fields() {
        let m = RunMetrics::parse("m", MODEL.as_bytes()).unwrap();
        assert_eq!(m.val_loss(), Some(3.618));
        assert_eq!(m.cache_total(8192), Some(3));
        assert_eq!(m.seed, Some(0));
        assert_eq!(m.loss_by_position().unwrap().buckets[1], (32, 3.6));
        assert_eq!(m.family.as_deref(), Some("inter"));
        assert_eq!(m.recall_grid(), None);
        let a = RunMetrics::parse("a", ATLAS.as_bytes()).unwrap();
        assert_eq!(a.task.as_deref(), Some("recall"));
        let g = a.recall_grid().unwrap();
        assert_eq!(
            (g.at(256, 16), g.at(256, 64), g.at(512, 4)),
            (Some(0.97), None, None)
        );
        assert_eq!(family_of("intra", Some("add: negated")), "intra-add");
        assert_eq!(family_of("inter-front", None), "inter-front");
        assert!(RunMetrics::parse("bad.json", b"[1,")
            .unwrap_err()
            .contains("bad.json"));
    }

    #[test]
    fn stats_over_seeds() {
        let s = Stat::of(&[0.975, 1.0, 0.973]).unwrap();
        assert!((s.mean - 0.98267).abs() < 1e-4);
        assert!((s.sd.unwrap() - 0.01504).abs() < 1e-4);
        assert_eq!(s.text(100.0, 1), "98.3 ± 1.5 (n = 3)");
        assert_eq!(Stat::of(&[2.0]).unwrap().text(1.0, 2), "2.00 (n = 1)");
        assert_eq!(Stat::of(&[f64::NAN]), None);
        let zoo = Zoo {
            models: vec![(
                "x".into(),
                RunMetrics::parse("m", MODEL.as_bytes()).unwrap(),
            )],
            atlas: vec![RunMetrics::parse("a", ATLAS.as_bytes()).unwrap()],
            summary: Vec::new(),
        };
        let acc = |m: &RunMetrics| m.recall_grid()?.at(256, 16);
        assert_eq!(zoo.stat("recall", "inter", acc).unwrap().n, 1);
        assert_eq!(
            zoo.stat("shakespeare", "inter", |m| m.val_loss())
                .unwrap()
                .mean,
            3.618
        );
        assert_eq!(zoo.stat("recall", "mamba2", acc), None);
    }
}
