//! How the page is shown: the open view, presenter mode, the color theme, and the settings
//! other modules keep in the link (all in the URL hash, which `state::status` keeps in
//! step).
//!
//! # Adding a setting to the link
//! A module with a signal `s` (any `T: FromStr + Display + PartialEq`) calls once, where
//! it builds its state, `ui.bind("key", s, default)`: `s` starts from `#key=...` when the
//! link has it, and the link follows `s` (the key is left out while `s == default`).
//! Without a signal: `ui.field("key")` reads, `ui.set_field("key", Some(v))` writes.
//! Keys: 1-32 of `a-z 0-9 _ -` (`urlstate::valid_key`).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

use leptos::prelude::*;

use crate::urlstate::{valid_key, HashState};

/// How much larger presenter mode draws everything: text (the root font size, 16 px to
/// 22 px in style.css), charts, heatmaps and their labels.
pub const PRESENTER_ZOOM: f64 = 1.375;

/// The open view, presenter mode, theme, and the other settings of the link.
#[derive(Clone, Copy)]
pub struct Ui {
    /// The open view's id (`urlstate::VIEWS`).
    pub view: RwSignal<String>,
    /// Presenter mode (`large=1` in the URL): larger, high-contrast, redrawn at the size.
    pub large: RwSignal<bool>,
    /// `None`: follow the system; `Some("dark" | "light")`.
    pub theme: RwSignal<Option<String>>,
    /// The link's other `key=value` pairs (`HashState::fields`).
    pub fields: RwSignal<BTreeMap<String, String>>,
    /// Attention view: the layer, head and hovered token chosen (0-based).
    pub layer: RwSignal<usize>,
    pub head: RwSignal<usize>,
    /// State view: the token position chosen (0-based).
    pub token: RwSignal<usize>,
}

impl Ui {
    /// From the URL hash.
    pub fn new(hash: &HashState) -> Self {
        let ui = Ui {
            view: RwSignal::new(hash.view.clone().unwrap_or_else(|| "compare".into())),
            large: RwSignal::new(hash.large),
            theme: RwSignal::new(hash.theme.clone()),
            fields: RwSignal::new(hash.fields.clone()),
            layer: RwSignal::new(0),
            head: RwSignal::new(0),
            token: RwSignal::new(0),
        };
        ui.bind("layer", ui.layer, 0);
        ui.bind("head", ui.head, 0);
        ui.bind("token", ui.token, 0);
        ui
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

    /// The link's value of `key` (untracked).
    pub fn field(self, key: &str) -> Option<String> {
        self.fields.with_untracked(|f| f.get(key).cloned())
    }

    /// Writes (`Some`) or drops (`None`) `key` in the link; invalid keys are ignored.
    pub fn set_field(self, key: &str, value: Option<String>) {
        if !valid_key(key) || self.fields.with_untracked(|f| f.get(key) == value.as_ref()) {
            return;
        }
        self.fields.update(|f| match value {
            Some(v) => {
                f.insert(key.to_string(), v);
            }
            None => {
                f.remove(key);
            }
        });
    }

    /// Ties `signal` to `#key=`: starts from the link's value when it parses, then keeps
    /// the link in step (no key while the value equals `default`).
    pub fn bind<T>(self, key: &'static str, signal: RwSignal<T>, default: T)
    where
        T: FromStr + Display + PartialEq + Send + Sync + 'static,
    {
        if let Some(v) = self.field(key).and_then(|v| v.parse::<T>().ok()) {
            signal.set(v);
        }
        Effect::new(move |_| {
            let value = signal.with(|v| (*v != default).then(|| v.to_string()));
            self.set_field(key, value);
        });
    }
}
