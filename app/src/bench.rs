//! The in-page benchmark: with `#bench=transformer,mamba2&lens=128,2048` in the URL the
//! page runs no app; it times prefill and decode of the bundled playground configs
//! (random weights of the real shapes) on its engines, the CPU engine (wasm) and WebGPU
//! where the browser has it, and publishes the rows as JSON on `window.__hybridBench`
//! and in `<pre id="bench-json">`. `scripts/bench-browser.mjs` drives it and prints the
//! table. Speed only: nothing here is asserted.
//!
//! Keys after `#bench=<families>` (each optional): `lens=<n,..>` (default 128,2048),
//! `decode=<steps>` (16), `runs=<prefills>` (best of, 2), `engines=cpu,webgpu` (both).
//! The family `gemm` times the CPU engine's SGEMM kernels instead (`bench_gemm.rs`).

use leptos::prelude::*;
use serde::Serialize;

use crate::arch::PRESETS;
pub use crate::bench_types::{Row, Spec};
use crate::engine::{Backend, GpuEngine, ModelConfig, WorkerRun};
use crate::web;
use crate::worker::protocol::Reply;

/// Longest context the page benchmarks (the CPU engine's memory in wasm).
pub const MAX_LEN: usize = 16_384;

/// The benchmark the hash asks for: `None` when it asks for none (the app runs).
pub fn parse(hash: &str) -> Option<Result<Spec, String>> {
    let body = hash.trim_start_matches('#').strip_prefix("bench=")?;
    Some(parse_body(body))
}

fn parse_body(body: &str) -> Result<Spec, String> {
    let mut parts = body.split('&');
    let families: Vec<String> = (parts.next().unwrap_or_default().split(','))
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    if families.is_empty() {
        return Err("#bench=: name at least one family (transformer, mamba2, inter, intra)".into());
    }
    for f in families.iter().filter(|f| *f != "gemm") {
        config_of(f)?;
    }
    let mut spec = Spec {
        families,
        lens: vec![128, 2048],
        decode: 16,
        runs: 2,
        cpu: true,
        webgpu: true,
    };
    for kv in parts {
        let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
        let number = |v: &str| -> Result<usize, String> {
            match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LEN).contains(&n) => Ok(n),
                _ => Err(format!(
                    "#bench {key}: `{v}` is not a number from 1 to {MAX_LEN}"
                )),
            }
        };
        match key {
            "lens" => spec.lens = value.split(',').map(number).collect::<Result<_, _>>()?,
            "decode" => spec.decode = number(value)?,
            "runs" => spec.runs = number(value)?,
            "engines" => {
                let names: Vec<&str> = value.split(',').collect();
                if let Some(bad) = names.iter().find(|n| !["cpu", "webgpu"].contains(n)) {
                    return Err(format!("#bench engines: `{bad}`? (cpu, webgpu)"));
                }
                spec.cpu = names.contains(&"cpu");
                spec.webgpu = names.contains(&"webgpu");
            }
            _ => {
                return Err(format!(
                    "#bench: unknown key `{key}` (lens, decode, runs, engines)"
                ))
            }
        }
    }
    Ok(spec)
}

/// The bundled config of a playground family.
pub fn config_of(family: &str) -> Result<ModelConfig, String> {
    let id = format!("playground-{family}");
    let preset = (PRESETS.iter().find(|p| p.id == id)).ok_or_else(|| {
        format!("#bench: no bundled config `{id}` (transformer, mamba2, inter, intra)")
    })?;
    ModelConfig::from_json(preset.json.as_bytes()).map_err(|e| format!("{id}: {e}"))
}

/// What `window.__hybridBench` holds.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// "running", "done" or "error".
    pub status: &'static str,
    pub spec: String,
    /// The CPU engine's threads in its worker (more than 1 where the page is cross-origin
    /// isolated), why one where that is so, and whether it was built with SIMD128.
    pub cpu_threads: usize,
    pub cpu_threads_note: Option<String>,
    pub simd128: bool,
    /// The WebGPU adapter, or why there is none.
    pub webgpu: String,
    pub rows: Vec<Row>,
    /// `#bench=gemm`: the SGEMM kernels at the models' shapes.
    pub gemm: Vec<crate::bench_gemm::GemmRow>,
    pub errors: Vec<String>,
}

/// Mounts and starts the benchmark when the URL asks for one (then the app must not run):
/// returns whether it did.
pub fn start_if_asked() -> bool {
    let hash = web::location_hash();
    match parse(&hash) {
        Some(spec) => {
            mount(spec, hash);
            true
        }
        None => false,
    }
}

