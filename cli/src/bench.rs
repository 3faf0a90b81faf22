//! `hybrid bench`: prefill and decode time and memory against context length, as a table
//! (and JSON). Speed is measured here, never asserted in tests.

use std::path::Path;
use std::time::Instant;

use hybrid_core::weights::Weights;
use hybrid_core::{Model, ModelConfig};
use serde::Serialize;

/// One measured point.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub model: String,
    pub backend: String,
    pub context: usize,
    pub prefill_ms: f64,
    pub decode_ms_per_token: f64,
    pub decode_tokens_per_s: f64,
    pub kv_cache_bytes: usize,
    pub ssm_state_bytes: usize,
    pub conv_state_bytes: usize,
    pub weight_bytes: usize,
}

/// A model folder (config.json + model.safetensors) or a bare config.json (random weights).
pub fn load_any(path: &Path) -> Result<Model, Box<dyn std::error::Error>> {
    if path.is_dir() {
        return super::load_model(path);
    }
    let cfg = ModelConfig::from_json(&super::read(path)?)?;
    let w = Weights::random(&cfg, 0)?;
    Ok(Model::new(cfg, w))
}

/// Prefill `context` tokens, then decode `decode` more, on the CPU engine.
pub fn measure_cpu(
    model: &Model,
    context: usize,
    decode: usize,
) -> Result<Row, hybrid_core::Error> {
    let v = model.config().vocab_size as u32;
    let tokens: Vec<u32> = (0..context as u32).map(|i| (i * 7919 + 13) % v).collect();
    let mut st = model.new_state();
    let t0 = Instant::now();
    let mut logits = model.prefill(&mut st, &tokens)?;
    let prefill_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    for _ in 0..decode {
        let next = hybrid_core::sample::argmax(&logits);
        logits = model.step(&mut st, next)?;
    }
    let dt = t1.elapsed().as_secs_f64() * 1e3 / decode.max(1) as f64;
    let b = st.bytes();
    Ok(Row {
        model: model.config().display_name().to_string(),
        backend: "cpu".into(),
        context,
        prefill_ms,
        decode_ms_per_token: dt,
        decode_tokens_per_s: 1e3 / dt.max(1e-9),
        kv_cache_bytes: b.kv_cache,
        ssm_state_bytes: b.ssm_state,
        conv_state_bytes: b.conv_state,
        weight_bytes: model.config().param_count() * 4,
    })
}

/// The table printed to stdout.
pub fn table(rows: &[Row]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| model | backend | context | prefill ms | decode ms/token | tokens/s | KV cache | SSM state | conv state |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2} | {:.3} | {:.1} | {} | {} | {} |",
            r.model,
            r.backend,
            r.context,
            r.prefill_ms,
            r.decode_ms_per_token,
            r.decode_tokens_per_s,
            super::inspect::bytes(r.kv_cache_bytes),
            super::inspect::bytes(r.ssm_state_bytes),
            super::inspect::bytes(r.conv_state_bytes)
        );
    }
    s
}
