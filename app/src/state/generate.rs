//! Generation: runs every ready model side by side, streaming text and stats into each
//! slot's [`Output`]. Models on the CPU engine run in its Web Worker (`engine::worker`):
//! this side only applies the replies, so the page never blocks. Models on the GPU
//! engine run here, in time slices (the GPU computes; this thread samples).
//!
//! Hand-written, not a resource: a run streams partial results many times a second,
//! is cancelled by "Stop", interleaves up to four models, and may move the page to the
//! CPU engine half-way; a resource yields one value per run.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::generation::{Output, Stats};
use super::loading::Actions;
use super::messages::ErrorKey;
use super::models::Slot;
use super::run::{RunState, SLICE_MS};
use crate::engine::{Backend, WorkerRun};
use crate::generation::{run_note, Generation};
use crate::sampling::Sampling;
use crate::web;
use crate::worker::protocol::Reply;

impl Actions {
    /// Generates with every ready model side by side.
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
            outputs(*s).reset();
            outputs(*s).run.set(RunState::Running);
            self.messages.clear(ErrorKey::Generate(s.index));
        }
        let (in_worker, here): (Vec<_>, Vec<_>) = slots
            .into_iter()
            .partition(|(_, b)| !b.is_gpu() && b.worker_key().is_some());
        if !in_worker.is_empty() {
            spawn_local(self.generate_in_worker(in_worker, prompt.clone(), sampling));
        }
        if !here.is_empty() {
            self.generate_here(here, &prompt, sampling).await;
        }
    }

    /// Runs `slots` in the CPU engine's worker and applies its replies. Where the worker
    /// is not there (it failed to start or stopped), the run happens on this thread.
    async fn generate_in_worker(
        self,
        slots: Vec<(Slot, Rc<Backend>)>,
        prompt: String,
        sampling: Sampling,
    ) {
        let gen = self.generation;
        let keys = slots
            .iter()
            .filter_map(|(s, b)| b.worker_key().map(|k| (s.index, k)))
            .collect();
        let mut run = match WorkerRun::start(keys, &prompt, sampling) {
            Ok(r) => r,
            Err(e) => {
                self.messages.notice.set(Some(format!(
                    "{e}. Generating on the page's own thread: it may freeze during long runs."
                )));
                return self.generate_here(slots, &prompt, sampling).await;
            }
        };
        let slot_of = |i: usize| slots.iter().map(|(s, _)| *s).find(|s| s.index == i);
        let mut stop_sent = false;
        while let Some(reply) = run.next().await {
            if !stop_sent && gen.stop.get_value() {
                run.stop();
                stop_sent = true;
            }
            let reply = match reply {
                Ok(r) => r,
                Err(e) => {
                    for (s, _) in &slots {
                        if gen.outputs[s.index].run.get_untracked() == RunState::Running {
                            self.finish(*s, RunState::Failed(e.clone()));
                        }
                    }
                    return;
                }
            };
            match reply {
                Reply::Prefill {
                    slot,
                    done,
                    total,
                    training_len,
                    ms,
                    ..
                } => {
                    let Some(s) = slot_of(slot) else { continue };
                    let out = gen.outputs[s.index];
                    out.note.set(run_note(done, total, training_len));
                    out.stats.update(|st| {
                        st.engine = "cpu";
                        st.prompt_tokens = total;
                        st.prefilled = done;
                        st.prefill_ms = ms;
                    });
                }
                Reply::Tokens {
                    slot,
                    ids,
                    text,
                    update,
                    ..
                } => {
                    let Some(s) = slot_of(slot) else { continue };
                    let out = gen.outputs[s.index];
                    out.ids.update(|v| v.extend(&ids));
                    out.text.update(|t| t.push_str(&text));
                    out.stats.update(|st| {
                        st.generated = update.generated;
                        st.decode_ms = update.decode_ms;
                        st.kv_bytes = update.kv_bytes;
                        st.ssm_bytes = update.ssm_bytes;
                        st.wasm_bytes = update.wasm_bytes;
                    });
                }
                Reply::Finished { slot, outcome, .. } => {
                    let Some(s) = slot_of(slot) else { continue };
                    let state = match outcome.as_deref() {
                        Ok("stopped") => RunState::Stopped,
                        Ok(_) => RunState::Done,
                        Err(e) => RunState::Failed(e.to_string()),
                    };
                    self.finish(s, state);
                }
                Reply::Ready { .. }
                | Reply::Loaded { .. }
                | Reply::RunOver { .. }
                | Reply::BenchRow { .. } => {}
            }
        }
    }

    /// Runs `slots` on this thread (the GPU engine), yielding every [`SLICE_MS`].
    async fn generate_here(
        self,
        slots: Vec<(Slot, Rc<Backend>)>,
        prompt: &str,
        sampling: Sampling,
    ) {
        let gen = self.generation;
        let outputs = |s: Slot| gen.outputs[s.index];
        web::yield_to_browser().await;
        // Prefill every model in chunks (each timed on its own).
        let mut runs: Vec<(Slot, Generation, Stats)> = Vec::new();
        for (s, backend) in slots {
            match self.prefill_here(s, backend, prompt, sampling).await {
                Ok(Some((g, stats))) => runs.push((s, g, stats)),
                Ok(None) => self.finish(s, RunState::Stopped),
                Err(e) => self.finish(s, RunState::Failed(e)),
            }
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

    /// Reads the prompt on this thread in chunks, yielding between them; `None` if
    /// stopped.
    async fn prefill_here(
        self,
        slot: Slot,
        backend: Rc<Backend>,
        prompt: &str,
        sampling: Sampling,
    ) -> Result<Option<(Generation, Stats)>, String> {
        let out = self.generation.outputs[slot.index];
        let t0 = web::now_ms();
        let mut g = Generation::new(backend, prompt, sampling)?;
        loop {
            let done = g.prefill_step().await?;
            let b = g.state_bytes();
            let stats = Stats {
                engine: if g.on_gpu() { "gpu" } else { "cpu" },
                prompt_tokens: g.prompt_len(),
                prefilled: g.prefilled(),
                prefill_ms: web::now_ms() - t0,
                kv_bytes: b.kv_cache,
                ssm_bytes: b.ssm_state + b.conv_state,
                ..Stats::default()
            };
            out.stats.set(stats);
            out.note
                .set(run_note(g.prefilled(), g.prompt_len(), g.training_len()));
            web::yield_to_browser().await;
            if self.generation.stop.get_value() {
                return Ok(None);
            }
            if done {
                return Ok(Some((g, stats)));
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
