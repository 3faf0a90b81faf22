//! Attention: where each token looks. Softmax attention maps per head, Mamba's implicit
//! attention drawn the same way, and the intra blocks' per-token branch contributions.

use leptos::prelude::*;

use crate::analysis::{self, Analysis, LayerView, MAX_PROBE_TOKENS};
use crate::charts::canvas::{label_room, Heatmap, Hover, Legend};
use crate::charts::colormap::ColorScale;
use crate::charts::heatmap::Matrix;
use crate::charts::scale::fmt_num;
use crate::engine::LayerKind;
use crate::state::{AnalysisState, Maps, Models, Slot, Ui};
use crate::views::common::{analysis_body, map_scale, Caption, ScaleChoice};

/// The enlarged map's side at most (CSS pixels at zoom 1); smaller for short prompts.
const BIG: u32 = 440;
const SMALL: u32 = 56;

/// How a layer is drawn: the view's shared scales, per-map scales or not, the zoom.
#[derive(Clone, Copy)]
struct Drawing {
    attn: ColorScale,
    implicit: ColorScale,
    per_map: bool,
    zoom: f64,
    head: RwSignal<usize>,
}

/// A grid of all heads (small, clickable) and the chosen head large, with its color
/// legend and hover text. `per_map`: each map on its own scale instead of `shared`.
#[component]
fn HeadMaps(
    maps: Vec<Matrix>,
    labels: Vec<String>,
    shared: ColorScale,
    per_map: bool,
    what: &'static str,
    test_id: String,
    zoom: f64,
    /// The chosen head (`Ui::head`, in the link), clamped to this layer's heads.
    head: RwSignal<usize>,
) -> impl IntoView {
    let last = maps.len().saturating_sub(1);
    let chosen = move || head.get().min(last);
    let hover = RwSignal::new(None::<Hover>);
    let small = maps
        .iter()
        .enumerate()
        .map(|(h, m)| {
            view! {
                <div class="head" class:chosen=move || chosen() == h>
                    <Heatmap matrix=m.clone() scale=map_scale(shared, m, per_map) width=SMALL height=SMALL
                        zoom=zoom label=format!("{what}, head {}", h + 1)
                        on_click=Callback::new(move |_| head.set(h)) />
                    <span>{format!("h{}", h + 1)}</span>
                </div>
            }
        })
        .collect_view();
    let labels2 = labels.clone();
    let big = move || {
        let h = chosen();
        maps.get(h).cloned().map(|m| {
            let scale = map_scale(shared, &m, per_map);
            let side = BIG.min(label_room() + m.cols as u32 * 16);
            let title = if per_map {
                format!("{what}, head {} (this map's scale)", h + 1)
            } else {
                format!("{what} (shared scale)")
            };
            view! {
                <Heatmap matrix=m scale=scale width=side height=side labels=labels.clone()
                    class="big" zoom=zoom
                    label=format!("{what}, head {}: rows are query tokens, columns are key tokens", h + 1)
                    on_hover=Callback::new(move |c| { hover.try_set(c); }) />
                <Legend scale=scale title=title />
            }
        })
    };
    let hover_text = move || match hover.try_get().flatten() {
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

fn layer_block(i: usize, l: &LayerView, a: &Analysis, d: Drawing, sfx: &str) -> impl IntoView {
    let attn = (!l.attn.is_empty()).then(|| {
        view! {
            <div>
                <h5>"Attention weights"</h5>
                <HeadMaps maps=l.attn.clone() labels=a.labels.clone() shared=d.attn per_map=d.per_map
                    zoom=d.zoom head=d.head what="attention weights" test_id=format!("attn{sfx}-{i}") />
            </div>
        }
    });
    let implicit = (!l.implicit.is_empty()).then(|| {
        view! {
            <div>
                <h5>"Mamba's implicit attention"</h5>
                <HeadMaps maps=l.implicit.clone() labels=a.labels.clone() shared=d.implicit
                    per_map=d.per_map zoom=d.zoom head=d.head
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

/// One model's column: the chosen layer.
fn model_column(
    models: Models,
    slot: Slot,
    maps: Maps,
    layer: usize,
    drawing: Drawing,
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
        let shown = match a.layers.get(layer) {
            Some(l) => layer_block(layer, l, &a, drawing, &sfx).into_any(),
            None => view! {
                <p class="hint">{format!("This model has {} layers.", a.layers.len())}</p>
            }
            .into_any(),
        };
        view! { <p class="note">{note}</p> {shown} }
    });
    view! {
        <div class="column">
            <h3 class="model-name">{name}</h3>
            {body}
        </div>
    }
}

/// The layer picker: one button per layer, with each compared model's kind of layer.
#[component]
fn LayerPicker(layer: RwSignal<usize>, kinds: Vec<Vec<Option<LayerKind>>>) -> impl IntoView {
    let n = kinds.iter().map(Vec::len).max().unwrap_or(0);
    let letter = |k: Option<LayerKind>| match k {
        Some(LayerKind::Attention) => "A",
        Some(LayerKind::Mamba) => "M",
        Some(LayerKind::Intra) => "I",
        None => "·",
    };
    let buttons = (0..n)
        .map(|i| {
            let letters: String = kinds
                .iter()
                .map(|k| k.get(i).copied().map_or("–", letter))
                .collect::<Vec<_>>()
                .join("/");
            view! {
                <button class="layer-pick" id=format!("attn-layer-{}", i + 1)
                    aria-pressed=move || (layer.get() == i).to_string()
                    on:click=move |_| layer.set(i)>
                    {format!("Layer {} ", i + 1)}<span class="layer-kinds">{letters}</span>
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="layer-picker" role="group" aria-label="Layer to show">
            <span class="field-label">"Layer"</span>
            {buttons}
        </div>
    }
}

/// The Attention view: one layer at a time (the picker), every model side by side, on
/// shared color scales or each map on its own. A [`Transition`] keeps the maps drawn
/// while the prompt is analyzed again.
#[component]
pub fn AttentionView(ui: Ui, models: Models, analysis: AnalysisState) -> impl IntoView {
    // the layer and head are the link's (`#layer=`, `#head=`, 0-based)
    let layer = ui.layer;
    let per_map = RwSignal::new(false);
    let content = move || {
        let slots = models.active();
        let maps: Vec<Maps> = slots.iter().map(|s| analysis.get(s.index)).collect();
        let present: Vec<&Analysis> = maps
            .iter()
            .filter_map(|m| m.as_ref()?.as_ref().ok())
            .map(|a| a.as_ref())
            .collect();
        let (imp_max, _, _) = analysis::shared_maxima(&present);
        let drawing = Drawing {
            attn: ColorScale::Sequential { max: 1.0 },
            implicit: ColorScale::Diverging {
                max: imp_max.max(1e-6),
            },
            per_map: per_map.try_get().unwrap_or(false),
            zoom: ui.zoom(),
            head: ui.head,
        };
        let kinds: Vec<Vec<Option<LayerKind>>> = present
            .iter()
            .map(|a| a.layers.iter().map(|l| l.kind).collect())
            .collect();
        let chosen = layer.get();
        let columns = slots
            .into_iter()
            .zip(maps)
            .map(|(s, m)| model_column(models, s, m, chosen, drawing))
            .collect_view();
        view! {
            <LayerPicker layer=layer kinds=kinds />
            <div class="columns wide-columns">{columns}</div>
        }
    };
    view! {
        <section class="view" id="view-attention" aria-labelledby="tab-attention">
            <Caption text="Mamba's implicit attention stays near the diagonal: it forgets with distance. Attention can look anywhere before the current token." />
            <p class="hint">"Rows are the token doing the looking (query), columns the tokens it looks at (keys). Pick a layer; click a small map to enlarge that head. Letters: A attention, M Mamba-2, I intra, per model."</p>
            <ScaleChoice per_map=per_map id="attn-per-map" />
            <Transition fallback=|| view! { <p class="hint">"Analyzing the prompt…"</p> }>{content}</Transition>
        </section>
    }
}
