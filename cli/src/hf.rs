//! Hugging Face model folders (`config.json` naming `architectures`, `model.safetensors`
//! or the shards of `model.safetensors.index.json`), read with the same care as the
//! project's own folders and mapped by `hybrid_core::hf`.

use std::path::Path;

use hybrid_core::hf::{self, INDEX_FILE, WEIGHTS_FILE};
use hybrid_core::Model;

use crate::input::{self, check_memory, read_file, AnyResult};

/// Load the Hugging Face folder `dir`, checking first that the f32 weights and the files
/// fit in memory.
pub fn load(dir: &Path, config: &[u8]) -> AnyResult<Model> {
    let cfg = hf::config(config).map_err(|e| format!("{}: {e}", dir.display()))?;
    let index = dir.join(INDEX_FILE);
    let files = if index.exists() {
        let bytes = read_file(&index, "index", input::MAX_CONFIG_BYTES * 64)?;
        hf::shard_files(&bytes)?
    } else {
        vec![WEIGHTS_FILE.to_string()]
    };
    let mut file_bytes = 0u64;
    for f in &files {
        let p = dir.join(f);
        let len = std::fs::metadata(&p)
            .map_err(|e| format!("weights: {}: {e}", p.display()))?
            .len();
        file_bytes = file_bytes.saturating_add(len);
    }
    check_memory(
        &format!("loading {}", dir.display()),
        file_bytes.saturating_add(cfg.param_count_u64().saturating_mul(4)),
    )?;
    let read = |name: &str| -> AnyResult<Option<Vec<u8>>> {
        let p = dir.join(name);
        if !p.exists() {
            return Ok(None);
        }
        let max = match name {
            "config.json" => input::MAX_CONFIG_BYTES,
            INDEX_FILE => input::MAX_CONFIG_BYTES * 64,
            _ => u64::MAX,
        };
        Ok(Some(read_file(&p, name, max)?))
    };
    hf::load_folder(read).map_err(|e| format!("{}: {e}", dir.display()).into())
}
