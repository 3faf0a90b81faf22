//! The Interventions panel's results: recall without and with the set (accuracy and the
//! first case's answers), the loss over the held-out passage (both curves, the means
//! before and past the training length), and the prompt's maps side by side with their
//! difference (after - before, on a diverging scale: white where nothing changed).

use leptos::prelude::*;

use crate::analysis::{robust_max, LayerView};
use crate::charts::canvas::{Heatmap, Legend};
use crate::charts::colormap::ColorScale;
use crate::charts::heatmap::Matrix;
use crate::charts::plot::Series;
use crate::charts::scale::Quantity;
use crate::charts::svg::{color, LineChart};
use crate::paper::figures::buckets;
use crate::state::intervene_run::{
    difference, layer_changes, LossAb, MapsAb, RecallAb, RecallRun, RECALL_LEN, RECALL_PAIRS,
    RECALL_SEED,
};
use crate::state::{InterveneState, Outcome, Ui};

/// A heatmap's side (CSS pixels at zoom 1).
const SIDE: u32 = 200;

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.3}"))
}

fn pct(r: &RecallRun) -> String {
    format!("{:.1}% ({} of {})", r.percent, r.right, r.asked)
}

/// An outcome's view, its failure as a message.
fn outcome<T: 'static>(o: Outcome<T>, f: impl FnOnce(&T) -> AnyView) -> Option<AnyView> {
    match o? {
        Ok(v) => Some(f(&v)),
        Err(e) => Some(view! { <p class="hint" data-testid="iv-note">{e}</p> }.into_any()),
    }
}

fn recall_view(r: &RecallAb) -> AnyView {
    let token = |t: Option<u32>| t.map_or_else(|| "?".into(), |t| t.to_string());
    let rows = r
        .before
        .answers
        .iter()
        .zip(&r.after.answers)
        .map(|(b, a)| {
            let changed = b.got != a.got;
            view! { <tr class:iv-changed=changed><td class="num">{b.key}</td><td class="num">{b.want}</td>
                <td class="num">{token(b.got)}</td><td class="num">{token(a.got)}</td></tr> }
        })
        .collect_view();
    view! {
        <section class="iv-part" id="iv-recall">
            <h4>"Recall"</h4>
            <p class="hint">{format!("The cases of `hybrid recall --cases {} --pairs {RECALL_PAIRS} --len {RECALL_LEN} --seed {RECALL_SEED}`, on the {} engine.", r.cases, r.engine)}</p>
            <table><thead><tr><th>"recall"</th><th>"without"</th><th>"with the set"</th></tr></thead>
                <tbody><tr><th scope="row">"accuracy"</th><td class="num" id="iv-acc-before">{pct(&r.before)}</td>
                    <td class="num" id="iv-acc-after">{pct(&r.after)}</td></tr></tbody></table>
            <table class="iv-answers"><caption>"The first case's answers (token ids; changed rows marked)"</caption>
                <thead><tr><th>"query key"</th><th>"stored value"</th><th>"answer without"</th><th>"answer with"</th></tr></thead>
                <tbody>{rows}</tbody></table>
        </section>
    }
    .into_any()
}

fn loss_view(l: &LossAb, zoom: f64) -> AnyView {
    let series = [("without", &l.before), ("with the set", &l.after)]
        .iter()
        .enumerate()
        .map(|(i, (name, losses))| Series {
            name: name.to_string(),
            color: color(i),
            points: buckets(losses, 32)
                .into_iter()
                .map(|(p, v)| (p as f64, v))
                .collect(),
            analytic: false,
        })
        .collect::<Vec<_>>();
    let ((b0, b1), (a0, a1)) = (l.means(&l.before), l.means(&l.after));
    let change = |a: Option<f64>, b: Option<f64>| {
        a.zip(b)
            .map(|(a, b)| format!("{:+.3}", b - a))
            .unwrap_or_default()
    };
    let t = l.train_len.unwrap_or(l.before.len());
    view! {
        <section class="iv-part" id="iv-loss">
            <h4>"Loss over the held-out passage"</h4>
            <p class="hint">{format!("{} predicted tokens, token by token on the {} engine; trained on {t} tokens.", l.before.len(), l.engine)}</p>
            <LineChart series=series x=(Quantity::Tokens, "position in the passage (tokens)")
                y=(Quantity::Nats, "loss, mean of 32 positions") log_x=false log_y=false zoom=zoom id="chart-iv-loss".into() />
            <table><thead><tr><th>"mean loss (nats)"</th><th>{format!("0-{}", t.saturating_sub(1))}</th><th>{format!("{t}-{}", l.before.len())}</th></tr></thead>
                <tbody>
                    <tr><th scope="row">"without"</th><td class="num">{num(b0)}</td><td class="num">{num(b1)}</td></tr>
                    <tr><th scope="row">"with the set"</th><td class="num">{num(a0)}</td><td class="num">{num(a1)}</td></tr>
                    <tr><th scope="row">"change"</th><td class="num">{change(b0, a0)}</td><td class="num">{change(b1, a1)}</td></tr>
                </tbody></table>
        </section>
    }
    .into_any()
}