/// Replaces the page with the benchmark and starts it.
fn mount(spec: Result<Spec, String>, hash: String) {
    let text = RwSignal::new(String::from("{\"status\":\"running\"}"));
    leptos::mount::mount_to_body(move || {
        view! {
            <main class="bench">
                <h1>"Hybrid Playground: in-page benchmark"</h1>
                <p>"Random weights of the playground configs' shapes; the JSON below is also on window.__hybridBench."</p>
                <pre id="bench-json">{move || text.get()}</pre>
            </main>
        }
    });
    leptos::task::spawn_local(async move {
        let mut report = Report {
            status: "running",
            spec: hash,
            cpu_threads: 1,
            cpu_threads_note: None,
            simd128: cfg!(target_feature = "simd128"),
            webgpu: String::new(),
            rows: Vec::new(),
            gemm: Vec::new(),
            errors: Vec::new(),
        };
        match spec {
            Ok(spec) => run(&spec, &mut report, text).await,
            Err(e) => report.errors.push(e),
        }
        report.status = if report.errors.is_empty() {
            "done"
        } else {
            "error"
        };
        publish(&report, text);
    });
}

fn publish(report: &Report, text: RwSignal<String>) {
    let json = serde_json::to_value(report).unwrap_or_default();
    web::publish_value("__hybridBench", &json);
    text.set(serde_json::to_string_pretty(&json).unwrap_or_default());
}

async fn run(spec: &Spec, report: &mut Report, text: RwSignal<String>) {
    let gpu = if spec.webgpu {
        match web::probe_webgpu().await {
            web::WebGpu::Available(name) => match GpuEngine::open().await {
                Ok(g) => {
                    report.webgpu = g.adapter_name(Some(&name));
                    Some(g)
                }
                Err(e) => {
                    report.webgpu = format!("none: {e}");
                    None
                }
            },
            web::WebGpu::Missing(why) => {
                report.webgpu = format!("none: {why}");
                None
            }
            web::WebGpu::Checking => {
                report.webgpu = "none: the WebGPU check did not finish".into();
                None
            }
        }
    } else {
        report.webgpu = "not asked for".into();
        None
    };
    for family in &spec.families {
        if family == "gemm" {
            report.gemm = crate::bench_gemm::run(spec.runs).await;
            publish(report, text);
            continue;
        }
        let result = run_family(spec, family, gpu.as_ref(), report, text).await;
        if let Err(e) = result {
            report.errors.push(format!("playground-{family}: {e}"));
        }
    }
}

async fn run_family(
    spec: &Spec,
    family: &str,
    gpu: Option<&GpuEngine>,
    report: &mut Report,
    text: RwSignal<String>,
) -> Result<(), String> {
    let id = format!("playground-{family}");
    // The CPU engine runs where the page's generations run: in its worker, on threads
    // where the page is cross-origin isolated.
    let mut cpu_logits = vec![None; spec.lens.len()];
    if spec.cpu {
        let mut run = WorkerRun::bench(family, spec)?;
        let mut i = 0;
        while let Some(reply) = run.next().await {
            if let Reply::BenchRow { row, .. } = reply? {
                let (row, logits) = row?;
                report.rows.push(row);
                if let Some(slot) = cpu_logits.get_mut(i) {
                    *slot = Some(logits);
                }
                i += 1;
                if let Some(t) = crate::engine::cpu_threads_now() {
                    report.cpu_threads = t.threads;
                    report.cpu_threads_note = t.why_one;
                }
                publish(report, text);
            }
        }
    }
    let Some(gpu) = gpu else { return Ok(()) };
    let on_gpu = Backend::cpu_random(&id, config_of(family)?, 0)?
        .to_gpu(gpu)
        .await?;
    for (&len, reference) in spec.lens.iter().zip(&cpu_logits) {
        let (row, _) = measure(spec, &id, &on_gpu, "webgpu", len, reference.as_deref()).await?;
        report.rows.push(row);
        publish(report, text);
    }
    Ok(())
}

/// The CPU engine's rows for `family` (in the worker), passed to `post` one length at a
/// time; an error ends them.
pub async fn cpu_rows(
    spec: &Spec,
    family: &str,
    mut post: impl FnMut(Result<(Row, Vec<f32>), String>),
) {
    let id = format!("playground-{family}");
    let cpu = match config_of(family).and_then(|c| Backend::cpu_random(&id, c, 0)) {
        Ok(b) => b,
        Err(e) => return post(Err(e)),
    };
    for &len in &spec.lens {
        let row = measure(spec, &id, &cpu, "cpu-wasm", len, None).await;
        let failed = row.is_err();
        post(row);
        if failed {
            return;
        }
    }
}

