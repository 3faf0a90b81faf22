//! Prompt analysis (Attention and State views), debounced after typing.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::Playground;
use crate::analysis;
use crate::web;

impl Playground {
    /// Analyzes the prompt on every ready model (Attention and State views), after the
    /// typing settles.
    pub fn schedule_analysis(self) {
        let seq = self.analysis_seq.get_value() + 1;
        self.analysis_seq.set_value(seq);
        spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(250).await;
            if self.analysis_seq.get_value() != seq {
                return;
            }
            let prompt = self.prompt.get_untracked();
            for slot in self.active_untracked() {
                let Some(backend) = slot.backend.get_value() else {
                    continue;
                };
                match analysis::analyze(&backend, &prompt).await {
                    Ok(a) => {
                        slot.analysis.set(Some(Arc::new(a)));
                        slot.analysis_error.set(None);
                    }
                    Err(e) => {
                        slot.analysis.set(None);
                        slot.analysis_error.set(Some(e));
                    }
                }
                web::yield_to_browser().await;
                if self.analysis_seq.get_value() != seq {
                    return;
                }
            }
        });
    }
}
