//! The engine seam: every view talks to a [`Backend`], never to an engine crate directly.
//! Today there is one engine, the CPU reference (`hybrid_core`, compiled to wasm); the GPU
//! engine (`gpu/`) plugs in as another variant with the same operations.

use std::rc::Rc;

use hybrid_core::weights::Weights;
use hybrid_core::{ForwardOptions, ModelConfig, Probes, State, StateBytes, Tokenizer};

use crate::session::LoadedModel;

/// A model on an engine.
pub enum Backend {
    /// The CPU reference engine.
    Cpu(Rc<LoadedModel>),
}

/// The running state of one sequence on a backend (KV caches, conv and SSM states).
pub enum Session {
    Cpu(State),
}

impl Session {
    /// Memory the state holds now, measured.
    pub fn bytes(&self) -> StateBytes {
        match self {
            Session::Cpu(s) => s.bytes(),
        }
    }

    /// Tokens consumed so far.
    pub fn position(&self) -> usize {
        match self {
            Session::Cpu(s) => s.pos,
        }
    }
}

impl Backend {
    /// A CPU model from its three files (errors name the file at fault).
    pub fn cpu_from_files(
        id: &str,
        config: &[u8],
        weights: &[u8],
        tokenizer: &[u8],
    ) -> Result<Self, String> {
        Ok(Backend::Cpu(Rc::new(LoadedModel::from_files(
            id, config, weights, tokenizer,
        )?)))
    }

    /// A designed architecture with seeded random weights (no tokenizer: timing only).
    pub fn cpu_random(id: &str, config: ModelConfig, seed: u64) -> Result<Self, String> {
        let weights = Weights::random(&config, seed).map_err(|e| e.to_string())?;
        Ok(Backend::Cpu(Rc::new(LoadedModel {
            id: id.to_string(),
            model: hybrid_core::Model::new(config, weights),
            tokenizer: None,
        })))
    }

    /// The engine's name for the page.
    pub fn engine_name(&self) -> &'static str {
        match self {
            Backend::Cpu(_) => "CPU (wasm)",
        }
    }

    /// The loaded model behind a CPU backend.
    pub fn loaded(&self) -> &Rc<LoadedModel> {
        match self {
            Backend::Cpu(m) => m,
        }
    }

    pub fn config(&self) -> &ModelConfig {
        self.loaded().model.config()
    }

    pub fn tokenizer(&self) -> Option<&Tokenizer> {
        self.loaded().tokenizer.as_ref()
    }

    /// An empty session.
    pub fn new_session(&self) -> Session {
        match self {
            Backend::Cpu(m) => Session::Cpu(m.model.new_state()),
        }
    }

    /// Runs `tokens` through the model from `session`; returns the last token's logits.
    pub fn feed(&self, session: &mut Session, tokens: &[u32]) -> Result<Vec<f32>, String> {
        match (self, session) {
            (Backend::Cpu(m), Session::Cpu(s)) => {
                m.model.prefill(s, tokens).map_err(|e| e.to_string())
            }
        }
    }

    /// Runs `tokens` from an empty state with probes on; returns the probes and the
    /// memory the state holds afterwards.
    pub fn probe(&self, tokens: &[u32]) -> Result<(Probes, StateBytes), String> {
        match self {
            Backend::Cpu(m) => {
                let mut state = m.model.new_state();
                let out = m
                    .model
                    .forward(
                        &mut state,
                        tokens,
                        ForwardOptions {
                            probes: true,
                            ..ForwardOptions::default()
                        },
                    )
                    .map_err(|e| e.to_string())?;
                let probes = out.probes.ok_or("the engine returned no probes")?;
                Ok((probes, state.bytes()))
            }
        }
    }
}
