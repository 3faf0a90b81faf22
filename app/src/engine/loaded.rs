//! A model and its tokenizer, built from the bytes of its files (the project's three, or a
//! Hugging Face folder's).

use hybrid_core::hf;
use hybrid_core::{Model, Tokenizer};

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

/// A model folder's files by name (`config.json`, `tokenizer.json`, and the weights:
/// `model.safetensors`, or a Hugging Face `model.safetensors.index.json` and its shards).
/// Other files are ignored.
pub type NamedFiles<'a> = [(&'a str, &'a [u8])];

/// The bytes of file `name` in `files`, or an error naming it.
fn file<'a>(id: &str, files: &NamedFiles<'a>, name: &str) -> Result<&'a [u8], String> {
    files
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .ok_or_else(|| format!("{name} of {id:?} is missing"))
}

/// The weight files of a folder: a Hugging Face index's shards, else `model.safetensors`.
pub fn weight_files(id: &str, files: &NamedFiles) -> Result<Vec<String>, String> {
    match files.iter().find(|(n, _)| *n == hf::INDEX_FILE) {
        Some((_, index)) => {
            hf::shard_files(index).map_err(|e| format!("{} of {id:?}: {e}", hf::INDEX_FILE))
        }
        None => Ok(vec![hf::WEIGHTS_FILE.to_string()]),
    }
}

impl LoadedModel {
    /// Builds the model from a folder's files (the project's format or a Hugging Face
    /// checkpoint, sharded or not); errors say which file is wrong.
    pub fn from_folder(id: &str, files: &NamedFiles) -> Result<Self, String> {
        let config = file(id, files, "config.json")?;
        let cfg = limits::read_config(id, config)?;
        let names = weight_files(id, files)?;
        let mut shards = Vec::with_capacity(names.len());
        for n in &names {
            shards.push((n.as_str(), file(id, files, n)?));
        }
        let file_bytes = shards.iter().map(|(_, b)| b.len() as u64).sum();
        limits::check_fits_page(id, &cfg, Some(file_bytes))?;
        let model = if hf::is_hf_config(config) {
            let index = files
                .iter()
                .find(|(n, _)| *n == hf::INDEX_FILE)
                .map(|(_, b)| *b);
            hf::load(hf::HfFiles {
                config,
                index,
                shards: &shards,
            })
        } else {
            match shards.as_slice() {
                [(_, weights)] => Model::from_bytes(config, weights),
                _ => Err(hybrid_core::error::Error::Safetensors(
                    "the project's format has one model.safetensors, not shards".into(),
                )),
            }
        }
        .map_err(|e| format!("model files of {id:?}: {e}"))?;
        let tokenizer = file(id, files, "tokenizer.json")?;
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
