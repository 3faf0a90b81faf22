//! The Scaling sweep, plain Rust: which (model, context length) pairs to measure, in what
//! order, and a [`Job`] that measures one pair in small pieces on the model's own engine
//! (the GPU engine where the page runs models there, else the CPU engine) so the page can
//! yield between them. Also the analytic memory lines from a config.

use crate::engine::{Backend, ModelConfig, Session};

/// Context lengths the user can sweep (past [`CPU_MAX`] on the GPU engine only).
pub const LENGTHS: [usize; 9] = [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16_384];
/// Longest context measured on the CPU engine (longer ones take minutes there).
pub const CPU_MAX: usize = 4096;
/// Longest context measured on the GPU engine.
pub const GPU_MAX: usize = 16_384;
/// Decode steps averaged for the ms/token figure: at most [`DECODE_STEPS`], and fewer (at
/// least [`DECODE_MIN`]) once they took [`DECODE_BUDGET_MS`] (a software GPU such as
/// SwiftShader takes seconds per step).
pub const DECODE_STEPS: usize = 8;
pub const DECODE_MIN: usize = 2;
pub const DECODE_BUDGET_MS: f64 = 1000.0;
/// Prefill runs in pieces of at most this many tokens on the CPU engine (the page yields
/// in between).
pub const PREFILL_CHUNK: usize = 128;
/// The same on the GPU engine: one submission per piece (the session's largest chunk).
pub const GPU_PREFILL_CHUNK: usize = 256;
/// The analytic lines reach this context (128K).
pub const ANALYTIC_MAX: usize = 131_072;

/// The sweep lengths from `min` to `max` (both included).
pub fn lengths_between(min: usize, max: usize) -> Vec<usize> {
    LENGTHS
        .iter()
        .copied()
        .filter(|&l| l >= min && l <= max)
        .collect()
}

/// The longest context the sweep measures on `backend`'s engine.
pub fn max_context(backend: &Backend) -> usize {
    if backend.is_gpu() {
        GPU_MAX
    } else {
        CPU_MAX
    }
}

/// One measurement to make: model index and context length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    pub model: usize,
    pub len: usize,
}

/// Short contexts first for every model, so a cancelled sweep still compares models.
pub fn plan(models: usize, lengths: &[usize]) -> Vec<Task> {
    lengths
        .iter()
        .flat_map(|&len| (0..models).map(move |model| Task { model, len }))
        .collect()
}

/// Token work of a task (prefill + decode), to weigh the progress bar.
pub fn cost(t: &Task) -> f64 {
    (t.len + DECODE_STEPS) as f64
}

/// Deterministic token ids below `vocab` (a fixed pseudo-random sequence).
pub fn sweep_tokens(len: usize, vocab: usize) -> Vec<u32> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % vocab.max(1) as u64) as u32
        })
        .collect()
}

/// One measured point.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub model: String,
    pub len: usize,
    pub prefill_ms: f64,
    pub decode_ms_per_token: f64,
    /// Decode steps averaged (see [`DECODE_STEPS`]).
    pub decode_steps: usize,
    /// The engine that measured it ("WebGPU" or "CPU (wasm)").
    pub engine: &'static str,
    /// State memory after the prefill, measured: `State::bytes` on the CPU engine; on the
    /// GPU engine the buffers the session preallocated, for `len` + [`DECODE_STEPS`] tokens.
    pub state_bytes: usize,
    /// The same from the config's formulas (analytic), at the same number of tokens.
    pub analytic_bytes: usize,
}

/// Measuring one task in pieces.
pub struct Job {
    model: String,
    len: usize,
    tokens: Vec<u32>,
    session: Session,
    /// The engine the session runs on (`Backend::engine_name`).
    engine: &'static str,
    /// Tokens per prefill piece on the session's engine.
    chunk: usize,
    fed: usize,
    prefill_ms: f64,
    decoded: usize,
    decode_ms: f64,
    state_bytes: usize,
}

