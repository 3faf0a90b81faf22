//! Checkpoints opened from disk ("Open your checkpoint…"): checked with the same errors
//! as bundled models, added to the pickers (in this tab only) and put into a slot.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::loading::Actions;
use super::messages::ErrorKey;
use super::models::{FILE_PREFIX, MAX_MODELS};
use crate::catalog::ModelEntry;
use crate::engine::Backend;

impl Actions {
    /// Validates a dropped checkpoint (config.json + model.safetensors + tokenizer.json)
    /// and puts it into a slot.
    pub fn add_user_model(self, files: Vec<(String, Vec<u8>)>) {
        self.messages.clear(ErrorKey::Checkpoint);
        let find = |name: &str| {
            files
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, b)| b.as_slice())
        };
        let (Some(config), Some(weights), Some(tokenizer)) = (
            find("config.json"),
            find("model.safetensors"),
            find("tokenizer.json"),
        ) else {
            let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
            return self.checkpoint_failed(format!(
                "choose three files together: config.json, model.safetensors and tokenizer.json (got: {})",
                if names.is_empty() { "nothing".to_string() } else { names.join(", ") }
            ));
        };
        match Backend::cpu_from_files("your checkpoint", config, weights, tokenizer) {
            Ok(b) => spawn_local(self.add_user_backend(b)),
            Err(e) => self.checkpoint_failed(e),
        }
    }

    /// Reports a checkpoint from disk that could not be opened.
    pub fn checkpoint_failed(self, e: String) {
        self.messages.report(
            ErrorKey::Checkpoint,
            format!("Could not open your checkpoint: {e}"),
        );
    }

    async fn add_user_backend(self, backend: Backend) {
        let backend = Rc::new(self.on_engine(backend).await);
        let n = self.models.opened_models.with_value(|u| u.len()) + 1;
        let id = format!("{FILE_PREFIX}{n}");
        let name = format!("Your checkpoint {n}: {}", backend.config().display_name());
        self.models
            .opened_models
            .update_value(|u| u.push((id.clone(), backend.clone())));
        self.models.opened.update(|m| {
            m.push(ModelEntry {
                id: id.clone(),
                name,
                description: "Opened from your disk; it stays in this tab.".into(),
                path: String::new(),
            })
        });
        let n = self.models.count.get_untracked();
        let slot = if n < MAX_MODELS {
            self.models.count.set(n + 1);
            n
        } else {
            n - 1
        };
        self.select(slot, id);
    }
}
