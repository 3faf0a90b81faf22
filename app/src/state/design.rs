//! The Architecture view's state, kept while other views are open and in the link:
//! the preset it started from (`#arch_from=`), the edited config when it differs from
//! that preset (`#arch=` compact `config.json`), and the context for the numbers
//! (`#ctx=`).

use leptos::prelude::*;

use super::ui::Ui;
use crate::arch;
use crate::arch_extra::Design;

/// The preset a fresh page starts from.
pub const START_PRESET: &str = "playground-inter";

/// The config being designed and what its numbers are computed at.
#[derive(Clone, Copy)]
pub struct DesignState {
    /// `None` only where even the bundled preset failed (the message says why).
    pub draft: RwSignal<Option<Design>>,
    /// The preset id it started from.
    pub preset: RwSignal<String>,
    /// The context for the numbers, as typed.
    pub context: RwSignal<String>,
    /// Why the link's plan or a preset was not used.
    pub message: RwSignal<Option<String>>,
}

impl DesignState {
    /// From the link, else the start preset.
    pub fn new(ui: Ui) -> Self {
        let wanted = ui
            .field("arch_from")
            .filter(|id| arch::PRESETS.iter().any(|p| p.id == id));
        let preset = wanted.unwrap_or_else(|| START_PRESET.to_string());
        let mut message = None;
        let from_preset = || arch::preset(&preset).map(Design::new);
        let draft = match ui.field("arch").map(|text| Design::parse(&text)) {
            Some(Ok(d)) => Ok(d),
            Some(Err(e)) => {
                message = Some(format!(
                    "The link's architecture could not be read ({e}); showing the preset instead."
                ));
                from_preset()
            }
            None => from_preset(),
        };
        let draft = draft.map_err(|e| message = Some(e)).ok();
        let s = DesignState {
            draft: RwSignal::new(draft),
            preset: RwSignal::new(preset),
            context: RwSignal::new("8192".into()),
            message: RwSignal::new(message),
        };
        ui.bind("ctx", s.context, "8192".to_string());
        ui.bind("arch_from", s.preset, START_PRESET.to_string());
        Effect::new(move |_| {
            let edited = s.draft.with(|d| {
                let d = d.as_ref()?;
                let base = arch::preset(&s.preset.get()).ok().map(Design::new);
                (base.as_ref() != Some(d)).then(|| d.to_value().to_string())
            });
            ui.set_field("arch", edited);
        });
        s
    }

    /// Starts over from preset `id`.
    pub fn load_preset(self, id: String) {
        match arch::preset(&id) {
            Ok(c) => {
                self.draft.set(Some(Design::new(c)));
                self.preset.set(id);
                self.message.set(None);
            }
            Err(e) => self.message.set(Some(e)),
        }
    }

    /// Applies `f` to the draft, then refits the sections and windows to the plan.
    pub fn edit(self, f: impl FnOnce(&mut Design)) {
        self.draft.update(|d| {
            if let Some(d) = d.as_mut() {
                f(d);
                arch::fit_sections(&mut d.config);
                d.fit_windows();
            }
        });
    }
}
