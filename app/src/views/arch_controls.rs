//! The Architecture view's option controls: one per config option of the sections the
//! plan uses (attention, Mamba-2, intra), each numeric field checked with a message, and
//! the equivalent designs pointed out.

use leptos::prelude::*;
use serde_json::Value;

use crate::arch::{self, parse_count};
use crate::arch_extra::{self, Design, INTRA_V_HEAD_DIM, V_HEAD_DIM, WINDOWS};
use crate::engine::{Fusion, LayerKind, OutProj};
use crate::state::DesignState;

/// Largest head count, head size, state size... a field accepts (the core's limits are
/// higher; the page keeps designs runnable).
const MAX_DIM: usize = 4096;

/// A numeric field bound to the draft: shows the draft's value, applies what parses, and
/// otherwise keeps the text and says what is wrong.
#[component]
pub fn ConfigNumber(
    #[prop(into)] label: String,
    id: String,
    /// The draft's value now (tracked).
    value: Signal<Option<usize>>,
    min: usize,
    max: usize,
    /// Empty means `None` ("off").
    #[prop(optional)]
    optional: bool,
    #[prop(optional)] disabled: Option<Signal<bool>>,
    #[prop(optional)] hint: &'static str,
    apply: Callback<Option<usize>>,
) -> impl IntoView {
    let show = |v: Option<usize>| v.map(|v| v.to_string()).unwrap_or_default();
    let text = RwSignal::new(show(value.get_untracked()));
    let error = RwSignal::new(None::<String>);
    // the draft changed elsewhere (a preset, the plan): show its value
    Effect::new(move |_| {
        let v = value.get();
        if parse_count(&text.get_untracked(), min, max, optional).ok() != Some(v) {
            text.set(show(v));
            error.set(None);
        }
    });
    let err_id = format!("{id}-error");
    let name = label.clone();
    let described = err_id.clone();
    view! {
        <label class="num" title=hint>
            <span>{label}</span>
            <input type="text" inputmode="numeric" id=id prop:value=move || text.get()
                placeholder=if optional { "off" } else { "" }
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=described
                disabled=move || disabled.is_some_and(|d| d.get())
                on:input=move |ev| {
                    let t = event_target_value(&ev);
                    text.set(t.clone());
                    match parse_count(&t, min, max, optional) {
                        Ok(v) => { error.set(None); apply.run(v) }
                        Err(e) => error.set(Some(format!("{name}: {e}"))),
                    }
                } />
        </label>
        {move || error.get().map(|e| view! { <p class="error field-error" id=err_id.clone() role="alert" data-testid="field-error">{e}</p> })}
    }
}

/// A checkbox bound to the draft.
#[component]
fn ConfigCheck(
    label: &'static str,
    id: &'static str,
    value: Signal<bool>,
    apply: Callback<bool>,
) -> impl IntoView {
    view! {
        <label class="check">
            <input type="checkbox" id=id prop:checked=move || value.get()
                on:change=move |ev| apply.run(event_target_checked(&ev)) />
            {label}
        </label>
    }
}

/// A pending key's value (`arch_extra`).
fn extra_usize(d: &Design, key: (&str, &str)) -> Option<usize> {
    d.get(key)
        .and_then(Value::as_u64)
        .and_then(|v| usize::try_from(v).ok())
}

/// "(needs the core to read `key`)" when it does not yet.
fn pending_hint(key: (&str, &str)) -> Option<String> {
    (!arch_extra::supported(key)).then(|| {
        let (s, k) = key;
        let path = if s.is_empty() {
            k.to_string()
        } else {
            format!("{s}.{k}")
        };
        format!("{path}: this engine build does not read it yet, so the control is off.")
    })
}

