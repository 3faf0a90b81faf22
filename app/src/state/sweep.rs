//! The Scaling sweep's state and run: the models measured (ready slots, then a designed
//! architecture sent from the Architecture view), progress, and the measured points.
//!
//! Hand-written, not a resource: the sweep adds points one by one as they are measured,
//! shows progress, and is cancelled between pieces of work.

use std::rc::Rc;

use leptos::prelude::*;

use super::messages::{ErrorKey, Messages};
use super::models::Models;
use super::run::{RunState, SLICE_MS};
use crate::engine::Backend;
use crate::sweep::{self, Point};
use crate::web;

/// A designed architecture sent to Scaling (random weights).
#[derive(Clone, Copy)]
pub struct Designed {
    pub name: RwSignal<Option<String>>,
    pub backend: StoredValue<Option<Rc<Backend>>, LocalStorage>,
}

/// The sweep: settings, run, progress, points, and what it measures.
#[derive(Clone, Copy)]
pub struct SweepState {
    /// The range of context lengths (both in the link: `sweep_min`, `sweep_max`).
    pub min_len: RwSignal<usize>,
    pub max_len: RwSignal<usize>,
    pub run: RwSignal<RunState>,
    pub progress: RwSignal<f64>,
    /// "<model> at <n> tokens" while measuring.
    pub current: RwSignal<String>,
    pub points: RwSignal<Vec<Point>>,
    pub cancel: StoredValue<bool>,
    pub designed: Designed,
    /// The slots it measures.
    models: Models,
    messages: Messages,
}

impl SweepState {
    pub fn new(models: Models, messages: Messages) -> Self {
        SweepState {
            min_len: RwSignal::new(sweep::LENGTHS[0]),
            max_len: RwSignal::new(1024),
            run: RwSignal::new(RunState::Idle),
            progress: RwSignal::new(0.0),
            current: RwSignal::new(String::new()),
            points: RwSignal::new(Vec::new()),
            cancel: StoredValue::new(false),
            designed: Designed {
                name: RwSignal::new(None),
                backend: StoredValue::new_local(None),
            },
            models,
            messages,
        }
    }

    /// Whether a sweep is running (tracked).
    pub fn running(self) -> bool {
        self.run.get() == RunState::Running
    }

    /// The models a sweep measures: ready slots, then the designed architecture.
    pub fn models(self) -> Vec<(String, Rc<Backend>)> {
        let mut out: Vec<(String, Rc<Backend>)> = self
            .models
            .active_untracked()
            .into_iter()
            .filter_map(|s| {
                let b = s.backend.get_value()?;
                let name = s.key.get_untracked().map(|k| self.models.model_name(&k))?;
                Some((name, b))
            })
            .collect();
        if let (Some(name), Some(b)) = (
            self.designed.name.get_untracked(),
            self.designed.backend.get_value(),
        ) {
            out.push((name, b));
        }
        out
    }

    /// Sends a designed architecture to be measured with the slots.
    pub fn design(self, name: String, backend: Backend) {
        self.designed.backend.set_value(Some(Rc::new(backend)));
        self.designed.name.set(Some(name));
    }

    fn end(self, state: RunState) {
        if let RunState::Failed(e) = &state {
            self.messages
                .report(ErrorKey::Sweep, format!("Scaling sweep stopped: {e}"));
        }
        self.run.set(state);
    }

    /// Measures prefill and decode at each context length, in time slices.
    pub async fn run(self) {
        if self.run.get_untracked() == RunState::Running {
            return;
        }
        self.messages.clear(ErrorKey::Sweep);
        let models = self.models();
        if models.is_empty() {
            return self.end(RunState::Failed("no model is loaded yet".into()));
        }
        let lengths =
            sweep::lengths_between(self.min_len.get_untracked(), self.max_len.get_untracked());
        if lengths.is_empty() {
            return self.end(RunState::Failed(
                "the shortest context is longer than the longest".into(),
            ));
        }
        let tasks = sweep::plan(models.len(), &lengths);
        let total: f64 = tasks.iter().map(sweep::cost).sum();
        self.cancel.set_value(false);
        self.points.set(Vec::new());
        self.progress.set(0.0);
        self.run.set(RunState::Running);
        let now = web::now_ms;
        let mut done = 0.0;
        let mut skipped = 0usize;
        let mut slice_start = web::now_ms();
        for task in tasks {
            let Some((name, backend)) = models.get(task.model) else {
                continue;
            };
            if task.len > sweep::max_context(backend) {
                skipped += 1;
                continue;
            }
            let mut job = match sweep::Job::new(name, backend, task.len) {
                Ok(job) => job,
                Err(e) => return self.end(RunState::Failed(format!("{name}: {e}"))),
            };
            self.current
                .set(format!("{name} at {} tokens on {}", task.len, job.engine()));
            loop {
                if self.cancel.get_value() {
                    self.current.set(String::new());
                    return self.end(RunState::Stopped);
                }
                match job.advance(backend, &now).await {
                    Ok(Some(p)) => {
                        self.points.update(|v| v.push(p));
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        self.current.set(String::new());
                        return self.end(RunState::Failed(format!("{name}: {e}")));
                    }
                }
                if web::now_ms() - slice_start >= SLICE_MS {
                    web::yield_to_browser().await;
                    slice_start = web::now_ms();
                }
            }
            done += sweep::cost(&task);
            self.progress.set(done / total);
            web::yield_to_browser().await;
            slice_start = web::now_ms();
        }
        self.current.set(String::new());
        if skipped > 0 {
            self.messages.notice.set(Some(format!(
                "{skipped} measurements past {} tokens were left out: those models run on the CPU engine (the GPU engine measures up to {}).",
                sweep::CPU_MAX,
                sweep::GPU_MAX
            )));
        }
        self.end(RunState::Done);
    }
}