/// Steps of a GPU decode stop early (at least 2) once they took this long: SwiftShader
/// takes seconds per step.
const DECODE_BUDGET_MS: f64 = 3000.0;

/// Prefill `len` tokens (best of `spec.runs`), then decode; returns the row and the
/// prefill's last-token logits.
async fn measure(
    spec: &Spec,
    id: &str,
    backend: &Backend,
    engine: &'static str,
    len: usize,
    reference: Option<&[f32]>,
) -> Result<(Row, Vec<f32>), String> {
    let vocab = backend.config().vocab_size as u32;
    let tokens: Vec<u32> = (0..len as u32).map(|i| (i * 7919 + 13) % vocab).collect();
    // warm-up: the GPU compiles its pipelines on first use (a prefill's, then a step's)
    let mut s = backend.open_session(16, 16)?;
    backend.feed_async(&mut s, &tokens[..len.min(8)]).await?;
    backend.feed_async(&mut s, &tokens[..1]).await?;
    let mut prefill_ms = f64::INFINITY;
    let mut logits = Vec::new();
    let mut session = None;
    for _ in 0..spec.runs {
        web::yield_to_browser().await;
        let mut s = backend.open_session(len + spec.decode, len)?;
        let t0 = web::now_ms();
        logits = backend.feed_async(&mut s, &tokens).await?;
        prefill_ms = prefill_ms.min(web::now_ms() - t0);
        session = Some(s);
    }
    let mut s = session.ok_or("no prefill ran")?;
    let prefill_logits = logits.clone();
    let (mut steps, t0) = (0, web::now_ms());
    while steps < spec.decode && (steps < 2 || web::now_ms() - t0 < DECODE_BUDGET_MS) {
        let next = argmax(&logits);
        logits = backend.feed_async(&mut s, &[next]).await?;
        steps += 1;
    }
    let decode_ms = (web::now_ms() - t0) / steps.max(1) as f64;
    let finite = (prefill_logits.iter().chain(&logits)).all(|v| v.is_finite());
    let row = Row {
        model: id.to_string(),
        engine: engine.to_string(),
        context: len,
        prefill_ms,
        decode_ms_per_token: decode_ms,
        decode_steps: steps,
        rel_err_vs_cpu: reference.map(|r| rel_err(&prefill_logits, r)),
        finite,
    };
    Ok((row, prefill_logits))
}

fn argmax(v: &[f32]) -> u32 {
    (v.iter().enumerate())
        .fold(
            (0, f32::NEG_INFINITY),
            |b, (i, &x)| if x > b.1 { (i, x) } else { b },
        )
        .0 as u32
}

/// max |a - b| / max |b| (infinite when the lengths differ or a value is not finite).
fn rel_err(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.iter().any(|v| !v.is_finite()) {
        return f64::INFINITY;
    }
    let scale = b.iter().fold(1e-12f64, |m, x| m.max(x.abs() as f64));
    let worst = a
        .iter()
        .zip(b)
        .fold(0f64, |m, (x, y)| m.max((x - y).abs() as f64));
    worst / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_families_lengths_and_keys() {
        assert_eq!(parse("#compare"), None);
        let s = parse("#bench=mamba2,intra&lens=64,4096&decode=4&runs=1&engines=cpu")
            .expect("asked")
            .expect("valid");
        assert_eq!(s.families, ["mamba2", "intra"]);
        assert_eq!((s.lens, s.decode, s.runs), (vec![64, 4096], 4, 1));
        assert!(s.cpu && !s.webgpu);
        let d = parse("#bench=transformer").expect("asked").expect("valid");
        assert_eq!((d.lens, d.decode, d.runs), (vec![128, 2048], 16, 2));
        assert!(d.cpu && d.webgpu);
        assert_eq!(config_of("inter").expect("bundled").d_model, 256);
        let g = parse("#bench=gemm,mamba2").expect("asked").expect("valid");
        assert_eq!(g.families, ["gemm", "mamba2"]);
    }

    #[test]
    fn refuses_what_it_cannot_run() {
        for bad in [
            "#bench=",
            "#bench=gpt5",
            "#bench=mamba2&lens=0",
            "#bench=mamba2&lens=99999",
            "#bench=mamba2&lens=12x",
            "#bench=mamba2&engines=tpu",
            "#bench=mamba2&speed=max",
        ] {
            let err = parse(bad).expect("asked").expect_err(bad);
            assert!(err.contains("#bench"), "{bad}: {err}");
        }
    }
}
