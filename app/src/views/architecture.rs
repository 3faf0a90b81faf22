//! Architecture: the layer plan drawn as a stack, editable, with a control for every
//! config option (`arch_controls`); parameters, cache and FLOPs update live from the
//! config's formulas; "Send to Scaling" times it with random weights; the config can be
//! downloaded as `config.json`. The design lives in `state::DesignState`, so it survives a
//! change of view and travels in the link.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::arch::{self, parse_count, PRESETS};
use crate::arch_notes;
use crate::charts::scale::{fmt_bytes, fmt_num, fmt_tokens};
use crate::engine::{Backend, LayerKind};
use crate::export;
use crate::state::{DesignState, SweepState, Ui};
use crate::views::arch_controls::{ArchOptions, ConfigNumber};
use crate::views::common::Caption;

/// Largest designed model the page will run with random weights.
const MAX_RUN_PARAMS: usize = 60_000_000;

fn kind_label(k: LayerKind) -> &'static str {
    match k {
        LayerKind::Attention => "attention",
        LayerKind::Mamba => "Mamba-2",
        LayerKind::Intra => "intra",
    }
}

/// A count the 32-bit page may have saturated.
fn counted(v: usize, fmt: fn(f64) -> String) -> String {
    if v == usize::MAX {
        format!("over {} (more than this page counts)", fmt(v as f64))
    } else {
        fmt(v as f64)
    }
}

