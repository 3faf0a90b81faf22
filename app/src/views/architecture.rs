//! Architecture: the layer plan drawn as a stack, editable; parameters, cache and FLOPs
//! update live from the config's formulas; "Send to Scaling" times it with random weights.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::arch::{self, PRESETS};
use crate::charts::scale::{fmt_bytes, fmt_num, fmt_tokens};
use crate::engine::{Backend, Fusion, LayerKind, ModelConfig};
use crate::state::{SweepState, Ui};
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

/// The Architecture view: edit a layer plan, read its numbers, send it to Scaling.
#[component]
pub fn ArchitectureView(ui: Ui, sweep: SweepState) -> impl IntoView {
    let draft = RwSignal::new(arch::preset("playground-inter").ok());
    let preset_id = RwSignal::new("playground-inter".to_string());
    let context = RwSignal::new("8192".to_string());
    let message = RwSignal::new(None::<String>);
    let edit = move |f: &dyn Fn(&mut ModelConfig)| {
        draft.update(|d| {
            if let Some(c) = d.as_mut() {
                f(c);
                arch::fit_sections(c);
            }
        })
    };
    let blocks = move || {
        let Some(cfg) = draft.get() else {
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
                        on:click=move |_| edit(&|c| if let Some(l) = c.layers.get_mut(i) { *l = arch::next_kind(*l) })>
                        <span class="block-n"><span class="visually-hidden">"Layer "</span>{format!("{}", i + 1)}</span>
                        <span class="block-body">{inner}</span>
                        <span class="block-p">{format!("{} params incl. FFN", fmt_num(params as f64))}</span>
                    </button>
                }
            })
            .collect_view()
            .into_any()
    };
    let numbers = move || {
        let cfg = draft.get()?;
        let ctx: usize = context
            .get()
            .trim()
            .parse()
            .unwrap_or(8192)
            .clamp(1, 1 << 24);
        Some(match arch::numbers(&cfg, ctx) {
            Ok(n) => view! {
                <dl class="numbers" id="arch-numbers" data-params=n.params data-cache=n.cache_bytes>
                    <dt>"Parameters"</dt><dd>{fmt_num(n.params as f64)}</dd>
                    <dt>{format!("Cache at {} tokens", fmt_tokens(ctx as f64))}</dt>
                    <dd>{format!("{} (KV {}, SSM+conv {})", fmt_bytes(n.cache_bytes as f64), fmt_bytes(n.kv_bytes as f64), fmt_bytes(n.ssm_bytes as f64))}</dd>
                    <dt>{format!("FLOPs per token at {}", fmt_tokens(ctx as f64))}</dt><dd>{fmt_num(n.flops_per_token as f64)}</dd>
                </dl>
                <p class="hint">"All analytic: from the config's formulas (f32 bytes)."</p>
            }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
        })
    };
    let send = move |_| {
        message.set(None);
        let Some(cfg) = draft.get_untracked() else {
            return;
        };
        if let Err(e) = cfg.validate() {
            return message.set(Some(e.to_string()));
        }
        if cfg.param_count() > MAX_RUN_PARAMS {
            return message.set(Some(format!(
                "{} parameters is too large to run in a page; its numbers above stay analytic.",
                fmt_num(cfg.param_count() as f64)
            )));
        }
        let name = format!("Designed: {} (random weights)", plan_name(&cfg));
        match Backend::cpu_random(&name, cfg, 0) {
            Ok(b) => {
                sweep.design(name, b);
                ui.view.set("scaling".into());
                spawn_local(sweep.run());
            }
            Err(e) => message.set(Some(e)),
        }
    };
    let fusion = move || {
        let cfg = draft.get()?;
        let f = cfg.intra.as_ref()?.fusion;
        Some(view! {
            <label class="num"><span>"Intra fusion"</span>
                <select id="arch-fusion" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    edit(&|c| if let (Some(i), Some(x)) = (c.intra.as_mut(), Fusion::from_name(&v)) {
                        i.fusion = x;
                    })
                }>
                    {Fusion::ALL.into_iter().map(|x| view! {
                        <option value=x.name() selected=x == f>{fusion_label(x)}</option>
                    }).collect_view()}
                </select>
            </label>
        })
    };
    view! {
        <section class="view" id="view-architecture" aria-labelledby="tab-architecture">
            <Caption text="Click a block to switch it between attention, Mamba-2 and intra; watch parameters and cache change." />
            <div class="arch-grid">
                <div class="panel">
                    <label class="num"><span>"Start from"</span>
                        <select id="arch-preset" on:change=move |ev| {
                            let id = event_target_value(&ev);
                            match arch::preset(&id) {
                                Ok(c) => { draft.set(Some(c)); preset_id.set(id) }
                                Err(e) => message.set(Some(e)),
                            }
                        }>
                            {PRESETS.iter().map(|p| view! {
                                <option value=p.id selected=move || preset_id.get() == p.id>{p.label}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <div class="buttons wrap">
                        <button id="arch-add-layer" on:click=move |_| edit(&|c| c.layers.push(LayerKind::Mamba))>"+ layer"</button>
                        <button id="arch-remove-layer" on:click=move |_| edit(&|c| { if c.layers.len() > 1 { c.layers.pop(); } })>"− layer"</button>
                        <button id="arch-spread" title="Mamba everywhere, with 1 attention block per 6 layers in the middle (the paper's 1:5)"
                            on:click=move |_| edit(&|c| { let n = c.layers.len(); c.layers = arch::spread_plan(n, (n / 6).max(1), LayerKind::Attention); })>"Ratio 1:5"</button>
                        <button title="Attention and Mamba alternate (1:1)"
                            on:click=move |_| edit(&|c| { let n = c.layers.len(); c.layers = (0..n).map(|i| if i % 2 == 1 { LayerKind::Attention } else { LayerKind::Mamba }).collect(); })>"Ratio 1:1"</button>
                    </div>
                    <label class="num"><span>"d_model"</span>
                        <select id="arch-dmodel" on:change=move |ev| {
                            let d: usize = event_target_value(&ev).parse().unwrap_or(256);
                            edit(&|c| { c.d_model = d; c.d_ffn = 3 * d; c.attention = None; c.mamba = None; c.intra = None; })
                        }>
                            {[64usize, 128, 256, 512, 1024, 2048].into_iter().map(|d| view! {
                                <option value=d.to_string() selected=move || draft.get().map(|c| c.d_model) == Some(d)>{d.to_string()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    {fusion}
                    <label class="num"><span>"Context for the numbers (tokens)"</span>
                        <input id="arch-context" type="number" min="1" prop:value=move || context.get()
                            on:input=move |ev| context.set(event_target_value(&ev)) />
                    </label>
                    {numbers}
                    <button id="send-to-scaling" class="primary" on:click=send>"Send to Scaling"</button>
                    <p class="hint">"Runs this architecture with random weights (untrained): it measures speed and memory, not quality."</p>
                    {move || message.get().map(|m| view! { <p class="error" role="alert" data-testid="error">{m}</p> })}
                </div>
                <div class="stack" aria-label="The layer plan, output at the top">
                    <div class="stack-end">"output"</div>
                    {blocks}
                    <div class="stack-end">"tokens in"</div>
                </div>
            </div>
        </section>
    }
}

/// A short name of a plan: "2 attn + 6 Mamba (8 layers)".
fn plan_name(cfg: &ModelConfig) -> String {
    let count = |k| cfg.layers.iter().filter(|&&l| l == k).count();
    let mut parts = Vec::new();
    for (k, n) in [
        (LayerKind::Attention, "attention"),
        (LayerKind::Intra, "intra"),
        (LayerKind::Mamba, "Mamba"),
    ] {
        let c = count(k);
        if c > 0 {
            parts.push(format!("{c} {n}"));
        }
    }
    format!("{} · d{}", parts.join(" + "), cfg.d_model)
}

/// The menu label of a fusion.
fn fusion_label(f: Fusion) -> &'static str {
    match f {
        Fusion::Subtract => "subtract (diff)",
        Fusion::Add => "add",
        Fusion::Concat => "concat",
    }
}
