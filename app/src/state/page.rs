//! [`Page`]: every part of the page's state in one `Copy` bundle. Only the page shell
//! (`App`) and the status publisher hold it; views get the parts they read.

use super::analysis::AnalysisState;
use super::design::DesignState;
use super::engine_choice::EngineChoice;
use super::generation::GenerationState;
use super::hub::HubState;
use super::intervene::InterveneState;
use super::loading::Actions;
use super::messages::Messages;
use super::models::Models;
use super::sweep::SweepState;
use super::ui::Ui;
use leptos::prelude::GetUntracked;

use crate::paper::PaperState;
use crate::sampling::SamplingForm;
use crate::urlstate::HashState;

/// The page's state, by concern.
#[derive(Clone, Copy)]
pub struct Page {
    pub ui: Ui,
    pub engine: EngineChoice,
    pub models: Models,
    pub generation: GenerationState,
    pub analysis: AnalysisState,
    pub sweep: SweepState,
    pub messages: Messages,
    pub design: DesignState,
    /// "Open from Hugging Face".
    pub hub: HubState,
    /// The paper's findings, figures and tour (`crate::paper`).
    pub paper: PaperState,
    /// The Interventions panel (issue #11).
    pub intervene: InterveneState,
}

impl Page {
    /// Every part, from the URL hash (starts fetching the catalog).
    pub fn new(hash: HashState) -> Self {
        let ui = Ui::new(&hash);
        let messages = Messages::new();
        let models = Models::new(hash.models);
        let generation = GenerationState::new(hash.prompt);
        let sweep = SweepState::new(models, messages);
        bind_settings(ui, generation, sweep);
        Page {
            ui,
            engine: EngineChoice::new(hash.cpu),
            models,
            generation,
            analysis: AnalysisState::new(models, generation.prompt, ui),
            sweep,
            messages,
            design: DesignState::new(ui),
            hub: HubState::new(),
            paper: PaperState::new(None),
            intervene: InterveneState::new(ui),
        }
    }

    /// What the model strip and the Compare view act with.
    pub fn actions(self) -> Actions {
        Actions {
            models: self.models,
            engine: self.engine,
            generation: self.generation,
            messages: self.messages,
        }
    }
}

/// The sampling form and the sweep's range in the link (`ui::Ui::bind`).
fn bind_settings(ui: Ui, generation: GenerationState, sweep: SweepState) {
    let form = generation.form;
    let d = SamplingForm::default();
    ui.bind("max_new", form.max_new_tokens, d.max_new_tokens);
    ui.bind("temp", form.temperature, d.temperature);
    ui.bind("top_k", form.top_k, d.top_k);
    ui.bind("top_p", form.top_p, d.top_p);
    ui.bind("seed", form.seed, d.seed);
    ui.bind("sweep_min", sweep.min_len, sweep.min_len.get_untracked());
    ui.bind("sweep_max", sweep.max_len, sweep.max_len.get_untracked());
}
