//! The guided tour's panel: the step's title, what to notice and a question for students,
//! progress, previous / next (also the arrow keys) and close (Escape). Each step sets the
//! page to its state (`paper::apply::show`); the URL carries `tour=N`.

use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::paper::apply::show;
use crate::paper::tour::STEPS;
use crate::paper::PaperState;
use crate::state::{Actions, InterveneState, Ui};
use crate::views::interventions::{DemoButton, DEMOS};

/// Opens step `i` (clamped) and sets the page to its state.
pub fn go(i: usize, ui: Ui, actions: Actions, paper: PaperState) {
    let i = i.min(STEPS.len() - 1);
    paper.tour.set(Some(i));
    if let Some(step) = STEPS.get(i) {
        show(step.target, ui, actions, paper);
    }
}

/// Whether a key event comes from a text field (the arrows move the caret there).
fn in_text_field(ev: &web_sys::KeyboardEvent) -> bool {
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .map(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
        .unwrap_or(false)
}

/// The tour panel (nothing while the tour is closed).
#[component]
pub fn TourPanel(ui: Ui, actions: Actions, paper: PaperState, iv: InterveneState) -> impl IntoView {
    let handle = window_event_listener(ev::keydown, move |ev| {
        let Some(i) = paper.tour.get_untracked() else {
            return;
        };
        if in_text_field(&ev) {
            return;
        }
        match ev.key().as_str() {
            "ArrowRight" | "PageDown" if i + 1 < STEPS.len() => go(i + 1, ui, actions, paper),
            "ArrowLeft" | "PageUp" if i > 0 => go(i - 1, ui, actions, paper),
            "Escape" => paper.tour.set(None),
            _ => {}
        }
    });
    on_cleanup(move || handle.remove());
    move || {
        let i = paper.tour.get()?;
        let step = STEPS.get(i)?;
        let n = STEPS.len();
        let demos = DEMOS
            .iter()
            .filter(|d| d.step == i)
            .map(|d| view! { <DemoButton demo=d ui=ui actions=actions paper=paper iv=iv /> })
            .collect_view();
        Some(view! {
            <aside class="tour" id="tour" role="region" aria-label="Guided tour" data-step=i + 1>
                <div class="tour-head">
                    <progress max=n value=i + 1 aria-label="Tour progress"></progress>
                    <span class="tour-count">{format!("Step {} of {n}", i + 1)}</span>
                </div>
                <h2>{step.title}</h2>
                <p class="tour-notice"><strong>"Notice: "</strong>{step.notice}</p>
                <p class="tour-question"><strong>"Ask: "</strong>{step.question}</p>
                {demos}
                <div class="tour-buttons">
                    <button id="tour-prev" disabled={i == 0}
                        on:click=move |_| go(i.saturating_sub(1), ui, actions, paper)>"← Previous"</button>
                    <button id="tour-next" disabled={i + 1 >= n}
                        on:click=move |_| go(i + 1, ui, actions, paper)>"Next →"</button>
                    <button id="tour-close" on:click=move |_| paper.tour.set(None)>"Close the tour"</button>
                </div>
                <p class="hint">"Keys: ← → move, Esc closes."</p>
            </aside>
        })
    }
}
