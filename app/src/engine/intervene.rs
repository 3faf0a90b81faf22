//! Interventions (issue #11) on a backend: checking a set against the model, and the
//! intervened forwards the Interventions panel runs. Which engine runs them is decided in
//! one place, [`Backend::intervened_session`]: the CPU reference engine today
//! (`Model::forward_with`), for GPU slots too; a GPU engine that applies interventions
//! can be routed there without touching the panel.

use hybrid_core::{ForwardOptions, Interventions, Probes, StateBytes};

use super::backend::Backend;
use super::session::Session;

/// The engine name of intervened runs, as the panel labels its numbers.
pub const INTERVENED_ENGINE: &str = "CPU (wasm)";

impl Backend {
    /// Parses `text` (JSON or the short syntax) and checks it against this model
    /// (layers, kinds, heads, factors); errors are messages for the page.
    pub fn interventions(&self, text: &str) -> Result<Interventions, String> {
        let set = Interventions::parse(text).map_err(|e| e.to_string())?;
        set.plan(self.config()).map_err(|e| e.to_string())?;
        Ok(set)
    }

    /// An empty session for an intervened run, and the engine it runs on: the one place
    /// that routes interventions to an engine.
    pub fn intervened_session(&self) -> (Session, &'static str) {
        (self.new_session(), INTERVENED_ENGINE)
    }

    /// Runs `tokens` from `session` (from [`Backend::intervened_session`]) under `set`;
    /// returns the logits of every token, [T, V].
    pub fn feed_with(
        &self,
        session: &mut Session,
        tokens: &[u32],
        set: &Interventions,
    ) -> Result<Vec<f32>, String> {
        let opts = ForwardOptions {
            all_logits: true,
            ..ForwardOptions::default()
        };
        match session {
            Session::Cpu(s) => (self.loaded().model)
                .forward_with(s, tokens, opts, set)
                .map(|f| f.logits)
                .map_err(|e| e.to_string()),
            Session::Gpu(_) => Err("interventions run on the CPU engine".into()),
        }
    }

    /// Runs `tokens` from an empty state under `set` with probes on; returns the probes
    /// the memory the state holds afterwards and the engine that computed them.
    pub fn probe_with(
        &self,
        tokens: &[u32],
        set: &Interventions,
    ) -> Result<(Probes, StateBytes, &'static str), String> {
        let (session, engine) = self.intervened_session();
        let Session::Cpu(mut state) = session else {
            return Err("interventions run on the CPU engine".into());
        };
        let opts = ForwardOptions {
            probes: true,
            ..ForwardOptions::default()
        };
        let out = (self.loaded().model)
            .forward_with(&mut state, tokens, opts, set)
            .map_err(|e| e.to_string())?;
        let probes = out.probes.ok_or("the engine returned no probes")?;
        Ok((probes, state.bytes(), engine))
    }
}
