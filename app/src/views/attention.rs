//! Attention: where each token looks. Softmax attention maps per head, Mamba's implicit
//! attention drawn the same way, and the intra blocks' per-token branch contributions.

use leptos::prelude::*;

use crate::analysis::{self, Analysis, LayerView, MAX_PROBE_TOKENS};
use crate::charts::canvas::{Heatmap, Hover, Legend};
use crate::charts::colormap::ColorScale;
use crate::charts::heatmap::Matrix;
use crate::charts::scale::fmt_num;
use crate::engine::LayerKind;
use crate::state::{AnalysisState, Maps, Models, Slot};
use crate::views::common::{analysis_body, Caption};

const BIG: u32 = 420;
const SMALL: u32 = 64;

/// A grid of all heads (small, clickable) and the chosen head large, with hover text.
#[component]
fn HeadMaps(
    maps: Vec<Matrix>,
    labels: Vec<String>,
    scale: ColorScale,
    what: &'static str,
    test_id: String,
) -> impl IntoView {
    let chosen = RwSignal::new(0usize);
    let hover = RwSignal::new(None::<Hover>);
    let small = maps
        .iter()
        .enumerate()
        .map(|(h, m)| {
            view! {
                <div class="head" class:chosen=move || chosen.get() == h>
                    <Heatmap matrix=m.clone() scale=scale width=SMALL height=SMALL
                        label=format!("{what}, head {}", h + 1)
                        on_click=Callback::new(move |_| chosen.set(h)) />
                    <span>{format!("h{}", h + 1)}</span>
                </div>
            }
        })
        .collect_view();
    let labels2 = labels.clone();
    let big = move || {
        let h = chosen.get();
        maps.get(h).cloned().map(|m| {
            view! {
                <Heatmap matrix=m scale=scale width=BIG height=BIG labels=labels.clone()
                    class="big"
                    label=format!("{what}, head {}: rows are query tokens, columns are key tokens", h + 1)
                    on_hover=Callback::new(move |c| hover.set(c)) />
            }
        })
    };
    let hover_text = move || match hover.get() {
        Some(Hover { row, col, value }) => format!(
            "query {:?} (#{}) -> key {:?} (#{}): {}",
            labels2.get(row).cloned().unwrap_or_default(),
            row + 1,
            labels2.get(col).cloned().unwrap_or_default(),
            col + 1,
            fmt_num(value as f64)
        ),
        None => "Hover a cell: query token -> key token: weight".into(),
    };
    view! {
        <div class="headmaps" data-testid=test_id>
            <div class="head-grid" role="group" aria-label=format!("{what}: all heads, pick one")>{small}</div>
            {big}
            <p class="hover" aria-live="polite">{hover_text}</p>
        </div>
    }
}

