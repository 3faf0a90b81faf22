//! How the page is shown: the open view, large text and the color theme (all in the URL
//! hash, which `state::status` keeps in step).

use leptos::prelude::*;

use crate::urlstate::HashState;

/// The open view, large-text mode and theme.
#[derive(Clone, Copy)]
pub struct Ui {
    /// The open view's id (`urlstate::VIEWS`).
    pub view: RwSignal<String>,
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
}
