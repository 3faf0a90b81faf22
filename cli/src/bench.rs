//! `hybrid bench`: prefill and decode time and memory against context length, as a table
//! (and JSON). Speed is measured here, never asserted in tests.

use std::path::Path;
use std::time::Instant;

use hybrid_core::weights::Weights;
use hybrid_core::Model;
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
    /// GPU only: one decode step alone, submit to token on the host (no overlap).
    pub decode_sync_ms: Option<f64>,
    /// GPU only, with `--profile`: timestamp-query times of a decode step and of one
    /// prefill chunk.
    pub profile: Option<ProfileRow>,
}

/// GPU time of a plan and its split by kernel.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileRow {
    /// Decode step in one pass, us.
    pub decode_us: f64,
    /// (kernel, dispatches, us) with each dispatch timed alone.
    pub decode_kernels: Vec<(String, usize, f64)>,
    /// Tokens of the profiled prefill chunk.
    pub prefill_tokens: usize,
    /// That chunk in one pass, us.
    pub prefill_us: f64,
    pub prefill_kernels: Vec<(String, usize, f64)>,
}

/// A model folder (config.json + model.safetensors) or a bare config.json (random weights).
pub fn load_any(path: &Path) -> Result<Model, Box<dyn std::error::Error>> {
    if path.is_dir() {
        return super::load_model(path);
    }
    let cfg = super::read_config(path)?;
    let w = Weights::random(&cfg, 0)?;
    Ok(Model::new(cfg, w))
}

/// Prefill `context` tokens (the best of `prefill_runs`), then decode `decode` more, on
/// the CPU engine with its thread count now (`hybrid_core::cpu::par`).
pub fn measure_cpu(
    model: &Model,
    context: usize,
    decode: usize,
    prefill_runs: usize,
) -> Result<Row, hybrid_core::Error> {
    let tokens = bench_tokens(model, context);
    let mut prefill_ms = f64::INFINITY;
    let (mut st, mut logits) = (model.new_state(), Vec::new());
    for _ in 0..prefill_runs.max(1) {
        st = model.new_state();
        let t0 = Instant::now();
        logits = model.prefill(&mut st, &tokens)?;
        prefill_ms = prefill_ms.min(t0.elapsed().as_secs_f64() * 1e3);
    }
    let t1 = Instant::now();
    for _ in 0..decode {
        let next = hybrid_core::sample::argmax(&logits);
        logits = model.step(&mut st, next)?;
    }
    let dt = t1.elapsed().as_secs_f64() * 1e3 / decode.max(1) as f64;
    let b = st.bytes();
    Ok(Row {
        model: model.config().display_name().to_string(),
        backend: match hybrid_core::cpu::par::threads() {
            1 => "cpu, 1 thread".into(),
            n => format!("cpu, {n} threads"),
        },
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
        decode_sync_ms: None,
        profile: None,
    })
}

/// Tokens of a benchmark prompt.
fn bench_tokens(model: &Model, n: usize) -> Vec<u32> {
    let v = model.config().vocab_size as u32;
    (0..n as u32).map(|i| (i * 7919 + 13) % v).collect()
}

/// The GPU points of a bench run: contexts, decode tokens, prefill chunk.
pub struct GpuPoints<'a> {
    pub contexts: &'a [usize],
    pub decode: usize,
    pub chunk: usize,
}

impl GpuPoints<'_> {
    /// Refuse, before anything is loaded, a point whose model or session has a buffer
    /// over the device's limits (the error names the buffer, the limit and the point).
    pub fn check(
        &self,
        cfg: &hybrid_core::ModelConfig,
        formats: &[hybrid_gpu::WeightFormat],
        limits: &hybrid_gpu::wgpu::Limits,
    ) -> Result<(), String> {
        for &f in formats {
            for &c in self.contexts {
                let opts = gpu_session(c, self.decode, self.chunk);
                hybrid_gpu::estimate(cfg, f, opts)
                    .check(limits, None)
                    .map_err(|e| {
                        let chunk = self.chunk;
                        format!("{c} tokens, chunk {chunk}, {} weights: {e}", f.name())
                    })?;
            }
        }
        Ok(())
    }
}

/// The session a GPU point uses: room for the prompt and both decode runs.
pub fn gpu_session(context: usize, decode: usize, chunk: usize) -> hybrid_gpu::SessionOptions {
    hybrid_gpu::SessionOptions {
        max_context: context + 2 * decode.max(1) + 4,
        chunk,
    }
}