/// Attention share per token as a strip of bars (intra blocks).
#[component]
pub fn BranchStrip(branches: Vec<(f32, f32)>, labels: Vec<String>) -> impl IntoView {
    let n = branches.len().max(1);
    let w = 12.0;
    let h = 60.0;
    let bars = branches
        .iter()
        .enumerate()
        .map(|(i, &(a, m))| {
            let total = (a + m).max(1e-12);
            let share = (a / total) as f64;
            let label = labels.get(i).cloned().unwrap_or_default();
            view! {
                <g>
                    <title>{format!("{label}: attention {} vs Mamba {} ({:.0}% attention)", fmt_num(a as f64), fmt_num(m as f64), share * 100.0)}</title>
                    <rect x=i as f64 * w y=0 width=w - 1.0 height=h class="bar-mamba" />
                    <rect x=i as f64 * w y=h * (1.0 - share) width=w - 1.0 height=h * share class="bar-attn" />
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="strip" data-testid="branch-strip" data-tokens=branches.len()>
            <svg viewBox=format!("0 0 {} {h}", n as f64 * w) width=n as f64 * w height=h role="img"
                aria-label="Share of the attention branch in each token's block output">
                {bars}
            </svg>
            <figcaption class="hint">
                <span class="key key-attn"></span>"attention branch "
                <span class="key key-mamba"></span>"Mamba branch (bar height: share of the output norm; hover for numbers)"
            </figcaption>
        </figure>
    }
}

fn kind_name(k: Option<LayerKind>) -> &'static str {
    match k {
        Some(LayerKind::Attention) => "attention",
        Some(LayerKind::Mamba) => "Mamba-2",
        Some(LayerKind::Intra) => "intra (attention + Mamba-2)",
        None => "?",
    }
}

fn layer_block(
    i: usize,
    l: &LayerView,
    a: &Analysis,
    attn_scale: ColorScale,
    imp_scale: ColorScale,
    sfx: &str,
) -> impl IntoView {
    let attn = (!l.attn.is_empty()).then(|| {
        view! {
            <div>
                <h5>"Attention weights"</h5>
                <HeadMaps maps=l.attn.clone() labels=a.labels.clone() scale=attn_scale
                    what="attention weights" test_id=format!("attn{sfx}-{i}") />
            </div>
        }
    });
    let implicit = (!l.implicit.is_empty()).then(|| {
        view! {
            <div>
                <h5>"Mamba's implicit attention"</h5>
                <HeadMaps maps=l.implicit.clone() labels=a.labels.clone() scale=imp_scale
                    what="Mamba implicit attention" test_id=format!("implicit{sfx}-{i}") />
            </div>
        }
    });
    let strip = (!l.branches.is_empty())
        .then(|| view! { <BranchStrip branches=l.branches.clone() labels=a.labels.clone() /> });
    view! {
        <div class="layer">
            <h4>{format!("Layer {} · {}", i + 1, kind_name(l.kind))}</h4>
            <div class="layer-maps">{attn}{implicit}</div>
            {strip}
        </div>
    }
}

/// One model's column of layers.
fn model_column(
    models: Models,
    slot: Slot,
    maps: Maps,
    scales: (ColorScale, ColorScale),
) -> impl IntoView {
    let name = models.slot_name(slot);
    let sfx = slot.suffix();
    let body = analysis_body(maps, "No maps", move |a| {
        let cut = a.cut_from.map(|n| {
            format!(" The prompt has {n} tokens; the maps show the first {MAX_PROBE_TOKENS}.")
        });
        let note = format!(
            "Computed by the {} engine.{}",
            a.engine,
            cut.unwrap_or_default()
        );
        let layers = a
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| layer_block(i, l, &a, scales.0, scales.1, &sfx))
            .collect_view();
        view! { <p class="note">{note}</p> {layers} }
    });
    view! {
        <div class="column">
            <h3 class="model-name">{name}</h3>
            {body}
        </div>
    }
}

/// The Attention view: the maps of every model, on shared color scales. A
/// [`Transition`] keeps the maps drawn while the prompt is analyzed again.
#[component]
pub fn AttentionView(models: Models, analysis: AnalysisState) -> impl IntoView {
    let content = move || {
        let slots = models.active();
        let maps: Vec<Maps> = slots.iter().map(|s| analysis.get(s.index)).collect();
        let present: Vec<&Analysis> = maps
            .iter()
            .filter_map(|m| m.as_ref()?.as_ref().ok())
            .map(|a| a.as_ref())
            .collect();
        let (imp_max, _, _) = analysis::shared_maxima(&present);
        let attn_scale = ColorScale::Sequential { max: 1.0 };
        let imp_scale = ColorScale::Diverging {
            max: imp_max.max(1e-6),
        };
        let columns = slots
            .into_iter()
            .zip(maps)
            .map(|(s, m)| model_column(models, s, m, (attn_scale, imp_scale)))
            .collect_view();
        view! {
            <div class="legends">
                <Legend scale=attn_scale title="Attention weight (0 to 1)".into() />
                <Legend scale=imp_scale title="Implicit attention (signed; same scale for all models; beyond ± the ends saturate)".into() />
            </div>
            <div class="columns">{columns}</div>
        }
    };
    view! {
        <section class="view" id="view-attention" aria-labelledby="tab-attention">
            <Caption text="Mamba's implicit attention stays near the diagonal: it forgets with distance. Attention can look anywhere before the current token." />
            <p class="hint">"Rows are the token doing the looking (query), columns the tokens it looks at (keys). Click a small map to enlarge that head."</p>
            <Transition fallback=|| view! { <p class="hint">"Analyzing the prompt…"</p> }>{content}</Transition>
        </section>
    }
}
