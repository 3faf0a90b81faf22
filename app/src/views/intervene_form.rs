//! The Interventions panel's builder: a form per kind of intervention that offers only
//! what the slot's model has (the kinds with a layer to act on, those layers, its SSM
//! heads), writing one item of the short syntax into the set (docs/FORMAT.md,
//! "Interventions"). Every item is checked against the model before it is added.

use leptos::prelude::*;

use crate::engine::{Backend, LayerKind, ModelConfig};

/// One kind of intervention as the form offers it.
pub struct Kind {
    pub id: &'static str,
    pub label: &'static str,
    /// The value field's label and default, if the kind takes one.
    pub value: Option<(&'static str, &'static str)>,
    /// Whether it takes SSM heads, and a token position.
    pub heads: bool,
    pub at: bool,
}

const fn kind(
    id: &'static str,
    label: &'static str,
    value: Option<(&'static str, &'static str)>,
) -> Kind {
    Kind {
        id,
        label,
        value,
        heads: false,
        at: false,
    }
}

/// Every kind, in the order of docs/FORMAT.md.
pub const KINDS: [Kind; 11] = [
    kind(
        "attn",
        "scale the attention branch (intra)",
        Some(("factor (0 zeroes it)", "0")),
    ),
    kind(
        "ssm",
        "scale the SSM branch (intra)",
        Some(("factor (0 zeroes it)", "0")),
    ),
    kind("branch_norm", "drop both branch norms (intra)", None),
    kind("mixer", "skip the mixer (residual only)", None),
    kind("ffn", "skip the FFN", None),
    kind(
        "window",
        "impose a sliding window",
        Some(("window (tokens)", "64")),
    ),
    kind(
        "hide",
        "hide key positions",
        Some(("positions from..to", "0..8")),
    ),
    Kind {
        heads: true,
        at: true,
        ..kind("ssm_reset", "reset the SSM state at a token", None)
    },
    Kind {
        heads: true,
        at: true,
        ..kind("ssm_freeze", "freeze the SSM state from a token", None)
    },
    Kind {
        heads: true,
        ..kind("dt_scale", "scale dt", Some(("factor", "0.5")))
    },
    Kind {
        heads: true,
        ..kind("dt_max", "clamp dt from above", Some(("largest dt", "0.1")))
    },
];

/// Whether block `i` of `cfg` has what kind `id` acts on.
pub fn fits(id: &str, cfg: &ModelConfig, i: usize) -> bool {
    let Some(&k) = cfg.layers.get(i) else {
        return false;
    };
    let intra = k == LayerKind::Intra;
    match id {
        "attn" | "ssm" => intra,
        "branch_norm" => intra && cfg.intra.as_ref().is_some_and(|c| c.branch_norm),
        "mixer" => true,
        "ffn" => cfg.has_ffn(i),
        "window" | "hide" => k != LayerKind::Mamba,
        _ => k != LayerKind::Attention,
    }
}

/// SSM heads of block `i` (0 without an SSM).
pub fn ssm_heads(cfg: &ModelConfig, i: usize) -> usize {
    match cfg.layers.get(i) {
        Some(LayerKind::Mamba) => cfg.mamba_dims().map_or(0, |m| m.n_heads),
        Some(LayerKind::Intra) => cfg.intra_mamba_dims().map_or(0, |m| m.n_heads),
        _ => 0,
    }
}

/// The short-syntax item of kind `id` on block `layer`; `heads` is a comma list (empty:
/// all heads).
pub fn item(id: &str, layer: usize, value: &str, heads: &str, at: &str) -> String {
    let heads = match heads.trim() {
        "" => String::new(),
        h => format!("[{}]", h.replace(' ', "")),
    };
    let (value, at) = (value.trim(), at.trim());
    match id {
        "branch_norm" => format!("L{layer}.branch_norm=off"),
        "mixer" | "ffn" => format!("L{layer}.{id}=skip"),
        "ssm_reset" | "ssm_freeze" => format!("L{layer}.{id}{heads}@{at}"),
        "dt_scale" => format!("L{layer}.dt{heads}*{value}"),
        "dt_max" => format!("L{layer}.dt{heads}<={value}"),
        _ => format!("L{layer}.{id}={value}"),
    }
}

fn kind_word(k: LayerKind) -> &'static str {
    match k {
        LayerKind::Attention => "attention",
        LayerKind::Mamba => "Mamba-2",
        LayerKind::Intra => "intra",
    }
}

/// A labelled text input.
#[component]
fn Field(label: String, id: &'static str, value: RwSignal<String>) -> impl IntoView {
    view! {
        <label class="iv-field">
            <span>{label}</span>
            <input type="text" id=id prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev)) />
        </label>
    }
}