/// Every option of the sections the plan uses.
#[component]
pub fn ArchOptions(design: DesignState) -> impl IntoView {
    let d = design.draft;
    let has = move |f: fn(&Design) -> bool| d.with(|d| d.as_ref().is_some_and(f));
    let num = move |label: &'static str,
                    id: &'static str,
                    get: fn(&Design) -> Option<usize>,
                    set: fn(&mut Design, usize),
                    min: usize,
                    max: usize| {
        let value = Signal::derive(move || d.with(|x| x.as_ref().and_then(get)));
        let apply = Callback::new(move |v: Option<usize>| {
            if let Some(v) = v {
                design.edit(|x| set(x, v))
            }
        });
        view! { <ConfigNumber label=label id=id.to_string() value=value min=min max=max apply=apply /> }
    };
    let pending = move |label: &'static str,
                        id: &'static str,
                        key: (&'static str, &'static str)| {
        let value =
            Signal::derive(move || d.with(|x| x.as_ref().and_then(|x| extra_usize(x, key))));
        let apply =
            Callback::new(move |v: Option<usize>| design.edit(|x| x.set(key, v.map(Value::from))));
        let off = Signal::derive(move || !arch_extra::supported(key));
        view! {
            <ConfigNumber label=label id=id.to_string() value=value min=2 max=MAX_DIM optional=true
                disabled=off hint="empty: the same as the query/key head size" apply=apply />
            {pending_hint(key).map(|h| view! { <p class="hint">{h}</p> })}
        }
    };
    let attention = move || {
        has(|x| x.config.attention.is_some()).then(|| view! {
        <fieldset class="options" id="arch-attention"><legend>"Attention"</legend>
            {num("query heads", "arch-n-heads", |x| x.config.attention.as_ref().map(|a| a.n_heads), |x, v| if let Some(a) = x.config.attention.as_mut() { a.n_heads = v }, 1, 256)}
            {num("KV heads", "arch-kv-heads", |x| x.config.attention.as_ref().map(|a| a.n_kv_heads), |x, v| if let Some(a) = x.config.attention.as_mut() { a.n_kv_heads = v }, 1, 256)}
            {num("head size", "arch-head-dim", |x| x.config.attention.as_ref().map(|a| a.head_dim), |x, v| if let Some(a) = x.config.attention.as_mut() { a.head_dim = v }, 2, MAX_DIM)}
            {pending("value head size", "arch-v-head-dim", V_HEAD_DIM)}
            <ConfigNumber label="sliding window (all layers)" id="arch-window".to_string() optional=true min=1 max=arch::MAX_CONTEXT
                value=Signal::derive(move || d.with(|x| x.as_ref().and_then(|x| x.config.attention.as_ref()?.window)))
                hint="empty: full causal attention"
                apply=Callback::new(move |v| design.edit(|x| if let Some(a) = x.config.attention.as_mut() { a.window = v })) />
            {num("sink tokens", "arch-sinks", |x| x.config.attention.as_ref().map(|a| a.sink_tokens), |x, v| if let Some(a) = x.config.attention.as_mut() { a.sink_tokens = v }, 0, arch::MAX_CONTEXT)}
        </fieldset>
    })
    };
    let mamba = move || {
        has(|x| x.config.mamba.is_some()).then(|| view! {
        <fieldset class="options" id="arch-mamba"><legend>"Mamba-2"</legend>
            {num("state size N", "arch-d-state", |x| x.config.mamba.as_ref().map(|m| m.d_state), |x, v| if let Some(m) = x.config.mamba.as_mut() { m.d_state = v }, 1, MAX_DIM)}
            {num("head size P", "arch-ssm-head-dim", |x| x.config.mamba.as_ref().map(|m| m.head_dim), |x, v| if let Some(m) = x.config.mamba.as_mut() { m.head_dim = v }, 1, MAX_DIM)}
            {num("expand", "arch-expand", |x| x.config.mamba.as_ref().map(|m| m.expand), |x, v| if let Some(m) = x.config.mamba.as_mut() { m.expand = v }, 1, 8)}
            {num("groups", "arch-groups", |x| x.config.mamba.as_ref().map(|m| m.n_groups), |x, v| if let Some(m) = x.config.mamba.as_mut() { m.n_groups = v }, 1, 64)}
            {num("conv width", "arch-conv", |x| x.config.mamba.as_ref().map(|m| m.conv_width), |x, v| if let Some(m) = x.config.mamba.as_mut() { m.conv_width = v }, 1, 64)}
        </fieldset>
    })
    };
    view! { {attention} {mamba} <IntraOptions design=design /> <LayerWindows design=design /> }
}

