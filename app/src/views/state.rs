//! State: what a Mamba layer carries from token to token. State norm and step size dt
//! per head and token, a token scrubber, and memory: the KV cache grows with the
//! context, the SSM state does not.

use leptos::prelude::*;

use crate::analysis::{self, Analysis};
use crate::charts::canvas::{label_room, Heatmap, Legend};
use crate::charts::colormap::ColorScale;
use crate::charts::plot::Series;
use crate::charts::scale::{fmt_num, Quantity};
use crate::charts::svg::{color, LineChart};
use crate::state::{AnalysisState, Maps, Models, Slot, Ui};
use crate::views::common::{analysis_body, map_scale, Caption, ScaleChoice};

/// A map's width (CSS pixels at zoom 1) at most; CSS shrinks it to its column, never
/// clipping the last tokens.
const W: u32 = 460;

/// How the maps are drawn: the shared scales (state norm, dt), per map or not, zoom.
#[derive(Clone, Copy)]
struct Drawing {
    norm: ColorScale,
    dt: ColorScale,
    per_map: bool,
    zoom: f64,
}

fn head_names(n: usize) -> Vec<String> {
    (1..=n).map(|h| format!("h{h}")).collect()
}

/// Mean, min and max of column `t` of an [H x T] matrix.
fn column_stats(m: &crate::charts::heatmap::Matrix, t: usize) -> Option<(f32, f32, f32)> {
    let vals: Vec<f32> = (0..m.rows).filter_map(|h| m.get(h, t)).collect();
    if vals.is_empty() {
        return None;
    }
    let mean = vals.iter().sum::<f32>() / vals.len() as f32;
    let min = vals.iter().copied().fold(f32::INFINITY, f32::min);
    let max = vals.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    Some((mean, min, max))
}

/// One model's column: state norm and dt per Mamba layer, with the scrubbed token's
/// numbers.
fn model_column(
    models: Models,
    slot: Slot,
    maps: Maps,
    d: Drawing,
    token: RwSignal<usize>,
) -> impl IntoView {
    let name = models.slot_name(slot);
    let sfx = slot.suffix();
    let body = analysis_body(maps, "No state", move |a| {
        let mut any = false;
        let layers = a
                .layers
                .iter()
                .enumerate()
                .filter_map(|(i, l)| {
                    let (norm, dt) = (l.state_norm.clone()?, l.dt.clone()?);
                    any = true;
                    let labels = a.labels.clone();
                    let mark = Signal::derive(move || token.get());
                    let (n2, d2) = (norm.clone(), dt.clone());
                    let readout = move || {
                        let t = token.get().min(labels.len().saturating_sub(1));
                        let tok = labels.get(t).cloned().unwrap_or_default();
                        match (column_stats(&n2, t), column_stats(&d2, t)) {
                            (Some(n), Some(d)) => format!(
                                "At {tok:?} (#{}): state norm mean {} (heads {}..{}), dt mean {} (heads {}..{})",
                                t + 1, fmt_num(n.0 as f64), fmt_num(n.1 as f64), fmt_num(n.2 as f64),
                                fmt_num(d.0 as f64), fmt_num(d.1 as f64), fmt_num(d.2 as f64)
                            ),
                            _ => String::new(),
                        }
                    };
                    let h = (norm.rows as u32 * 12).clamp(60, 220);
                    let (ns, ds) = (map_scale(d.norm, &norm, d.per_map), map_scale(d.dt, &dt, d.per_map));
                    let which = if d.per_map { "this map's scale" } else { "shared scale" };
                    Some(view! {
                        <div class="layer" data-testid=format!("state{sfx}-{i}")>
                            <h4>{format!("Layer {} · {} SSM heads", i + 1, norm.rows)}</h4>
                            <h5>"State norm ||S|| per head, after each token"</h5>
                            <Heatmap matrix=norm.clone() scale=ns width=W height=h + label_room()
                                labels=a.labels.clone() row_names=head_names(norm.rows) mark_col=mark
                                zoom=d.zoom label="State norm per head (rows) and token (columns)".to_string() />
                            <Legend scale=ns title=format!("State norm ({which})") />
                            <h5>"Step size dt per head and token (large dt: write a lot, forget fast)"</h5>
                            <Heatmap matrix=dt.clone() scale=ds width=W height=h + label_room()
                                labels=a.labels.clone() row_names=head_names(dt.rows) mark_col=mark
                                zoom=d.zoom label="dt per head (rows) and token (columns)".to_string() />
                            <Legend scale=ds title=format!("dt ({which})") />
                            <p class="hover" aria-live="polite">{readout}</p>
                        </div>
                    })
                })
                .collect_view();
        if any {
            let note = format!("Computed by the {} engine.", a.engine);
            view! { <p class="note">{note}</p> {layers} }.into_any()
        } else {
            view! { <p class="hint">"This model has no Mamba layers: nothing carries state except the KV cache."</p> }.into_any()
        }
    });
    view! {
        <div class="column">
            <h3 class="model-name">{name}</h3>
            {body}
        </div>
    }
}

