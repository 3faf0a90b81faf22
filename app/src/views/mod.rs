//! The page's views, one idea each, and the shared controls around them: the tabs that
//! pick a view (the WAI-ARIA tabs pattern) and the panel they control.

pub mod arch_controls;
pub mod architecture;
pub mod attention;
pub mod common;
pub mod compare;
pub mod findings;
pub mod header;
pub mod hub;
pub mod intervene_ab;
pub mod intervene_form;
pub mod interventions;
pub mod intro;
pub mod paper_ablations;
pub mod paper_figures;
pub mod prompt_check;
pub mod scaling;
pub mod share;
pub mod state;
pub mod tour;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::paper::url::PAPER_VIEWS;
use crate::state::Ui;
use crate::urlstate::VIEWS;

/// Every view's (id, tab label), in tab order: the page's views, then the paper's.
pub fn all_views() -> Vec<(&'static str, &'static str)> {
    VIEWS.iter().chain(PAPER_VIEWS.iter()).copied().collect()
}

/// The tab `key` moves to from tab `i` of `n` (arrows wrap; Home, End), if any.
pub fn tab_target(key: &str, i: usize, n: usize) -> Option<usize> {
    if n == 0 {
        return None;
    }
    match key {
        "ArrowRight" | "ArrowDown" => Some((i + 1) % n),
        "ArrowLeft" | "ArrowUp" => Some((i + n - 1) % n),
        "Home" => Some(0),
        "End" => Some(n - 1),
        _ => None,
    }
}

fn focus_tab(id: &str) {
    let el = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(&format!("tab-{id}")))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(el) = el {
        let _ = el.focus();
    }
}

/// The view tabs: one tab stop (the open view); arrow keys, Home and End move to and open
/// another view (automatic activation).
#[component]
pub fn Tabs(ui: Ui) -> impl IntoView {
    let keydown = move |ev: leptos::ev::KeyboardEvent| {
        let open = ui.view.get_untracked();
        let views = all_views();
        let i = views.iter().position(|(id, _)| *id == open).unwrap_or(0);
        if let Some(j) = tab_target(&ev.key(), i, views.len()) {
            ev.prevent_default();
            if let Some(&(id, _)) = views.get(j) {
                ui.view.set(id.to_string());
                focus_tab(id);
            }
        }
    };
    view! {
        <div class="tabs" role="tablist" aria-label="Views" on:keydown=keydown>
            {all_views().into_iter().map(|(id, label)| {
                let open = move || ui.view.get() == id;
                view! {
                    <button role="tab" id=format!("tab-{id}") class="tab" aria-controls="view-panel"
                        aria-selected=move || open().to_string()
                        tabindex=move || if open() { "0" } else { "-1" }
                        on:click=move |_| ui.view.set(id.to_string())>{label}</button>
                }
            }).collect_view()}
        </div>
    }
}

/// The tab panel around the open view, headed by the view's name (an `h2` for screen
/// readers: the views' own headings start at `h3`).
#[component]
pub fn ViewPanel(ui: Ui, children: Children) -> impl IntoView {
    let label = move || {
        let open = ui.view.get();
        all_views()
            .into_iter()
            .find(|(id, _)| *id == open)
            .map_or("View", |(_, l)| l)
    };
    view! {
        <div role="tabpanel" id="view-panel" aria-labelledby=move || format!("tab-{}", ui.view.get())>
            <h2 class="visually-hidden">{label}</h2>
            {children()}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::tab_target;

    #[test]
    fn arrow_keys_wrap_home_and_end_jump() {
        assert_eq!(tab_target("ArrowRight", 0, 5), Some(1));
        assert_eq!(tab_target("ArrowRight", 4, 5), Some(0));
        assert_eq!(tab_target("ArrowLeft", 0, 5), Some(4));
        assert_eq!(tab_target("Home", 3, 5), Some(0));
        assert_eq!(tab_target("End", 1, 5), Some(4));
        assert_eq!(tab_target("a", 1, 5), None);
        assert_eq!(tab_target("ArrowRight", 0, 0), None);
    }
}
