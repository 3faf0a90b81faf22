//! The ablation figures of the Findings view, from committed metrics only: the families
//! table (recall accuracy per family over the atlas seeds) and the atlas's ratio,
//! placement, intra-axis and equivalence tables (`paper::ablations`, from
//! `atlas/summary.json`), each cell mean ± sd over seeds with an error bar.

use leptos::prelude::*;

use crate::paper::ablations::{self, Row, Table, RECALL_COLUMNS};
use crate::paper::metrics::Stat;
use crate::paper::tables::{self, ABLATION_CELLS};
use crate::paper::PaperState;

/// An error bar: the mean as a bar from `lo`, the ± sd as a line, on [lo, hi].
fn errbar(s: &Stat, lo: f64, hi: f64) -> impl IntoView {
    let span = (hi - lo).max(1e-9);
    let x = |v: f64| ((v - lo) / span * 100.0).clamp(0.0, 100.0);
    let sd = s.sd.unwrap_or(0.0);
    view! {
        <svg class="errbar" viewBox="0 0 100 8" aria-hidden="true">
            <rect x="0" y="2" width=x(s.mean) height="4" />
            <line x1=x(s.mean - sd) x2=x(s.mean + sd) y1="4" y2="4" />
        </svg>
    }
}

/// A cell: "mean ± sd (n = k)" (values times `scale`) with its bar, or "–".
fn cell(
    metric: &'static str,
    s: Option<Stat>,
    scale: f64,
    decimals: usize,
    lo: f64,
    hi: f64,
) -> impl IntoView {
    match s {
        Some(s) => view! {
            <td class="num" data-metric=metric data-mean=s.mean data-n=s.n>
                {s.text(scale, decimals)}{errbar(&s, lo, hi)}
            </td>
        }
        .into_any(),
        None => view! { <td class="num" data-metric=metric>"–"</td> }.into_any(),
    }
}

/// The loss axis of a table's bars: its rows' mean ± sd, padded.
fn loss_range(rows: &[Row]) -> (f64, f64) {
    let (lo, hi) = rows
        .iter()
        .filter_map(|r| r.loss)
        .fold((f64::MAX, f64::MIN), |(lo, hi), s| {
            let sd = s.sd.unwrap_or(0.0);
            (lo.min(s.mean - sd), hi.max(s.mean + sd))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.5).max(0.01);
    (lo - pad, hi + pad)
}

fn atlas_table(t: Table) -> impl IntoView {
    let (lo, hi) = loss_range(&t.rows);
    let heads = RECALL_COLUMNS
        .iter()
        .map(|(_, l, p)| view! { <th scope="col">{format!("recall {p} pairs @ {l}")}</th> })
        .collect_view();
    let rows = t
        .rows
        .into_iter()
        .map(|r| {
            let recall = RECALL_COLUMNS
                .iter()
                .zip(r.recall)
                .map(|((m, _, _), s)| cell(m, s, 100.0, 1, 0.0, 1.0))
                .collect_view();
            view! {
                <tr data-config=r.config_id.clone()>
                    <th scope="row">{r.config_id.clone()}<span class="axis">{r.axis}</span></th>
                    <td><code>{r.layers.join(" / ")}</code></td>
                    {cell(ablations::LOSS, r.loss, 1.0, 3, lo, hi)}
                    {recall}
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="ablation" id=format!("ablation-{}", t.id)>
            <caption><strong>{t.title}</strong>" · "{t.note}</caption>
            <thead><tr><th scope="col">"config"</th><th scope="col">"layers (Shakespeare / recall)"</th>
                <th scope="col">"Shakespeare test loss"</th>{heads}</tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

fn families_table(paper: PaperState) -> impl IntoView {
    move || {
        paper.zoo().map(|z| {
            let heads = ABLATION_CELLS.iter().map(|(l, p)| view! { <th>{format!("{p} pairs @ {l}")}</th> }).collect_view();
            let rows = tables::ablation(&z).into_iter().map(|r| {
                let tds = r.cells.iter().map(|&s| cell("recall", s, 100.0, 1, 0.0, 1.0)).collect_view();
                view! { <tr data-family=r.family><th scope="row">{r.name}</th>{tds}
                    <td class="num">{r.val_loss.map(|s| s.text(1.0, 3)).unwrap_or_else(|| "–".into())}</td></tr> }
            }).collect_view();
            view! { <table id="ablation-table"><caption>"Families: recall accuracy (%), mean ± sd over seeds (n), bars: mean with ± sd; last column: Shakespeare test loss"</caption>
                <thead><tr><th>"family"</th>{heads}<th>"test loss"</th></tr></thead><tbody>{rows}</tbody></table> }
        })
    }
}

/// The ablation figure: families, then the atlas's tables.
pub fn ablation(paper: PaperState) -> impl IntoView {
    let atlas = move || {
        paper.zoo().map(|z| {
            let t = ablations::tables(&z.summary);
            if t.is_empty() {
                return view! { <p class="error">"atlas/summary.json has no ablation groups: the tables cannot be drawn."</p> }.into_any();
            }
            t.into_iter().map(atlas_table).collect_view().into_any()
        })
    };
    view! {
        <section class="figure" id="fig-ablation">
            <h3>"Ablations, with error bars"</h3>
            <p class="hint">"From the committed atlas (train/atlas/summary.json): mean ± sd over the seeds, n in each cell (Shakespeare runs of 500 steps, recall runs of 1,500 steps); recall accuracy in %. Bars: the mean, with ± sd as a line."</p>
            {families_table(paper)}
            {atlas}
            <p class="hint">"Paper: intra with subtract or concat fusion and per-branch norm is best; ratio 1:1 best quality, ~1:5 balances; middle placement best. At this size, differences smaller than the sd are noise."</p>
        </section>
    }
}