impl Job {
    /// A task on `backend`'s own engine (a GPU session sized for the whole task).
    pub fn new(model: &str, backend: &Backend, len: usize) -> Result<Self, String> {
        // Sized for the larger piece either engine feeds (the CPU's is smaller).
        let session =
            backend.open_session(len + DECODE_STEPS, GPU_PREFILL_CHUNK.max(PREFILL_CHUNK))?;
        let chunk = if session.on_gpu() {
            GPU_PREFILL_CHUNK
        } else {
            PREFILL_CHUNK
        };
        Ok(Job {
            model: model.to_string(),
            len,
            tokens: sweep_tokens(len + DECODE_STEPS, backend.config().vocab_size),
            session,
            engine: backend.engine_name(),
            chunk,
            fed: 0,
            prefill_ms: 0.0,
            decoded: 0,
            decode_ms: 0.0,
            state_bytes: 0,
        })
    }

    /// The engine measuring ("WebGPU" or "CPU (wasm)").
    pub fn engine(&self) -> &'static str {
        self.engine
    }

    /// The tokens `state_bytes` holds room for: the GPU session preallocates its whole
    /// context.
    fn state_tokens(&self) -> usize {
        if self.session.on_gpu() {
            self.len + DECODE_STEPS
        } else {
            self.len
        }
    }

    /// Does one piece of work (a prefill chunk or a decode step), timed with `now` (ms;
    /// a GPU piece is timed to its readback, so the time includes the GPU's work).
    /// Returns the point when the task is complete.
    pub async fn advance(
        &mut self,
        backend: &Backend,
        now: &dyn Fn() -> f64,
    ) -> Result<Option<Point>, String> {
        if self.fed < self.len {
            let end = (self.fed + self.chunk).min(self.len);
            let t0 = now();
            backend
                .feed_async(&mut self.session, &self.tokens[self.fed..end])
                .await?;
            self.prefill_ms += now() - t0;
            self.fed = end;
            if self.fed == self.len {
                self.state_bytes = self.session.bytes().total();
            }
            return Ok(None);
        }
        let enough = self.decoded >= DECODE_STEPS
            || (self.decoded >= DECODE_MIN && self.decode_ms >= DECODE_BUDGET_MS);
        if !enough {
            let token = self
                .tokens
                .get(self.len + self.decoded)
                .copied()
                .unwrap_or(0);
            let t0 = now();
            backend.feed_async(&mut self.session, &[token]).await?;
            self.decode_ms += now() - t0;
            self.decoded += 1;
            return Ok(None);
        }
        Ok(Some(Point {
            model: self.model.clone(),
            len: self.len,
            prefill_ms: self.prefill_ms,
            decode_ms_per_token: self.decode_ms / self.decoded.max(1) as f64,
            decode_steps: self.decoded,
            engine: self.engine(),
            state_bytes: self.state_bytes,
            analytic_bytes: backend.config().cache_bytes(self.state_tokens()),
        }))
    }
}

/// Context lengths of the analytic lines: powers of two from 64 to `max`.
pub fn analytic_lengths(max: usize) -> Vec<usize> {
    std::iter::successors(Some(64usize), |&l| (l < max).then_some(l * 2)).collect()
}

/// (context, cache bytes) of a config, analytic: KV cache + SSM state + conv state.
pub fn memory_line(cfg: &ModelConfig, max: usize) -> Vec<(usize, usize)> {
    analytic_lengths(max)
        .into_iter()
        .map(|t| (t, cfg.cache_bytes(t)))
        .collect()
}

/// The rows of the sweep's CSV/JSON download.
pub const EXPORT_HEADERS: [&str; 8] = [
    "model",
    "engine",
    "context_tokens",
    "prefill_ms",
    "decode_ms_per_token",
    "state_bytes_measured",
    "cache_bytes_analytic",
    "decode_steps",
];