/// The builder for `backend`'s model: `add` receives each checked item.
#[component]
pub fn Builder(
    backend: std::rc::Rc<Backend>,
    add: Callback<String>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let cfg = backend.config().clone();
    let n = cfg.layers.len();
    let kinds: Vec<&'static Kind> = KINDS
        .iter()
        .filter(|k| (0..n).any(|i| fits(k.id, &cfg, i)))
        .collect();
    let first = kinds.first().map_or("mixer", |k| k.id);
    let chosen = RwSignal::new(first.to_string());
    let layer = RwSignal::new((0..n).find(|&i| fits(first, &cfg, i)).unwrap_or(0));
    let value = RwSignal::new(String::new());
    let heads = RwSignal::new(String::new());
    let at = RwSignal::new("128".to_string());
    let spec = move || KINDS.iter().find(|k| k.id == chosen.get());
    // a new kind: its default value and its first layer
    let cfg2 = cfg.clone();
    let pick_kind = move |id: String| {
        if let Some(k) = KINDS.iter().find(|k| k.id == id) {
            value.set(k.value.map_or("", |v| v.1).to_string());
            if !fits(k.id, &cfg2, layer.get_untracked()) {
                layer.set((0..n).find(|&i| fits(k.id, &cfg2, i)).unwrap_or(0));
            }
        }
        chosen.set(id);
    };
    pick_kind(first.to_string());
    let options = kinds
        .into_iter()
        .map(|k| view! { <option value=k.id selected=move || chosen.get() == k.id>{k.label}</option> })
        .collect_view();
    let cfg3 = cfg.clone();
    let layers = move || {
        let id = chosen.get();
        (0..n)
            .filter(|&i| fits(&id, &cfg3, i))
            .map(|i| {
                let word = cfg3.layers.get(i).copied().map_or("?", kind_word);
                view! { <option value=i.to_string() selected=move || layer.get() == i>{format!("L{i} ({word})")}</option> }
            })
            .collect_view()
    };
    let cfg4 = cfg.clone();
    let extra = move || {
        let k = spec()?;
        let v = k.value.map(
            |(label, _)| view! { <Field label=label.to_string() id="iv-value" value=value /> },
        );
        let h = k.heads.then(|| {
            let count = ssm_heads(&cfg4, layer.get());
            let label = format!("SSM heads, e.g. 0,1 (empty: all {count})");
            view! { <Field label=label id="iv-heads" value=heads /> }
        });
        let t =
            k.at.then(|| view! { <Field label="from token".to_string() id="iv-at" value=at /> });
        Some(view! { {v}{h}{t} })
    };
    let on_add = move |_| {
        let text = item(
            &chosen.get_untracked(),
            layer.get_untracked(),
            &value.get_untracked(),
            &heads.get_untracked(),
            &at.get_untracked(),
        );
        match backend.interventions(&text) {
            Ok(_) => {
                error.set(None);
                add.run(text);
            }
            Err(e) => error.set(Some(e)),
        }
    };
    view! {
        <fieldset class="iv-builder">
            <legend>"Build an intervention (layers count from 0, as on the command line)"</legend>
            <label class="iv-field"><span>"Kind"</span>
                <select id="iv-kind" on:change=move |ev| pick_kind(event_target_value(&ev))>{options}</select>
            </label>
            <label class="iv-field"><span>"Layer"</span>
                <select id="iv-layer" on:change=move |ev| layer.set(event_target_value(&ev).parse().unwrap_or(0))>{layers}</select>
            </label>
            {extra}
            <button id="iv-add" on:click=on_add>"Add to the set"</button>
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_the_short_syntax() {
        assert_eq!(item("attn", 1, "0", "", ""), "L1.attn=0");
        assert_eq!(
            item("ssm_reset", 2, "", "0, 3", "40"),
            "L2.ssm_reset[0,3]@40"
        );
        assert_eq!(item("dt_max", 2, "0.1", "1", ""), "L2.dt[1]<=0.1");
        assert_eq!(item("mixer", 3, "", "", ""), "L3.mixer=skip");
        for k in &KINDS {
            let text = item(k.id, 1, k.value.map_or("", |v| v.1), "", "5");
            crate::engine::Interventions::parse(&text).unwrap();
        }
    }

    /// The form offers a kind on a layer exactly when the engine accepts it there.
    #[test]
    fn the_form_offers_what_the_model_has() {
        for id in [
            "recall-intra",
            "shakespeare-inter",
            "recall-transformer",
            "recall-mamba2",
        ] {
            let path = format!(
                "{}/../assets/models/{id}/config.json",
                env!("CARGO_MANIFEST_DIR")
            );
            let cfg = ModelConfig::from_json(&std::fs::read(path).unwrap()).unwrap();
            for k in &KINDS {
                for i in 0..cfg.layers.len() {
                    let text = item(k.id, i, k.value.map_or("", |v| v.1), "", "5");
                    let ok = crate::engine::Interventions::parse(&text)
                        .unwrap()
                        .plan(&cfg)
                        .is_ok();
                    assert_eq!(fits(k.id, &cfg, i), ok, "{id}: {text}");
                }
            }
            assert_eq!(
                ssm_heads(&cfg, 0) > 0,
                cfg.layers[0] != LayerKind::Attention
            );
        }
    }
}
