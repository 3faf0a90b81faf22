//! The share bar under the tabs: copy the link (which holds every setting, `urlstate`),
//! export any chart or heatmap of the open view as PNG or SVG, and what is stored for
//! offline use (the service worker `app/sw.js`, registered here).

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

use crate::charts::scale::fmt_bytes;
use crate::state::{Models, Ui};
use crate::web;

#[wasm_bindgen(module = "/js/share.js")]
extern "C" {
    #[wasm_bindgen(catch, js_name = exportFigure)]
    async fn export_figure(
        root: &str,
        index: u32,
        format: &str,
        base: &str,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = figureLabels)]
    fn figure_labels(root: &str) -> Result<Vec<String>, JsValue>;
    #[wasm_bindgen(catch, js_name = copyText)]
    async fn copy_text(text: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = registerWorker)]
    async fn register_worker() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = storeLoaded)]
    async fn store_loaded() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn stored() -> Result<JsValue, JsValue>;
}

/// What the offline copy holds.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
struct Stored {
    files: u64,
    bytes: f64,
    models: Vec<String>,
}

/// A file name from a label: lowercase words joined by '-'.
fn slug(label: &str) -> String {
    let s: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let parts: Vec<&str> = s.split('-').filter(|p| !p.is_empty()).take(8).collect();
    if parts.is_empty() {
        "figure".into()
    } else {
        parts.join("-")
    }
}

/// Copy link, figure export, offline status.
#[component]
pub fn ShareBar(ui: Ui, models: Models) -> impl IntoView {
    let said = RwSignal::new(None::<String>);
    let labels = RwSignal::new(Vec::<String>::new());
    let chosen = RwSignal::new(0u32);
    let offline = RwSignal::new(None::<Result<Stored, String>>);
    let refresh_labels = move || {
        let l = figure_labels("#main").unwrap_or_default();
        if chosen.get_untracked() as usize >= l.len() {
            chosen.set(0);
        }
        labels.set(l);
    };
    let copy = move |_| {
        let url = web_sys::window()
            .and_then(|w| w.location().href().ok())
            .unwrap_or_default();
        spawn_local(async move {
            said.set(Some(match copy_text(&url).await {
                Ok(_) => "Link copied: it opens this page in the same state.".into(),
                Err(e) => format!(
                    "Could not copy ({}); the link is the address bar's.",
                    web::js_error_text(&e)
                ),
            }));
        });
    };
    let export = move |format: &'static str| {
        refresh_labels();
        let i = chosen.get_untracked();
        let label = labels
            .with_untracked(|l| l.get(i as usize).cloned())
            .unwrap_or_default();
        let base = format!("{}-{}", ui.view.get_untracked(), slug(&label));
        spawn_local(async move {
            said.set(Some(match export_figure("#main", i, format, &base).await {
                Ok(name) => format!("Saved {}", name.as_string().unwrap_or_default()),
                Err(e) => format!("Export failed: {}", web::js_error_text(&e)),
            }));
        });
    };
    let check_offline = move || {
        spawn_local(async move {
            let _ = store_loaded().await;
            let got = stored()
                .await
                .map_err(|e| web::js_error_text(&e))
                .and_then(|v| serde_wasm(&v));
            offline.set(Some(got));
        })
    };
    // register once; re-count whenever a model finished loading
    spawn_local(async move {
        match register_worker().await {
            Ok(v) if v.as_string().is_some_and(|s| !s.is_empty()) => {
                offline.set(Some(Err(v.as_string().unwrap_or_default())))
            }
            Ok(_) => check_offline(),
            Err(e) => offline.set(Some(Err(web::js_error_text(&e)))),
        }
    });
    Effect::new(move |_| {
        let ready = models.active().iter().filter(|s| s.ready()).count();
        if ready > 0 {
            check_offline();
        }
    });
    // the open view's figures once it has drawn, and what is stored by now
    Effect::new(move |prev: Option<()>| {
        ui.view.track();
        request_animation_frame(refresh_labels);
        if prev.is_some() {
            check_offline();
        }
    });
    let offline_line = move || match offline.get() {
        None => "Offline copy: checking…".to_string(),
        Some(Err(why)) => format!("Offline copy: none ({why})."),
        Some(Ok(s)) => format!(
            "Stored for offline use: {} files, {} (the page{}).",
            s.files,
            fmt_bytes(s.bytes),
            if s.models.is_empty() {
                String::new()
            } else {
                format!(" and models {}", s.models.join(", "))
            }
        ),
    };
    let files = move || match offline.get() {
        Some(Ok(s)) => s.files.to_string(),
        _ => "0".into(),
    };
    view! {
        <div class="share-bar" id="share-bar">
            <button id="copy-link" on:click=copy title="Copies this page's address: view, models, prompt and every setting">"Copy link"</button>
            <label class="num export-pick"><span>"Figure"</span>
                <select id="export-figure" on:focus=move |_| refresh_labels() on:pointerdown=move |_| refresh_labels()
                    on:change=move |ev| chosen.set(event_target_value(&ev).parse().unwrap_or(0))>
                    {move || labels.get().into_iter().enumerate().map(|(i, l)| view! {
                        <option value=i.to_string() selected=move || chosen.get() as usize == i>{l}</option>
                    }).collect_view()}
                </select>
            </label>
            <button id="export-png" on:click=move |_| export("png")>"PNG"</button>
            <button id="export-svg" on:click=move |_| export("svg")>"SVG"</button>
            <span class="hint" role="status" id="share-said">{move || said.get()}</span>
            <span class="hint" id="offline-status" data-files=files>{offline_line}</span>
        </div>
    }
}

/// A plain JS object into [`Stored`].
fn serde_wasm(v: &JsValue) -> Result<Stored, String> {
    let text = js_sys::JSON::stringify(v)
        .map(String::from)
        .map_err(|e| web::js_error_text(&e))?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs() {
        assert_eq!(
            super::slug("Layer 2, head 1: attention"),
            "layer-2-head-1-attention"
        );
        assert_eq!(super::slug("  "), "figure");
    }
}
