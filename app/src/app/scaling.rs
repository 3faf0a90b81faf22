//! Scaling sweeps: the models measured (slots, designed architecture) and the sweep run.

use std::rc::Rc;

use leptos::prelude::*;

use super::{Playground, RunState, SLICE_MS};
use crate::engine::Backend;
use crate::sweep;
use crate::web;

impl Playground {
    /// The models a sweep measures: ready slots, then the designed architecture.
    pub fn sweep_models(self) -> Vec<(String, Rc<Backend>)> {
        let mut out: Vec<(String, Rc<Backend>)> = self
            .active_untracked()
            .into_iter()
            .filter_map(|s| {
                let b = s.backend.get_value()?;
                let name = s.key.get_untracked().map(|k| self.model_name(&k))?;
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

    /// Measures prefill and decode at each context length, in time slices.
    pub async fn run_sweep(self) {
        let sw = self.sweep;
        if sw.run.get_untracked() == RunState::Running {
            return;
        }
        let models = self.sweep_models();
        if models.is_empty() {
            return sw
                .run
                .set(RunState::Failed("no model is loaded yet".into()));
        }
        let lengths = sweep::lengths_up_to(sw.max_len.get_untracked());
        let tasks = sweep::plan(models.len(), &lengths);
        let total: f64 = tasks.iter().map(sweep::cost).sum();
        sw.cancel.set_value(false);
        sw.points.set(Vec::new());
        sw.progress.set(0.0);
        sw.run.set(RunState::Running);
        let now = web::now_ms;
        let mut done = 0.0;
        let mut slice_start = web::now_ms();
        for task in tasks {
            let Some((name, backend)) = models.get(task.model) else {
                continue;
            };
            sw.current.set(format!("{name} at {} tokens", task.len));
            let mut job = sweep::Job::new(name, backend, task.len);
            loop {
                if sw.cancel.get_value() {
                    sw.current.set(String::new());
                    return sw.run.set(RunState::Stopped);
                }
                match job.advance(backend, &now) {
                    Ok(Some(p)) => {
                        sw.points.update(|v| v.push(p));
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        sw.current.set(String::new());
                        return sw.run.set(RunState::Failed(format!("{name}: {e}")));
                    }
                }
                if web::now_ms() - slice_start >= SLICE_MS {
                    web::yield_to_browser().await;
                    slice_start = web::now_ms();
                }
            }
            done += sweep::cost(&task);
            sw.progress.set(done / total);
            web::yield_to_browser().await;
            slice_start = web::now_ms();
        }
        sw.current.set(String::new());
        sw.run.set(RunState::Done);
    }
}