/// The maps of one layer worth comparing: (what, without, with, scale).
fn layer_maps(
    b: &LayerView,
    a: &LayerView,
    head: usize,
) -> Vec<(&'static str, Matrix, Matrix, ColorScale)> {
    let mut out = Vec::new();
    let pick = |v: &[Matrix]| v.get(head.min(v.len().saturating_sub(1))).cloned();
    if let (Some(x), Some(y)) = (pick(&b.attn), pick(&a.attn)) {
        out.push((
            "attention weights",
            x,
            y,
            ColorScale::Sequential { max: 1.0 },
        ));
    }
    if let (Some(x), Some(y)) = (pick(&b.implicit), pick(&a.implicit)) {
        let max = robust_max(x.values.iter().chain(&y.values), 0.98).max(1e-6);
        out.push((
            "Mamba's implicit attention",
            x,
            y,
            ColorScale::Diverging { max },
        ));
    }
    if let (Some(x), Some(y)) = (b.state_norm.clone(), a.state_norm.clone()) {
        let max = x.max_abs().max(y.max_abs()).max(1e-6);
        out.push((
            "state norm per head (rows) and token",
            x,
            y,
            ColorScale::Sequential { max },
        ));
    }
    out
}

fn maps_view(m: &MapsAb, layer: RwSignal<usize>, head: RwSignal<usize>, zoom: f64) -> AnyView {
    let changes = layer_changes(m);
    let picker = changes
        .iter()
        .enumerate()
        .map(|(i, c)| view! {
            <button class="layer-pick" aria-pressed=move || (layer.get() == i).to_string() on:click=move |_| layer.set(i)>
                {format!("L{i} ")}<span class="layer-kinds">{format!("Δ {c:.3}")}</span></button>
        })
        .collect_view();
    let (before, after) = (m.before.clone(), m.after.clone());
    let shown = move || {
        let i = layer.get();
        let (Some(b), Some(a)) = (before.layers.get(i), after.layers.get(i)) else {
            return view! { <p class="hint">"No such layer."</p> }.into_any();
        };
        let rows = layer_maps(b, a, head.get()).into_iter().map(|(what, x, y, scale)| {
            let d = difference(&x, &y);
            let dmax = d.as_ref().map_or(0.0, Matrix::max_abs).max(1e-6);
            let dscale = ColorScale::Diverging { max: dmax };
            let labels = before.labels.clone();
            let square = x.rows == x.cols;
            let map = move |m: Matrix, s: ColorScale, tag: &str| {
                let label = format!("{what}, L{i}, {tag}");
                if square {
                    view! { <Heatmap matrix=m scale=s width=SIDE height=SIDE zoom=zoom labels=labels.clone() label=label /> }.into_any()
                } else {
                    view! { <Heatmap matrix=m scale=s width=SIDE height=SIDE / 2 zoom=zoom label=label /> }.into_any()
                }
            };
            view! {
                <div class="iv-maps">
                    <h5>{what}</h5>
                    <div class="iv-map">{map(x, scale, "without")}<span>"without"</span></div>
                    <div class="iv-map">{map(y, scale, "with the set")}<span>"with the set"</span></div>
                    <div class="iv-map iv-diff">{d.map(|d| map(d, dscale, "difference"))}<span>"difference (with - without)"</span></div>
                    <Legend scale=dscale title="difference".to_string() />
                </div>
            }
        }).collect_view();
        view! { {rows} }.into_any()
    };
    view! {
        <section class="iv-part" id="iv-maps">
            <h4>"The prompt's maps"</h4>
            <p class="hint">{format!("Head {} of each map (the Attention view's head), on the {} engine. Δ: the largest change of any map of the layer.", head.get_untracked() + 1, m.after.engine)}</p>
            <div class="layer-picker" role="group" aria-label="Layer to compare">{picker}</div>
            {shown}
        </section>
    }
    .into_any()
}

/// The results of the last set applied.
#[component]
pub fn Results(ui: Ui, iv: InterveneState) -> impl IntoView {
    let layer = RwSignal::new(0usize);
    let head = ui.head;
    let title = move || {
        iv.applied.get().map(|(model, set)| {
            let set = if set.is_empty() { "the empty set (the model as trained)".to_string() } else { set };
            view! { <p class="note" id="iv-applied">{format!("{model}: without and with {set}")}</p> }
        })
    };
    view! {
        <div class="iv-results" aria-live="polite">
            {title}
            {move || outcome(iv.recall.get(), recall_view)}
            {move || outcome(iv.loss.get(), |l| loss_view(l, ui.zoom()))}
            {move || outcome(iv.maps.get(), |m| maps_view(m, layer, head, ui.zoom()))}
        </div>
    }
}
