//! How the page is shown: the open view, presenter mode and the color theme (all in the
//! URL hash, which `state::status` keeps in step).

use leptos::prelude::*;

use crate::urlstate::HashState;

/// How much larger presenter mode draws everything: text (the root font size, 16 px to
/// 22 px in style.css), charts, heatmaps and their labels.
pub const PRESENTER_ZOOM: f64 = 1.375;

/// The open view, presenter mode and theme.
#[derive(Clone, Copy)]
pub struct Ui {
    /// The open view's id (`urlstate::VIEWS`).
    pub view: RwSignal<String>,
    /// Presenter mode (`large=1` in the URL): larger, high-contrast, redrawn at the size.
    pub large: RwSignal<bool>,
    /// `None`: follow the system; `Some("dark" | "light")`.
    pub theme: RwSignal<Option<String>>,
}

impl Ui {
    /// From the URL hash.
    pub fn new(hash: &HashState) -> Self {
        Ui {
            view: RwSignal::new(hash.view.clone().unwrap_or_else(|| "compare".into())),
            large: RwSignal::new(hash.large),
            theme: RwSignal::new(hash.theme.clone()),
        }
    }

    /// Whether the open view draws the prompt's analysis (Attention, State).
    pub fn shows_analysis(self) -> bool {
        matches!(self.view.get().as_str(), "attention" | "state")
    }

    /// The drawing factor: [`PRESENTER_ZOOM`] in presenter mode, else 1 (tracked).
    pub fn zoom(self) -> f64 {
        if self.large.get() {
            PRESENTER_ZOOM
        } else {
            1.0
        }
    }
}
