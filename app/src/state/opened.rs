//! Checkpoints opened from disk ("Open your checkpoint…", "Open a local folder") or from
//! Hugging Face (`state::hub`): checked with the same errors as bundled models, added to
//! the pickers (in this tab only) and put into a slot.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::loading::Actions;
use super::messages::ErrorKey;
use super::models::{FILE_PREFIX, MAX_MODELS};
use crate::catalog::ModelEntry;
use crate::engine::{Backend, INDEX_FILE, WEIGHTS_FILE};

impl Actions {
    /// Validates checkpoint files chosen on disk (config.json + model.safetensors +
    /// tokenizer.json, or a Hugging Face folder, sharded or not) and puts the model into
    /// a slot.
    pub fn add_user_model(self, files: Vec<(String, Vec<u8>)>) {
        self.messages.clear(ErrorKey::Checkpoint);
        let has = |name: &str| files.iter().any(|(n, _)| n == name);
        if !(has("config.json") && has("tokenizer.json") && (has(WEIGHTS_FILE) || has(INDEX_FILE)))
        {
            let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
            return self.checkpoint_failed(format!(
                "choose config.json, tokenizer.json and model.safetensors (or a Hugging Face folder with {INDEX_FILE} and its shards) together (got: {})",
                if names.is_empty() { "nothing".to_string() } else { names.join(", ") }
            ));
        }
        let n = self.models.opened_models.with_value(|u| u.len()) + 1;
        let description = "Opened from your disk; it stays in this tab.";
        if let Err(e) = self.open_files(&format!("Your checkpoint {n}"), description, &files) {
            self.checkpoint_failed(e);
        }
    }

    /// Builds a model from its files by name and puts it into a slot, named
    /// "`name`: its config's name"; errors say which file is at fault.
    pub fn open_files(
        self,
        name: &str,
        description: &str,
        files: &[(String, Vec<u8>)],
    ) -> Result<(), String> {
        let named: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let backend = Backend::cpu_from_folder(name, &named)?;
        let name = format!("{name}: {}", backend.config().display_name());
        spawn_local(self.add_user_backend(backend, name, description.to_string()));
        Ok(())
    }

    /// Reports a checkpoint from disk that could not be opened.
    pub fn checkpoint_failed(self, e: String) {
        self.messages.report(
            ErrorKey::Checkpoint,
            format!("Could not open your checkpoint: {e}"),
        );
    }

    async fn add_user_backend(self, backend: Backend, name: String, description: String) {
        let backend = Rc::new(self.on_engine(backend).await);
        let n = self.models.opened_models.with_value(|u| u.len()) + 1;
        let id = format!("{FILE_PREFIX}{n}");
        self.models
            .opened_models
            .update_value(|u| u.push((id.clone(), backend.clone())));
        self.models.opened.update(|m| {
            m.push(ModelEntry {
                id: id.clone(),
                name,
                description,
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