pub fn export_rows(points: &[Point]) -> Vec<Vec<String>> {
    points
        .iter()
        .map(|p| {
            vec![
                p.model.clone(),
                p.engine.to_string(),
                p.len.to_string(),
                format!("{:.3}", p.prefill_ms),
                format!("{:.4}", p.decode_ms_per_token),
                p.state_bytes.to_string(),
                p.analytic_bytes.to_string(),
                p.decode_steps.to_string(),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generation::tests::test_model;

    #[test]
    fn plans_short_contexts_first() {
        assert_eq!(lengths_between(0, 256), vec![64, 128, 256]);
        assert_eq!(lengths_between(128, 512), vec![128, 256, 512]);
        assert_eq!(lengths_between(512, 128), Vec::<usize>::new());
        let p = plan(2, &[64, 128]);
        assert_eq!(p.len(), 4);
        assert_eq!(p[1], Task { model: 1, len: 64 });
        assert_eq!(p[2], Task { model: 0, len: 128 });
        assert_eq!(analytic_lengths(ANALYTIC_MAX).last(), Some(&ANALYTIC_MAX));
        let t = sweep_tokens(100, 7);
        assert!(t.iter().all(|&x| x < 7));
        assert_eq!(t, sweep_tokens(100, 7));
    }

    /// Runs one task to its point.
    fn measure(backend: &Backend, len: usize) -> Point {
        let start = std::time::Instant::now();
        let now = move || start.elapsed().as_secs_f64() * 1000.0;
        let mut job = Job::new("test", backend, len).unwrap();
        loop {
            if let Some(p) = pollster::block_on(job.advance(backend, &now)).unwrap() {
                return p;
            }
        }
    }

    #[test]
    fn measures_and_matches_the_formula() {
        let m = test_model();
        assert_eq!(max_context(&m), CPU_MAX);
        let point = measure(&m, 200);
        assert_eq!(point.len, 200);
        assert!((DECODE_MIN..=DECODE_STEPS).contains(&point.decode_steps));
        assert!(point.prefill_ms > 0.0 && point.decode_ms_per_token > 0.0);
        // The measured state is exactly what the config's formulas say.
        assert_eq!(point.state_bytes, point.analytic_bytes);
        let line = memory_line(m.config(), 1024);
        assert_eq!(line.len(), 5);
        assert!(line[4].1 > line[0].1, "the KV cache grows");
        let csv = crate::export::csv(&EXPORT_HEADERS, &export_rows(&[point]));
        assert!(csv
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("test,CPU (wasm),200,"));
    }

    /// On the GPU engine (natively: Mesa lavapipe) the sweep measures on the GPU, past the
    /// CPU engine's longest context, and the preallocated state is the formula's size.
    /// Without an adapter it fails unless `HYBRID_SKIP_GPU=1` (the rule of gpu/tests).
    #[test]
    fn measures_on_the_gpu_engine() {
        let gpu = match crate::engine::GpuEngine::open_blocking() {
            Ok(g) => g,
            Err(e) if std::env::var("HYBRID_SKIP_GPU").as_deref() == Ok("1") => {
                return eprintln!("HYBRID_SKIP_GPU=1: skipping ({e})");
            }
            Err(e) => {
                panic!("no GPU adapter: {e}. Install Mesa's lavapipe or set HYBRID_SKIP_GPU=1")
            }
        };
        let m = pollster::block_on(test_model().to_gpu(&gpu)).unwrap();
        assert_eq!(max_context(&m), GPU_MAX);
        // two prefill pieces of GPU_PREFILL_CHUNK and a shorter one
        let point = measure(&m, 2 * GPU_PREFILL_CHUNK + 44);
        assert_eq!(point.engine, "WebGPU");
        assert!(point.prefill_ms > 0.0 && point.decode_ms_per_token > 0.0);
        assert!((DECODE_MIN..=DECODE_STEPS).contains(&point.decode_steps));
        assert_eq!(point.state_bytes, point.analytic_bytes);
    }
}
