//! The findings read from the atlas's ablation runs (`atlas/summary.json`, kept in
//! [`Zoo::summary`]): the attention:Mamba ratio and the placement of the attention layers.

use super::{Finding, Rows, Verdict, RECALL_THREE};
use crate::paper::ablations::SummaryEntry;
use crate::paper::metrics::{Stat, Zoo};
use crate::paper::target::Target;

/// `metric` of `task` over seeds for each (config, name), from the summary.
fn rows(zoo: &Zoo, task: &str, metric: &str, configs: &[(&str, &str)]) -> Rows {
    configs
        .iter()
        .map(|&(config, name)| {
            let entry: Option<&SummaryEntry> = zoo
                .summary
                .iter()
                .find(|e| e.task == task && e.config_id == config);
            (name.to_string(), entry.and_then(|e| e.stat(metric)))
        })
        .collect()
}

/// The seed noise of a difference of two means: both sds combined.
fn noise(a: &Stat, b: &Stat) -> f64 {
    (a.sd.unwrap_or(0.0).powi(2) + b.sd.unwrap_or(0.0).powi(2)).sqrt()
}

const RATIOS: [(&str, &str); 5] = [
    ("transformer", "all attention"),
    ("inter-1to1", "1:1"),
    ("inter-1to2", "1:2"),
    ("inter-1to5", "1:5"),
    ("mamba2", "no attention"),
];
const PLACEMENTS: [(&str, &str); 3] = [
    ("inter-front", "attention first"),
    ("inter-middle", "attention in the middle"),
    ("inter-back", "attention last"),
];

fn ratio_rows(zoo: &Zoo) -> Rows {
    rows(zoo, "shakespeare", "test_loss", &RATIOS)
}

fn placement_rows(zoo: &Zoo) -> Rows {
    rows(zoo, "recall", "recall_16@256", &PLACEMENTS)
}

fn ratio_verdict(zoo: &Zoo) -> Verdict {
    let r = ratio_rows(zoo);
    // the inter rows (between all attention and no attention)
    let hybrids: Vec<(&str, Stat)> = r
        .iter()
        .filter(|(n, _)| n.contains(':'))
        .filter_map(|(n, s)| Some((n.as_str(), (*s)?)))
        .collect();
    let Some(&(best, b)) = hybrids.iter().min_by(|x, y| x.1.mean.total_cmp(&y.1.mean)) else {
        return Verdict::Missing("test_loss of the inter-1toN runs in atlas/summary.json".into());
    };
    let others: Vec<String> = hybrids
        .iter()
        .filter(|(n, _)| *n != best)
        .map(|(n, s)| format!("{n} +{:.3} (noise {:.3})", s.mean - b.mean, noise(s, &b)))
        .collect();
    let beyond = hybrids
        .iter()
        .filter(|(n, _)| *n != best)
        .all(|(_, s)| s.mean - b.mean > noise(s, &b));
    let text = format!(
        "lowest test loss at {best} ({:.3}); the others: {}",
        b.mean,
        others.join(", ")
    );
    match (best, beyond) {
        ("1:1", true) => Verdict::Agrees(text),
        ("1:1", false) => Verdict::Differs(format!(
            "{text}: 1:1 is best, but not beyond the seed spread of every other ratio"
        )),
        _ => Verdict::Differs(text),
    }
}

fn placement_verdict(zoo: &Zoo) -> Verdict {
    let stats: Vec<Option<Stat>> = placement_rows(zoo).into_iter().map(|(_, s)| s).collect();
    let &[Some(front), Some(middle), Some(back)] = &stats[..] else {
        return Verdict::Missing(
            "recall_16@256 of inter-front/middle/back in atlas/summary.json".into(),
        );
    };
    let text = format!(
        "16 pairs at 256 tokens: first {:.1}%, middle {:.1}%, last {:.1}%",
        front.mean * 100.0,
        middle.mean * 100.0,
        back.mean * 100.0
    );
    if middle.mean - front.mean > noise(&middle, &front) && middle.mean >= back.mean {
        Verdict::Agrees(format!(
            "{text}: attention first recalls like Mamba-2 alone"
        ))
    } else {
        Verdict::Differs(text)
    }
}

/// The atlas's findings.
pub fn all() -> Vec<Finding> {
    vec![
        Finding {
            id: "ratio",
            title: "Attention:Mamba ratio: 1:1 gives the best quality",
            paper: "1:1 is best for quality; about 1:5 balances quality and efficiency",
            zoo: ratio_rows,
            unit: "Shakespeare test loss (nats), atlas",
            scale: 1.0,
            decimals: 3,
            verdict: ratio_verdict,
            show: Target::figure("ablation", &RECALL_THREE),
        },
        Finding {
            id: "placement",
            title: "Never put attention first; the middle is best",
            paper: "attention in the first layers is worst; middle placement is best (1B at 1:5: layers 4 and 8 of 13)",
            zoo: placement_rows,
            unit: "recall accuracy, 16 pairs at 256 tokens (%), atlas",
            scale: 100.0,
            decimals: 1,
            verdict: placement_verdict,
            show: Target::figure("ablation", &RECALL_THREE),
        },
    ]
}
