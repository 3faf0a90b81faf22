//! The first visit's introduction: what a hybrid is, inter vs intra, the layer letters,
//! what each view shows, and where to read more. Dismissed once, it stays closed
//! (localStorage); "About" in the header opens it again.

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

/// The localStorage key remembering that the intro was dismissed.
pub const DISMISSED_KEY: &str = "hybrid-playground.intro-dismissed";

/// The page's localStorage, if the browser allows it (private modes may not).
fn storage() -> Option<JsValue> {
    let window = web_sys::window()?;
    let s = js_sys::Reflect::get(&window, &"localStorage".into()).ok()?;
    (!s.is_null() && !s.is_undefined()).then_some(s)
}

fn call(storage: &JsValue, method: &str, args: &[&str]) -> Option<JsValue> {
    let f: js_sys::Function = js_sys::Reflect::get(storage, &method.into())
        .ok()?
        .dyn_into()
        .ok()?;
    let args: js_sys::Array = args.iter().map(|a| JsValue::from_str(a)).collect();
    f.apply(storage, &args).ok()
}

/// Whether the intro was dismissed on an earlier visit.
pub fn was_dismissed() -> bool {
    storage()
        .and_then(|s| call(&s, "getItem", &[DISMISSED_KEY]))
        .and_then(|v| v.as_string())
        .is_some_and(|v| v == "1")
}

fn remember(dismissed: bool) {
    if let Some(s) = storage() {
        if dismissed {
            let _ = call(&s, "setItem", &[DISMISSED_KEY, "1"]);
        } else {
            let _ = call(&s, "removeItem", &[DISMISSED_KEY]);
        }
    }
}

/// Whether the intro shows: open on a first visit, closed after "Got it".
#[derive(Clone, Copy)]
pub struct IntroState(pub RwSignal<bool>);

impl IntroState {
    pub fn new() -> Self {
        IntroState(RwSignal::new(!was_dismissed()))
    }

    pub fn set_open(self, open: bool) {
        self.0.set(open);
        remember(!open);
    }
}

impl Default for IntroState {
    fn default() -> Self {
        Self::new()
    }
}

/// The "About" button that opens the intro again.
#[component]
pub fn IntroToggle(intro: IntroState) -> impl IntoView {
    view! {
        <button id="intro-open" aria-controls="intro" aria-expanded=move || intro.0.get().to_string()
            on:click=move |_| intro.set_open(!intro.0.get_untracked())>"About"</button>
    }
}

/// The introduction panel.
#[component]
pub fn Intro(intro: IntroState) -> impl IntoView {
    view! {
        <Show when=move || intro.0.get()>
            <section id="intro" class="panel intro" aria-labelledby="intro-title">
                <div class="intro-head">
                    <h2 id="intro-title">"New here? A hybrid in one minute"</h2>
                    <button id="intro-dismiss" on:click=move |_| intro.set_open(false)>"Got it, hide this"</button>
                </div>
                <div class="intro-grid">
                    <p>
                        <strong>"A hybrid"</strong>" mixes two kinds of layers. "
                        <strong class="k-attn">"Attention"</strong>" looks back at every earlier token: exact recall, but its KV cache grows with the context. "
                        <strong class="k-mamba">"Mamba-2"</strong>" carries a fixed-size state: constant memory and cost per token, but it forgets with distance."
                    </p>
                    <p>
                        <strong>"Inter-layer"</strong>" (sequential) hybrids stack them: some layers attention, the rest Mamba. "
                        <strong>"Intra-layer"</strong>" (parallel) hybrids run both inside one layer on the same input and combine the two outputs. "
                        "The letters spell the layers from the input up: "<code>"A"</code>" attention, "<code>"M"</code>" Mamba-2, "<code>"I"</code>" intra; "
                        <code>"MIMMIM"</code>" is six layers, two of them intra."
                    </p>
                    <p>
                        <strong>"Views: "</strong>"Compare generates with several models side by side; Attention shows where each token looks; "
                        "State, what a Mamba layer carries; Scaling, speed and memory against context, measured here; Architecture, design your own layer plan. "
                        "Read the paper, "<a href="https://arxiv.org/abs/2510.04800" target="_blank" rel="noopener">"arXiv 2510.04800"</a>
                        ", and the docs: "<a href="README.md" target="_blank">"README"</a>", "<a href="ARCHITECTURE.md" target="_blank">"how the page works"</a>"."
                    </p>
                </div>
            </section>
        </Show>
    }
}
