//! Generation: runs every ready model side by side in time slices, streaming text and
//! stats into each slot's [`Output`].
//!
//! Hand-written, not a resource: a run streams partial results many times a second,
//! is cancelled by "Stop" between tokens, interleaves up to four models, and may move
//! the page to the CPU engine half-way; a resource yields one value per run.

use std::rc::Rc;

use leptos::prelude::*;

use super::generation::{Output, Stats};
use super::loading::Actions;
use super::messages::ErrorKey;
use super::models::Slot;
use super::run::{RunState, SLICE_MS};
use crate::engine::Backend;
use crate::generation::Generation;
use crate::web;

impl Actions {
    /// Generates with every ready model side by side, yielding every [`SLICE_MS`].
    pub async fn generate(self) {
        let gen = self.generation;
        let outputs = |s: Slot| gen.outputs[s.index];
        let active = self.models.active_untracked();
        if active
            .iter()
            .any(|s| outputs(*s).run.get_untracked() == RunState::Running)
        {
            return;
        }
        self.messages.clear(ErrorKey::Run);
        let sampling = match gen.form.snapshot().parse() {
            Ok(s) => s,
            Err(e) => return self.run_failed(e),
        };
        let prompt = gen.prompt.get_untracked();
        gen.stop.set_value(false);
        let slots: Vec<(Slot, Rc<Backend>)> = active
            .into_iter()
            .filter_map(|s| s.backend.get_value().map(|b| (s, b)))
            .collect();
        if slots.is_empty() {
            return self.run_failed("no model is loaded yet".into());
        }
        for (s, _) in &slots {
            let out = outputs(*s);
            out.text.set(String::new());
            out.ids.set(Vec::new());
            out.stats.set(Stats::default());
            out.run.set(RunState::Running);
            self.messages.clear(ErrorKey::Generate(s.index));
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
                    outputs(s).stats.set(stats);
                    runs.push((s, g, stats));
                }
                Err(e) => self.finish(s, RunState::Failed(e)),
            }
            web::yield_to_browser().await;
        }

        // Decode round-robin, one token per model per turn.
        let mut slice_start = web::now_ms();
        while !runs.is_empty() {
            let stopping = gen.stop.get_value();
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
                    let _ = show(outputs(*slot), g, *stats);
                }
            }
            for (k, outcome) in finished.into_iter().rev() {
                let (slot, g, stats) = runs.remove(k);
                if let Some(why) = g.fell_back() {
                    self.gpu_failed(why);
                }
                let outcome = match (show(outputs(slot), &g, stats), outcome) {
                    (Err(e), RunState::Done | RunState::Stopped) => RunState::Failed(e),
                    (_, o) => o,
                };
                self.finish(slot, outcome);
            }
            if slice_over {
                web::yield_to_browser().await;
                slice_start = web::now_ms();
            }
        }
    }

    /// A generation that could not start.
    fn run_failed(self, e: String) {
        self.messages
            .report(ErrorKey::Run, format!("Generation stopped: {e}"));
    }

    /// Ends slot `slot`'s run with `outcome`, reporting a failure.
    fn finish(self, slot: Slot, outcome: RunState) {
        if let RunState::Failed(e) = &outcome {
            let name = untrack(|| self.models.slot_name(slot));
            self.messages.report(
                ErrorKey::Generate(slot.index),
                format!("Generation stopped ({name}): {e}"),
            );
        }
        self.generation.outputs[slot.index].run.set(outcome);
    }
}

/// Puts a model's text so far into the page.
fn show(out: Output, g: &Generation, stats: Stats) -> Result<(), String> {
    let text = g.text()?;
    let b = g.state_bytes();
    out.text.set(text);
    out.ids.set(g.generated().to_vec());
    out.stats.set(Stats {
        kv_bytes: b.kv_cache,
        ssm_bytes: b.ssm_state + b.conv_state,
        ..stats
    });
    Ok(())
}
