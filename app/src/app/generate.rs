//! Generation: runs every ready model side by side in time slices, streaming text and stats.

use std::rc::Rc;

use leptos::prelude::*;

use super::{show, Playground, RunState, Slot, Stats, SLICE_MS};
use crate::engine::Backend;
use crate::session::Generation;
use crate::web;

impl Playground {
    /// Generates with every ready model side by side, yielding every [`SLICE_MS`].
    pub async fn generate(self) {
        if self
            .active_untracked()
            .iter()
            .any(|s| s.run.get_untracked() == RunState::Running)
        {
            return;
        }
        self.run_error.set(None);
        let sampling = match self.form.snapshot().parse() {
            Ok(s) => s,
            Err(e) => return self.run_error.set(Some(e)),
        };
        let prompt = self.prompt.get_untracked();
        self.stop.set_value(false);
        let slots: Vec<(Slot, Rc<Backend>)> = self
            .active_untracked()
            .into_iter()
            .filter_map(|s| s.backend.get_value().map(|b| (s, b)))
            .collect();
        if slots.is_empty() {
            return self.run_error.set(Some("no model is loaded yet".into()));
        }
        for (s, _) in &slots {
            s.output.set(String::new());
            s.ids.set(Vec::new());
            s.stats.set(Stats::default());
            s.run.set(RunState::Running);
        }
        web::yield_to_browser().await;

        // Prefill every model (each timed on its own).
        let mut runs: Vec<(Slot, Generation, Stats)> = Vec::new();
        for (s, backend) in slots {
            let t0 = web::now_ms();
            match Generation::start(backend, &prompt, sampling).await {
                Ok(g) => {
                    let b = g.state_bytes();
                    let stats = Stats {
                        engine: if g.on_gpu() { "gpu" } else { "cpu" },
                        prompt_tokens: g.prompt_len(),
                        prefill_ms: web::now_ms() - t0,
                        kv_bytes: b.kv_cache,
                        ssm_bytes: b.ssm_state + b.conv_state,
                        ..Stats::default()
                    };
                    s.stats.set(stats);
                    runs.push((s, g, stats));
                }
                Err(e) => s.run.set(RunState::Failed(e)),
            }
            web::yield_to_browser().await;
        }

        // Decode round-robin, one token per model per turn.
        let mut slice_start = web::now_ms();
        while !runs.is_empty() {
            let stopping = self.stop.get_value();
            let mut finished = Vec::new();
            for (k, (_, g, stats)) in runs.iter_mut().enumerate() {
                if stopping {
                    finished.push((k, RunState::Stopped));
                    continue;
                }
                let t0 = web::now_ms();
                let step = g.next_token().await;
                stats.decode_ms += web::now_ms() - t0;
                stats.engine = if g.on_gpu() { "gpu" } else { "cpu" };
                stats.generated = g.generated().len();
                match step {
                    Ok(Some(_)) if !g.is_finished() => {}
                    Ok(_) => finished.push((k, RunState::Done)),
                    Err(e) => finished.push((k, RunState::Failed(e))),
                }
            }
            let slice_over = web::now_ms() - slice_start >= SLICE_MS;
            if slice_over || !finished.is_empty() {
                for (slot, g, stats) in runs.iter() {
                    // A decode error here shows again, as the run's outcome, when it ends.
                    let _ = show(*slot, g, *stats);
                }
            }
            for (k, outcome) in finished.into_iter().rev() {
                let (slot, g, stats) = runs.remove(k);
                if let Some(why) = g.fell_back() {
                    self.gpu_failed(why);
                }
                let outcome = match (show(slot, &g, stats), outcome) {
                    (Err(e), RunState::Done | RunState::Stopped) => RunState::Failed(e),
                    (_, o) => o,
                };
                slot.run.set(outcome);
            }
            if slice_over {
                web::yield_to_browser().await;
                slice_start = web::now_ms();
            }
        }
    }
}
