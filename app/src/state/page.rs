//! [`Page`]: every part of the page's state in one `Copy` bundle. Only the page shell
//! (`App`) and the status publisher hold it; views get the parts they read.

use super::analysis::AnalysisState;
use super::engine_choice::EngineChoice;
use super::generation::GenerationState;
use super::loading::Actions;
use super::messages::Messages;
use super::models::Models;
use super::sweep::SweepState;
use super::ui::Ui;
use crate::paper::PaperState;
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
    /// The paper's findings, figures and tour (`crate::paper`).
    pub paper: PaperState,
}

impl Page {
    /// Every part, from the URL hash (starts fetching the catalog).
    pub fn new(hash: HashState) -> Self {
        let ui = Ui::new(&hash);
        let messages = Messages::new();
        let models = Models::new(hash.models);
        let generation = GenerationState::new(hash.prompt);
        Page {
            ui,
            engine: EngineChoice::new(hash.cpu),
            models,
            generation,
            analysis: AnalysisState::new(models, generation.prompt, ui),
            sweep: SweepState::new(models, messages),
            messages,
            paper: PaperState::new(None),
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
