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
    /// GPU only: activation buffers of the session.
    pub activation_bytes: Option<u64>,
    /// GPU only: compute dispatches in one decode step (one submission).
    pub dispatches_per_step: Option<usize>,
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
    let tokens = bench_tokens(model, context);
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
        activation_bytes: None,
        dispatches_per_step: None,
    })
}

/// Tokens of a benchmark prompt.
fn bench_tokens(model: &Model, n: usize) -> Vec<u32> {
    let v = model.config().vocab_size as u32;
    (0..n as u32).map(|i| (i * 7919 + 13) % v).collect()
}

/// The same measurement on the GPU engine: prefill, then `decode` argmax steps with the
/// token kept on the GPU (one submission and a 4-byte readback per token).
pub fn measure_gpu(
    gm: &hybrid_gpu::GpuModel,
    model: &Model,
    context: usize,
    decode: usize,
    chunk: usize,
) -> Result<Row, hybrid_gpu::GpuError> {
    let opts = hybrid_gpu::SessionOptions {
        max_context: context + decode + 1,
        chunk,
    };
    let mut s = gm.session(opts)?;
    let tokens = bench_tokens(model, context);
    // warm-up: pipelines compile on first use
    s.prefill_blocking(&tokens[..context.min(chunk)])?;
    s.step_argmax_blocking(Some(0))?;
    s.step_argmax_blocking(None)?;
    s.reset()?;
    let t0 = Instant::now();
    let logits = s.prefill_blocking(&tokens)?;
    let prefill_ms = t0.elapsed().as_secs_f64() * 1e3;
    // the first sampled token goes up once; later ones never leave the GPU
    s.step_argmax_blocking(Some(hybrid_core::sample::argmax(&logits)))?;
    let t1 = Instant::now();
    for _ in 0..decode {
        s.step_argmax_blocking(None)?;
    }
    let dt = t1.elapsed().as_secs_f64() * 1e3 / decode.max(1) as f64;
    let mem = s.memory();
    let cfg = model.config();
    let dispatches = s.decode_dispatches()?.len();
    Ok(Row {
        model: cfg.display_name().to_string(),
        backend: format!("gpu ({})", gm.gpu().adapter_string()),
        context,
        prefill_ms,
        decode_ms_per_token: dt,
        decode_tokens_per_s: 1e3 / dt.max(1e-9),
        kv_cache_bytes: cfg.kv_cache_bytes(context + decode + 1),
        ssm_state_bytes: mem.ssm_state as usize,
        conv_state_bytes: mem.conv_state as usize,
        weight_bytes: mem.weights as usize,
        activation_bytes: Some(mem.activations),
        dispatches_per_step: Some(dispatches),
    })
}

/// The table printed to stdout.
pub fn table(rows: &[Row]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| model | backend | context | prefill ms | decode ms/token | tokens/s | dispatches/step | KV cache | SSM state | conv state | activations |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2} | {:.3} | {:.1} | {} | {} | {} | {} | {} |",
            r.model,
            r.backend,
            r.context,
            r.prefill_ms,
            r.decode_ms_per_token,
            r.decode_tokens_per_s,
            r.dispatches_per_step.map_or("-".into(), |d| d.to_string()),
            super::inspect::bytes(r.kv_cache_bytes),
            super::inspect::bytes(r.ssm_state_bytes),
            super::inspect::bytes(r.conv_state_bytes),
            r.activation_bytes
                .map_or("-".into(), |a| super::inspect::bytes(a as usize))
        );
    }
    s
}