/// The plan as a stack of blocks, output at the top; a click cycles a block's kind.
#[component]
fn Stack(design: DesignState) -> impl IntoView {
    let blocks = move || {
        let Some(cfg) = design.draft.with(|d| d.as_ref().map(|d| d.config.clone())) else {
            return ().into_any();
        };
        cfg.layers
            .iter()
            .enumerate()
            .rev()
            .map(|(i, &k)| {
                let params = cfg.block_params(i);
                let inner = match k {
                    LayerKind::Intra => view! {
                        <span class="branch b-attn">"attention"</span><span class="branch b-mamba">"Mamba-2"</span>
                    }.into_any(),
                    k => view! { <span>{kind_label(k)}</span> }.into_any(),
                };
                view! {
                    <button class="block" data-kind=kind_label(k)
                        title="Click to switch: attention, Mamba-2, intra"
                        on:click=move |_| design.edit(|d| if let Some(l) = d.config.layers.get_mut(i) { *l = arch::next_kind(*l) })>
                        <span class="block-n"><span class="visually-hidden">"Layer "</span>{format!("{}", i + 1)}</span>
                        <span class="block-body">{inner}</span>
                        <span class="block-p">{format!("{} params incl. FFN", fmt_num(params as f64))}</span>
                    </button>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <div class="stack" aria-label="The layer plan, output at the top">
            <div class="stack-end">"output"</div>
            {blocks}
            <div class="stack-end">"tokens in"</div>
        </div>
    }
}

/// Parameters, cache and FLOPs of the design at the context typed (or why not).
#[component]
fn Numbers(design: DesignState) -> impl IntoView {
    move || {
        let checked = design.draft.with(|d| d.as_ref().map(|d| d.checked()))?;
        let ctx = match parse_count(&design.context.get(), 1, arch::MAX_CONTEXT, false) {
            Ok(Some(c)) => c,
            Ok(None) | Err(_) => {
                return Some(
                    view! { <p class="hint">"Enter a context to see the numbers."</p> }.into_any(),
                )
            }
        };
        Some(match checked.and_then(|cfg| arch::numbers(&cfg, ctx)) {
            Ok(n) => view! {
                <dl class="numbers" id="arch-numbers" data-params=n.params data-cache=n.cache_bytes data-context=ctx>
                    <dt>"Parameters"</dt><dd>{counted(n.params, fmt_num)}</dd>
                    <dt>{format!("Cache at {} tokens", fmt_tokens(ctx as f64))}</dt>
                    <dd>{format!("{} (KV {}, SSM+conv {})", counted(n.cache_bytes, fmt_bytes), counted(n.kv_bytes, fmt_bytes), fmt_bytes(n.ssm_bytes as f64))}</dd>
                    <dt>{format!("FLOPs per token at {}", fmt_tokens(ctx as f64))}</dt><dd>{counted(n.flops_per_token, fmt_num)}</dd>
                </dl>
                <p class="hint">"All analytic: from the config's formulas (f32 bytes)."</p>
            }.into_any(),
            Err(e) => view! { <p class="error" role="alert" id="arch-invalid">{e}</p> }.into_any(),
        })
    }
}

/// The Architecture view: edit a layer plan and its options, read its numbers, send it to
/// Scaling, download its `config.json`.
#[component]
pub fn ArchitectureView(ui: Ui, sweep: SweepState, design: DesignState) -> impl IntoView {
    let message = design.message;
    let send = move |_| {
        message.set(None);
        let Some(checked) = design
            .draft
            .with_untracked(|d| d.as_ref().map(|d| d.checked()))
        else {
            return;
        };
        let cfg = match checked {
            Ok(c) => c,
            Err(e) => return message.set(Some(e)),
        };
        if cfg.param_count() > MAX_RUN_PARAMS {
            return message.set(Some(format!(
                "{} parameters is too large to run in a page; its numbers above stay analytic.",
                fmt_num(cfg.param_count() as f64)
            )));
        }
        let name = format!("Designed: {} (random weights)", arch_notes::plan_name(&cfg));
        match Backend::cpu_random(&name, cfg, 0) {
            Ok(b) => {
                sweep.design(name, b);
                ui.view.set("scaling".into());
                spawn_local(sweep.run());
            }
            Err(e) => message.set(Some(e)),
        }
    };
    let config_url = move || {
        design.draft.with(|d| {
            d.as_ref()
                .map(|d| export::data_url("application/json", &d.to_json()))
        })
    };
    let plan = move |f: fn(usize) -> Vec<LayerKind>| {
        design.edit(|d| {
            let n = d.config.layers.len();
            d.config.layers = f(n);
        })
    };
    view! {
        <section class="view" id="view-architecture" aria-labelledby="tab-architecture">
            <Caption text="Click a block to switch it between attention, Mamba-2 and intra; set every option; watch parameters and cache change." />
            <div class="arch-grid">
                <div class="panel">
                    <label class="num"><span>"Start from"</span>
                        <select id="arch-preset" on:change=move |ev| design.load_preset(event_target_value(&ev))>
                            {PRESETS.iter().map(|p| view! {
                                <option value=p.id selected=move || design.preset.get() == p.id>{p.label}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <div class="buttons wrap">
                        <button id="arch-add-layer" on:click=move |_| design.edit(|d| d.config.layers.push(LayerKind::Mamba))>"+ layer"</button>
                        <button id="arch-remove-layer" on:click=move |_| design.edit(|d| { if d.config.layers.len() > 1 { d.config.layers.pop(); } })>"− layer"</button>
                        <button id="arch-spread" title="Mamba everywhere, with 1 attention block per 6 layers in the middle (the paper's 1:5)"
                            on:click=move |_| plan(|n| arch::spread_plan(n, (n / 6).max(1), LayerKind::Attention))>"Ratio 1:5"</button>
                        <button title="Attention and Mamba alternate (1:1)"
                            on:click=move |_| plan(|n| (0..n).map(|i| if i % 2 == 1 { LayerKind::Attention } else { LayerKind::Mamba }).collect())>"Ratio 1:1"</button>
                    </div>
                    <label class="num"><span>"d_model"</span>
                        <select id="arch-dmodel" on:change=move |ev| {
                            let Ok(dm) = event_target_value(&ev).parse::<usize>() else { return };
                            design.edit(|d| { let c = &mut d.config; c.d_model = dm; c.d_ffn = 3 * dm; c.attention = None; c.mamba = None; c.intra = None; })
                        }>
                            {[64usize, 128, 256, 512, 1024, 2048].into_iter().map(|dm| view! {
                                <option value=dm.to_string() selected=move || design.draft.with(|d| d.as_ref().map(|d| d.config.d_model)) == Some(dm)>{dm.to_string()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <ArchOptions design=design />
                    <ConfigNumber label="Context for the numbers (tokens)" id="arch-context".to_string()
                        min=1 max=arch::MAX_CONTEXT
                        value=Signal::derive(move || parse_count(&design.context.get(), 1, arch::MAX_CONTEXT, false).ok().flatten())
                        apply=Callback::new(move |v: Option<usize>| if let Some(v) = v { design.context.set(v.to_string()) }) />
                    <Numbers design=design />
                    <div class="buttons wrap">
                        <button id="send-to-scaling" class="primary" on:click=send>"Send to Scaling"</button>
                        <a id="download-config" class="button" href=config_url download="config.json">"Download config.json"</a>
                    </div>
                    <p class="hint">"Scaling runs this architecture with random weights (untrained): it measures speed and memory, not quality. The config.json is the format of docs/FORMAT.md: train it, then open it with \"Open your checkpoint\"."</p>
                    {move || message.get().map(|m| view! { <p class="error" role="alert" data-testid="error">{m}</p> })}
                </div>
                <Stack design=design />
            </div>
        </section>
    }
}