/// KV cache vs SSM state against context: analytic lines plus the measured state.
fn memory_chart(models: Models, analysis: AnalysisState, zoom: f64) -> impl IntoView {
    let mut series = Vec::new();
    for (i, slot) in models.active().into_iter().enumerate() {
        let Some(backend) = slot.backend.get_value() else {
            continue;
        };
        let name = models.slot_name(slot);
        let cfg = backend.config();
        let lengths = crate::sweep::analytic_lengths(4096);
        let kv: Vec<(f64, f64)> = lengths
            .iter()
            .map(|&t| (t as f64, cfg.kv_cache_bytes(t) as f64))
            .collect();
        let ssm = (cfg.ssm_state_bytes() + cfg.conv_state_bytes()) as f64;
        if kv.iter().any(|p| p.1 > 0.0) {
            series.push(Series {
                name: format!("{name}: KV cache"),
                color: color(i),
                points: kv,
                analytic: true,
            });
        }
        if ssm > 0.0 {
            series.push(Series {
                name: format!("{name}: SSM + conv state"),
                color: color(i + 4),
                points: lengths.iter().map(|&t| (t as f64, ssm)).collect(),
                analytic: true,
            });
        }
        if let Some(a) = analysis.analysis(slot.index) {
            series.push(Series {
                name: format!("{name}: state after the prompt"),
                color: color(i),
                points: vec![(a.labels.len() as f64, a.bytes.total() as f64)],
                analytic: false,
            });
        }
    }
    view! {
        <div class="panel fit">
            <h3>"Memory the model carries"</h3>
            <LineChart series=series id="state-memory-chart".into() zoom=zoom width=620.0 height=320.0
                x=(Quantity::Tokens, "context (tokens)") y=(Quantity::Bytes, "memory, f32") />
        </div>
    }
}

/// The State view: every model's Mamba state on shared scales, a token scrubber, and
/// the memory chart. A [`Transition`] keeps them drawn while the prompt is analyzed
/// again.
#[component]
pub fn StateView(
    ui: Ui,
    models: Models,
    analysis: AnalysisState,
    /// The token chosen (`Ui::token`, in the link).
    token: RwSignal<usize>,
) -> impl IntoView {
    let per_map = RwSignal::new(false);
    let content = move || {
        let slots = models.active();
        let maps: Vec<Maps> = slots.iter().map(|s| analysis.get(s.index)).collect();
        let present: Vec<&Analysis> = maps
            .iter()
            .filter_map(|m| m.as_ref()?.as_ref().ok())
            .map(|a| a.as_ref())
            .collect();
        let (_, dt_max, norm_max) = analysis::shared_maxima(&present);
        let longest = present.iter().map(|a| a.labels.len()).max().unwrap_or(1);
        let drawing = Drawing {
            norm: ColorScale::Sequential {
                max: norm_max.max(1e-6),
            },
            dt: ColorScale::Sequential {
                max: dt_max.max(1e-6),
            },
            per_map: per_map.try_get().unwrap_or(false),
            zoom: ui.zoom(),
        };
        let columns = slots
            .into_iter()
            .zip(maps)
            .map(|(s, m)| model_column(models, s, m, drawing, token))
            .collect_view();
        view! {
            <div class="scrubber">
                <label for="token-scrubber">"Token"</label>
                <input id="token-scrubber" type="range" min="0" max=longest.saturating_sub(1)
                    prop:value=move || token.get().to_string()
                    on:input=move |ev| token.set(event_target_value(&ev).parse().unwrap_or(0)) />
                <span>{move || format!("#{}", token.get() + 1)}</span>
            </div>
            <ScaleChoice per_map=per_map id="state-per-map" />
            <div class="columns wide-columns">{columns}</div>
            {memory_chart(models, analysis, drawing.zoom)}
        }
    };
    view! {
        <section class="view" id="view-state" aria-labelledby="tab-state">
            <Caption text="A Mamba layer carries a fixed-size state: its norm changes with each token, but its size never grows. The KV cache grows with every token." />
            <Transition fallback=|| view! { <p class="hint">"Analyzing the prompt…"</p> }>{content}</Transition>
        </section>
    }
}
