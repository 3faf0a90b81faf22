//! A model and its tokenizer, built from the bytes of its three files.

use hybrid_core::{Model, ModelConfig, Tokenizer};

use super::limits;

/// A model and its tokenizer, ready to generate.
pub struct LoadedModel {
    pub id: String,
    pub model: Model,
    /// `None` for designed architectures with random weights (timing only).
    pub tokenizer: Option<Tokenizer>,
    /// The key of this model's copy in the CPU engine's worker (page only).
    pub worker_key: Option<u64>,
}

impl Drop for LoadedModel {
    fn drop(&mut self) {
        if let Some(key) = self.worker_key {
            super::worker::forget(key);
        }
    }
}

impl LoadedModel {
    /// Builds the model from the bytes of its three files; errors say which file is wrong.
    pub fn from_files(
        id: &str,
        config: &[u8],
        weights: &[u8],
        tokenizer: &[u8],
    ) -> Result<Self, String> {
        if let Ok(cfg) = ModelConfig::from_json(config) {
            limits::check_fits_page(id, &cfg, Some(weights.len() as u64))?;
        }
        let model = Model::from_bytes(config, weights)
            .map_err(|e| format!("model files of {id:?}: {e}"))?;
        let tokenizer = Tokenizer::from_bytes(tokenizer)
            .map_err(|e| format!("tokenizer.json of {id:?}: {e}"))?;
        (tokenizer.check_fits(model.config().vocab_size))
            .map_err(|e| format!("tokenizer.json of {id:?}: {e}"))?;
        Ok(LoadedModel {
            id: id.to_string(),
            model,
            tokenizer: Some(tokenizer),
            worker_key: None,
        })
    }

    /// One line for the page: name, family plan and size.
    pub fn summary(&self) -> String {
        let cfg = self.model.config();
        let name = cfg.name.clone().unwrap_or_else(|| self.id.clone());
        let params = cfg.param_count() as f64;
        let size = if params >= 1e6 {
            format!("{:.1}M", params / 1e6)
        } else {
            format!("{:.1}K", params / 1e3)
        };
        format!(
            "{name}: {size} parameters, {} layers, d_model {}, vocab {}",
            cfg.layers.len(),
            cfg.d_model,
            cfg.vocab_size
        )
    }
}
