//! Findings: one card per finding of the paper (its number, the zoo's from the committed
//! metrics, the verdict, "Show me"), then the paper's figures computed in the page
//! (`views::paper_figures`).

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::paper::apply::show;
use crate::paper::findings::{self, Finding};
use crate::paper::metrics::Zoo;
use crate::paper::PaperState;
use crate::state::{Actions, InterveneState, Ui};
use crate::views::common::Caption;
use crate::views::interventions::{DemoButton, DEMOS};
use crate::views::paper_figures::PaperFigures;

/// Scrolls `fig-<figure>` into view after the next paint.
fn scroll_to_figure(figure: String) {
    request_animation_frame(move || {
        let el = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(&format!("fig-{figure}")));
        if let Some(el) = el.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            el.scroll_into_view();
        }
    });
}

fn card(
    f: &Finding,
    zoo: Option<&Zoo>,
    ui: Ui,
    actions: Actions,
    paper: PaperState,
    iv: InterveneState,
) -> impl IntoView {
    let (rows, verdict) = match zoo {
        Some(z) => ((f.zoo)(z), Some((f.verdict)(z))),
        None => (Vec::new(), None),
    };
    let (scale, decimals) = (f.scale, f.decimals);
    let rows = rows
        .into_iter()
        .map(|(name, stat)| {
            let value = stat
                .map(|s| s.text(scale, decimals))
                .unwrap_or_else(|| "not measured".into());
            view! { <tr><th scope="row">{name}</th><td class="num">{value}</td></tr> }
        })
        .collect_view();
    let (marker, text) = match &verdict {
        Some(v) => (v.marker(), v.text().to_string()),
        None => ("loading", "reading the metrics…".to_string()),
    };
    let target = f.show;
    let demos = DEMOS
        .iter()
        .filter(|d| d.finding == f.id)
        .map(|d| view! { <DemoButton demo=d ui=ui actions=actions paper=paper iv=iv /> })
        .collect_view();
    view! {
        <article class="finding" id=format!("finding-{}", f.id) data-verdict=marker>
            <h3>{f.title}</h3>
            <p><strong>"Paper: "</strong>{f.paper}</p>
            <table class="zoo">
                <caption>"Zoo: "{f.unit}" (mean ± sd over seeds, from metrics.json)"</caption>
                <tbody>{rows}</tbody>
            </table>
            <p class=format!("verdict verdict-{marker}")><strong>{marker}": "</strong>{text}</p>
            <button class="show-me" on:click=move |_| show(target, ui, actions, paper)>"Show me"</button>
            {demos}
        </article>
    }
}

/// The Findings view.
#[component]
pub fn FindingsView(
    ui: Ui,
    actions: Actions,
    paper: PaperState,
    iv: InterveneState,
) -> impl IntoView {
    Effect::new(move |_| {
        if let Some(f) = paper.figure.get() {
            scroll_to_figure(f);
        }
    });
    let cards = move || {
        let zoo = paper.zoo();
        findings::all()
            .iter()
            .map(|f| card(f, zoo.as_ref(), ui, actions, paper, iv))
            .collect_view()
    };
    let problems = move || {
        match paper.zoo.get() {
        Some(Err(e)) => Some(view! { <p class="error" data-testid="error">{e}</p> }.into_any()),
        Some(Ok((_, missing))) if !missing.is_empty() => Some(
            view! { <p class="hint">"Not read (left out of the numbers): "{missing.join("; ")}</p> }
                .into_any(),
        ),
        _ => None,
    }
    };
    view! {
        <section class="findings-view" aria-labelledby="findings-title">
            <h2 id="findings-title">"Findings: the paper beside the zoo"</h2>
            <Caption text="Each card: the paper's number at 1B, the tiny zoo's from its committed metrics, and whether they agree. Show me sets the page to see it happen." />
            <button class="start-tour" on:click=move |_| crate::views::tour::go(0, ui, actions, paper)>"Start the guided tour"</button>
            {problems}
            <div class="finding-cards">{cards}</div>
            <PaperFigures ui=ui actions=actions paper=paper />
        </section>
    }
}