/// The intra block's options and the designs they are equivalent to.
#[component]
fn IntraOptions(design: DesignState) -> impl IntoView {
    let d = design.draft;
    let intra = move || d.with(|x| x.as_ref().and_then(|x| x.config.intra.clone()));
    let set_fusion = move |v: String| {
        design.edit(|x| {
            if let Some(i) = x.config.intra.as_mut() {
                let Some(f) = Fusion::from_name(&v) else {
                    return;
                };
                i.fusion = f;
                // concat is defined with one joint projection (docs/FORMAT.md)
                match f {
                    Fusion::Concat => i.out_proj = OutProj::Joint,
                    Fusion::Subtract | Fusion::Add => {}
                }
            }
        })
    };
    let set_proj = move |v: String| {
        design.edit(|x| {
            if let Some(i) = x.config.intra.as_mut() {
                if let Some(p) = OutProj::ALL.into_iter().find(|p| p.name() == v) {
                    i.out_proj = p;
                }
            }
        })
    };
    let num = move |label: &'static str,
                    id: &'static str,
                    get: fn(&crate::engine::IntraConfig) -> usize,
                    set: fn(&mut crate::engine::IntraConfig, usize)| {
        view! { <ConfigNumber label=label id=id.to_string() min=1 max=256
        value=Signal::derive(move || d.with(|x| x.as_ref().and_then(|x| x.config.intra.as_ref().map(get))))
        apply=Callback::new(move |v: Option<usize>| if let Some(v) = v { design.edit(|x| if let Some(i) = x.config.intra.as_mut() { set(i, v) }) }) /> }
    };
    move || {
        intra().map(|i| view! {
        <fieldset class="options" id="arch-intra"><legend>"Intra block"</legend>
            <label class="num"><span>"fusion"</span>
                <select id="arch-fusion" on:change=move |ev| set_fusion(event_target_value(&ev))>
                    {Fusion::ALL.into_iter().map(|f| view! {
                        <option value=f.name() selected=f.name() == i.fusion.name()>{fusion_label(f)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="num"><span>"output projection"</span>
                <select id="arch-out-proj" on:change=move |ev| set_proj(event_target_value(&ev))>
                    {OutProj::ALL.into_iter().map(|p| view! {
                        <option value=p.name() selected=p.name() == i.out_proj.name()
                            disabled=!proj_allowed(i.fusion, p)>{proj_label(p)}</option>
                    }).collect_view()}
                </select>
            </label>
            <ConfigCheck label="per-branch norm" id="arch-branch-norm" value=Signal::derive(move || intra().is_some_and(|i| i.branch_norm))
                apply=Callback::new(move |v| design.edit(|x| if let Some(i) = x.config.intra.as_mut() { i.branch_norm = v })) />
            <ConfigCheck label="learned branch scalars" id="arch-scalars" value=Signal::derive(move || intra().is_some_and(|i| i.branch_scalars))
                apply=Callback::new(move |v| design.edit(|x| if let Some(i) = x.config.intra.as_mut() { i.branch_scalars = v })) />
            <p class="hint">"Branch split: heads of each branch (the paper's best is 1:1 in dimension)."</p>
            {num("attention heads", "arch-intra-attn-heads", |i| i.attn_heads, |i, v| i.attn_heads = v)}
            {num("attention KV heads", "arch-intra-kv-heads", |i| i.attn_kv_heads, |i, v| i.attn_kv_heads = v)}
            {num("Mamba heads", "arch-intra-ssm-heads", |i| i.ssm_heads, |i, v| i.ssm_heads = v)}
            <ConfigNumber label="attention value head size" id="arch-intra-v-head-dim".to_string() optional=true min=2 max=MAX_DIM
                value=Signal::derive(move || d.with(|x| x.as_ref().and_then(|x| extra_usize(x, INTRA_V_HEAD_DIM))))
                disabled=Signal::derive(|| !arch_extra::supported(INTRA_V_HEAD_DIM))
                apply=Callback::new(move |v: Option<usize>| design.edit(|x| x.set(INTRA_V_HEAD_DIM, v.map(Value::from)))) />
            {pending_hint(INTRA_V_HEAD_DIM).map(|h| view! { <p class="hint">{h}</p> })}
            <ul class="equivalent" id="arch-equivalent">
                {crate::arch_notes::equivalences(&i).into_iter().map(|e| view! { <li>"Equivalent: " {e}</li> }).collect_view()}
            </ul>
        </fieldset>
    })
    }
}

/// A window per attention layer (top-level `windows`).
#[component]
fn LayerWindows(design: DesignState) -> impl IntoView {
    let d = design.draft;
    let layers = move || {
        d.with(|x| {
            x.as_ref().map(|x| {
                x.config
                    .layers
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| **k != LayerKind::Mamba)
                    .map(|(i, _)| i)
                    .collect::<Vec<_>>()
            })
        })
        .unwrap_or_default()
    };
    let off = Signal::derive(|| !arch_extra::supported(WINDOWS));
    move || {
        let list = layers();
        (!list.is_empty()).then(|| view! {
            <fieldset class="options" id="arch-windows"><legend>"Window per layer"</legend>
                {list.into_iter().map(|i| view! {
                    <ConfigNumber label=format!("layer {}", i + 1) id=format!("arch-window-{}", i + 1) optional=true min=1 max=arch::MAX_CONTEXT disabled=off
                        value=Signal::derive(move || d.with(|x| x.as_ref().and_then(|x| x.windows().get(i).copied().flatten())))
                        apply=Callback::new(move |v| design.edit(|x| x.set_window(i, v))) />
                }).collect_view()}
                {pending_hint(WINDOWS).map(|h| view! { <p class="hint">{h}</p> })}
            </fieldset>
        })
    }
}

/// The menu label of a fusion (every variant named: a new one must be labelled here).
fn fusion_label(f: Fusion) -> &'static str {
    match f {
        Fusion::Subtract => "subtract (diff)",
        Fusion::Add => "add",
        Fusion::Concat => "concat (joint projection)",
    }
}

/// The menu label of an output projection.
fn proj_label(p: OutProj) -> &'static str {
    match p {
        OutProj::Separate => "separate (one per branch)",
        OutProj::Joint => "joint (one for both)",
    }
}

/// Whether fusion `f` can use output projection `p` (concat needs the joint one).
fn proj_allowed(f: Fusion, p: OutProj) -> bool {
    match (f, p) {
        (Fusion::Concat, OutProj::Separate) => false,
        (Fusion::Concat, OutProj::Joint) | (Fusion::Subtract | Fusion::Add, _) => true,
    }
}
