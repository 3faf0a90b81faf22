//! The page's memory limit, checked from `config.json` alone: a model too large for
//! WebAssembly's 4 GiB is refused with the numbers before its weights are fetched or
//! anything is allocated for it (the GPU engine checks each buffer against the adapter's
//! `maxBufferSize` / `maxStorageBufferBindingSize` when it uploads, and a model over them
//! stays on the CPU engine with that message on the badge).

use hybrid_core::{hf, ModelConfig};

/// Most memory a wasm32 instance (the page, the CPU engine's worker) can have: 2^16 pages
/// of 64 KiB.
pub const WASM_MEMORY_BYTES: u64 = 4 << 30;

/// Bytes a model needs in the page while it is built: the checkpoint file as read
/// (`file_bytes`, or at least 2 bytes per parameter before it is known: f16/bf16) and the
/// f32 weights it is converted into, which live side by side during the conversion.
pub fn page_bytes(cfg: &ModelConfig, file_bytes: Option<u64>) -> u64 {
    let params = cfg.param_count_u64();
    let file = file_bytes.unwrap_or(params.saturating_mul(2));
    params.saturating_mul(4).saturating_add(file)
}

/// Refuses `cfg` when it cannot fit in a page's wasm memory; the message gives the bytes
/// needed, how they add up, and the limit.
pub fn check_fits_page(id: &str, cfg: &ModelConfig, file_bytes: Option<u64>) -> Result<(), String> {
    let need = page_bytes(cfg, file_bytes);
    if need <= WASM_MEMORY_BYTES {
        return Ok(());
    }
    let params = cfg.param_count_u64();
    let file = match file_bytes {
        Some(b) => format!("its {} checkpoint file", gib(b)),
        None => format!(
            "its checkpoint file, at least {} (f16)",
            gib(params.saturating_mul(2))
        ),
    };
    Err(format!(
        "{id:?} is too large for this page: {params} parameters need at least {need} bytes \
         ({}: {} of f32 weights + {file}), over the {WASM_MEMORY_BYTES} bytes (4 GiB) a \
         WebAssembly page can address; refused before loading its weights",
        gib(need),
        gib(params.saturating_mul(4)),
    ))
}

/// `config.json`'s bytes, parsed and checked against the page's limit (before the weights
/// are fetched).
pub fn check_config_fits_page(id: &str, config: &[u8]) -> Result<(), String> {
    check_fits_page(id, &read_config(id, config)?, None)
}

/// The engine's config of a `config.json`: the project's format, or a Hugging Face one
/// (it names `architectures`), mapped.
pub fn read_config(id: &str, config: &[u8]) -> Result<ModelConfig, String> {
    let cfg = if hf::is_hf_config(config) {
        hf::config(config)
    } else {
        ModelConfig::from_json(config)
    };
    cfg.map_err(|e| format!("config.json of {id:?}: {e}"))
}

/// The `architectures` entry of a Hugging Face `config.json` (`None` for the project's).
pub fn hf_architecture(config: &[u8]) -> Option<String> {
    let value = hf::parse_json(config).ok()?;
    let family = hf::family(&value).ok()?;
    Some(family.architecture().to_string())
}

fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain transformer of `layers` blocks at d_model 2048, d_ffn 8192, vocab 32000.
    fn big(layers: usize) -> ModelConfig {
        let json = format!(
            r#"{{"name":"big","vocab_size":32000,"d_model":2048,"d_ffn":8192,"tie_embeddings":true,
            "layers":{:?},"attention":{{"n_heads":16,"n_kv_heads":16,"head_dim":128}}}}"#,
            vec!["attention"; layers]
        );
        ModelConfig::from_json(json.as_bytes()).expect("valid config")
    }

    #[test]
    fn a_model_over_4_gib_is_refused_with_its_numbers() {
        // 10 blocks of 4*2048^2 + 3*2048*8192 = 67,108,864 (and norms), 32000*2048 tied
        // embeddings: 737 M parameters
        let cfg = big(10);
        let p = cfg.param_count_u64();
        assert!((736_624_640..736_700_000).contains(&p), "{p}");
        let msg = check_fits_page("big", &cfg, None).expect_err("over 4 GiB");
        let need = 6 * p;
        assert!(
            msg.contains(&format!("need at least {need} bytes")),
            "{msg}"
        );
        assert!(
            msg.contains("4.12 GiB") && msg.contains("4294967296 bytes (4 GiB)"),
            "{msg}"
        );
        // the file's real size replaces the estimate once it is known (f32: 4 bytes each)
        let f32_file = 4 * cfg.param_count_u64();
        assert_eq!(page_bytes(&cfg, Some(f32_file)), 8 * cfg.param_count_u64());
    }

    #[test]
    fn the_zoo_sizes_fit() {
        // 4 blocks: 334 M parameters, 2.0 GiB with an f16 checkpoint
        assert!(check_fits_page("big", &big(4), None).is_ok());
        let json = br#"{"name":"x","vocab_size":32000"#;
        let e = check_config_fits_page("x", json).expect_err("bad json");
        assert!(e.contains("config.json"), "{e}");
    }
}