/// The same measurement on the GPU engine: the best of `prefill_runs` prefills, then `decode`
/// greedy steps with the argmax on the GPU, pipelined as generation runs them (step i + 1
/// is submitted before step i's token is read), and `decode` more steps one at a time
/// (submit, wait, read) for the unpipelined latency. `profile` adds timestamp-query times.
pub fn measure_gpu(
    gm: &hybrid_gpu::GpuModel,
    model: &Model,
    context: usize,
    decode: usize,
    chunk: usize,
    profile: bool,
    prefill_runs: usize,
) -> Result<Row, hybrid_gpu::GpuError> {
    let decode = decode.max(1);
    let opts = gpu_session(context, decode, chunk);
    let mut s = gm.session(opts)?;
    let tokens = bench_tokens(model, context);
    // warm-up: pipelines compile on first use
    s.prefill_blocking(&tokens[..context.min(chunk)])?;
    s.decode_greedy_blocking(Some(0), 2)?;
    let mut prefill_ms = f64::INFINITY;
    let mut logits = Vec::new();
    for _ in 0..prefill_runs.max(1) {
        s.reset()?;
        let t0 = Instant::now();
        logits = s.prefill_blocking(&tokens)?;
        prefill_ms = prefill_ms.min(t0.elapsed().as_secs_f64() * 1e3);
    }
    let first = hybrid_core::sample::argmax(&logits);
    let t1 = Instant::now();
    s.decode_greedy_blocking(Some(first), decode)?;
    let dt = t1.elapsed().as_secs_f64() * 1e3 / decode as f64;
    let t2 = Instant::now();
    for _ in 0..decode {
        s.step_argmax_blocking(None)?;
    }
    let sync = t2.elapsed().as_secs_f64() * 1e3 / decode as f64;
    let mem = s.memory();
    let cfg = model.config();
    let dispatches = s.decode_dispatches()?.len();
    let profile = if profile && hybrid_gpu::profile::available(gm.gpu()) {
        let kernels = |p: &hybrid_gpu::profile::Profile| {
            p.by_kernel()
                .into_iter()
                .map(|(k, n, us)| (k.to_string(), n, us))
                .collect()
        };
        let dp = s.profile_plan_blocking(1)?;
        s.reset()?;
        let t = context.min(chunk);
        let pp = s.profile_plan_blocking(t)?;
        Some(ProfileRow {
            decode_us: dp.total_us,
            decode_kernels: kernels(&dp),
            prefill_tokens: t,
            prefill_us: pp.total_us,
            prefill_kernels: kernels(&pp),
        })
    } else {
        None
    };
    Ok(Row {
        model: cfg.display_name().to_string(),
        backend: match gm.weight_format() {
            hybrid_gpu::WeightFormat::F32 => format!(
                "gpu ({}; {})",
                gm.gpu().adapter_string(),
                gm.gpu().caps.summary()
            ),
            f => format!(
                "gpu, {} weights ({}; {})",
                f.name(),
                gm.gpu().adapter_string(),
                gm.gpu().caps.summary()
            ),
        },
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
        decode_sync_ms: Some(sync),
        profile,
    })
}

/// The profiles as tables: GPU us per kernel for a decode step and a prefill chunk.
pub fn profile_tables(rows: &[Row]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for r in rows {
        let Some(p) = &r.profile else { continue };
        let _ = writeln!(
            s,
            "\n{} @ {}: decode step {:.1} us in one pass; prefill of {} tokens {:.1} us",
            r.model, r.context, p.decode_us, p.prefill_tokens, p.prefill_us
        );
        let _ = writeln!(
            s,
            "| plan | kernel | dispatches | us (each alone) | share |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---:|");
        for (plan, ks) in [
            ("decode", &p.decode_kernels),
            ("prefill", &p.prefill_kernels),
        ] {
            let total: f64 = ks.iter().map(|k| k.2).sum();
            for (k, n, us) in ks {
                let share = 100.0 * us / total.max(1e-9);
                let _ = writeln!(s, "| {plan} | {k} | {n} | {us:.1} | {share:.0}% |");
            }
        }
    }
    s
}

/// The table printed to stdout.
pub fn table(rows: &[Row]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| model | backend | context | prefill ms | decode ms/token | tokens/s | step alone ms | dispatches/step | KV cache | SSM state | conv state | activations |"
    );
    let _ = writeln!(
        s,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2} | {:.3} | {:.1} | {} | {} | {} | {} | {} | {} |",
            r.model,
            r.backend,
            r.context,
            r.prefill_ms,
            r.decode_ms_per_token,
            r.decode_tokens_per_s,
            r.decode_sync_ms.map_or("-".into(), |d| format!("{d:.3}")),
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
