//! Setting the whole page to a [`Target`] ("Show me", tour steps), and computing the
//! target's figure once its models are loaded.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::state::PaperState;
use super::target::{Target, COMPUTED};
use crate::state::{Actions, Ui, MAX_MODELS};

/// Sets view, models, prompt and figure; a computed figure runs once its models are in.
pub fn show(target: Target, ui: Ui, actions: Actions, paper: PaperState) {
    ui.view.set(target.view.to_string());
    let models = actions.models;
    let n = target.models.len().clamp(1, MAX_MODELS);
    models.count.set(n);
    for (i, id) in target.models.iter().take(n).enumerate() {
        if models.slots[i].key.get_untracked().as_deref() != Some(*id) {
            actions.select(i, id.to_string());
        }
    }
    actions.generation.prompt.set(target.prompt.to_string());
    paper.figure.set(target.figure.map(str::to_string));
    // a new state: the last figure's "Stopped." or failure no longer applies
    if paper.busy.get_untracked().is_none() {
        paper.error.set(None);
    }
    let computed = target.figure.filter(|f| COMPUTED.contains(f));
    paper.pending.set(computed.map(str::to_string));
}

/// Runs the pending figure when every slot in use holds its chosen model, loaded.
pub fn run_pending(actions: Actions, paper: PaperState) {
    Effect::new(move |_| {
        let Some(figure) = paper.pending.get() else {
            return;
        };
        let all_in = actions.models.active().iter().all(|s| {
            let key = s.key.get();
            s.version.track();
            s.ready()
                && s.backend
                    .with_value(|b| b.as_ref().map(|b| Some(&b.loaded().id) == key.as_ref()))
                    .unwrap_or(false)
        });
        // The figures read metrics.json and the passage: wait for them too.
        let inputs = paper.zoo.get().is_some() && paper.heldout.get().is_some();
        if !all_in || !inputs || paper.busy.get().is_some() {
            return;
        }
        paper.pending.set(None);
        spawn_local(async move { paper.compute(&figure, actions.models).await });
    });
}
