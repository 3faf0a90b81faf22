//! One generation run over a [`Backend`]: prefill, then one sampled token at a time,
//! moving to the CPU engine if the GPU fails. Plain Rust, independent of the page so it
//! can be tested natively.

use std::rc::Rc;

use crate::engine::{Backend, Sampler, Session, StateBytes};
use crate::sampling::Sampling;

/// Longest prompt the page reads, in tokens: longer ones are refused before any state is
/// allocated (the attention layers' work grows with its square).
pub const MAX_PROMPT_TOKENS: usize = 32_768;

/// Prompt tokens read per prefill step: small enough that a step of a long prompt on
/// the CPU engine stays well under a second, so progress and "Stop" stay responsive.
pub const PREFILL_CHUNK: usize = 128;

/// One generation: the prompt is prefilled on creation, then [`Generation::next_token`]
/// makes one token at a time. On a GPU backend the model runs on the GPU and sampling
/// stays here (same seed, same tokens); a GPU error moves the run to the CPU engine,
/// which re-reads the tokens so far, and [`Generation::fell_back`] says why.
pub struct Generation {
    backend: Rc<Backend>,
    session: Session,
    sampler: Sampler,
    logits: Vec<f32>,
    prompt: Vec<u32>,
    /// Prompt tokens read so far (the prefill runs in chunks).
    fed: usize,
    generated: Vec<u32>,
    max_new_tokens: usize,
    fell_back: Option<String>,
}

impl Generation {
    /// Encodes `prompt` and runs the whole prefill (see [`Generation::new`] and
    /// [`Generation::prefill_step`] for a prefill in steps; the page uses those).
    #[cfg(test)]
    pub async fn start(
        backend: Rc<Backend>,
        prompt: &str,
        sampling: Sampling,
    ) -> Result<Self, String> {
        let mut g = Generation::new(backend, prompt, sampling)?;
        while !g.prefill_step().await? {}
        Ok(g)
    }

    /// Encodes `prompt` and opens the session; nothing is run yet: call
    /// [`Generation::prefill_step`] until it returns `true`.
    pub fn new(backend: Rc<Backend>, prompt: &str, sampling: Sampling) -> Result<Self, String> {
        let tokenizer = backend
            .tokenizer()
            .ok_or("this model has no tokenizer: it can be timed, not prompted")?;
        let ids = tokenizer
            .encode(prompt)
            .map_err(|e| format!("could not tokenize the prompt: {e}"))?;
        if ids.is_empty() {
            return Err("the prompt is empty: type a few words first".into());
        }
        if ids.len() > MAX_PROMPT_TOKENS {
            return Err(format!(
                "the prompt has {} tokens; the page reads at most {MAX_PROMPT_TOKENS} \
                 (shorten it)",
                ids.len()
            ));
        }
        let mut g = Generation {
            sampler: Sampler::new(sampling.params),
            session: backend.new_session(),
            logits: Vec::new(),
            prompt: ids,
            fed: 0,
            generated: Vec::new(),
            max_new_tokens: sampling.max_new_tokens,
            fell_back: None,
            backend: backend.clone(),
        };
        match backend.open_session(g.context(), PREFILL_CHUNK) {
            Ok(s) => g.session = s,
            Err(e) if backend.is_gpu() => g.fall_back(e)?,
            Err(e) => return Err(e),
        }
        Ok(g)
    }

    /// Positions the run's state holds at most: the prompt and the new tokens.
    fn context(&self) -> usize {
        self.prompt
            .len()
            .saturating_add(self.max_new_tokens)
            .saturating_add(1)
    }

    /// Runs the next [`PREFILL_CHUNK`] prompt tokens; returns whether the whole prompt
    /// has been read. Between steps the caller may yield, show progress or stop.
    pub async fn prefill_step(&mut self) -> Result<bool, String> {
        let end = (self.fed + PREFILL_CHUNK).min(self.prompt.len());
        if self.fed < end {
            let chunk = &self.prompt[self.fed..end];
            match self.backend.feed_async(&mut self.session, chunk).await {
                Ok(l) => {
                    self.logits = l;
                    self.fed = end;
                }
                Err(e) if self.session.on_gpu() => {
                    self.fed = end;
                    self.fall_back(e)?;
                }
                Err(e) => return Err(format!("prefill failed: {e}")),
            }
        }
        Ok(self.fed >= self.prompt.len())
    }

    /// Prompt tokens read so far.
    pub fn prefilled(&self) -> usize {
        self.fed
    }

    /// The length the model was trained on (`max_seq_len` in its config), if known.
    pub fn training_len(&self) -> Option<usize> {
        self.backend.config().max_seq_len
    }

    /// Moves the run to the CPU engine: a fresh state reads the prompt and the tokens
    /// generated so far.
    fn fall_back(&mut self, reason: String) -> Result<(), String> {
        self.fell_back = Some(reason);
        self.backend = Rc::new(self.backend.cpu_only());
        self.session = (self.backend)
            .open_session(self.context(), self.fed + self.generated.len())
            .map_err(|e| format!("the CPU engine could not take over: {e}"))?;
        let read = self.prompt.get(..self.fed).unwrap_or(&self.prompt);
        let history: Vec<u32> = read.iter().chain(&self.generated).copied().collect();
        if history.is_empty() {
            return Ok(());
        }
        self.logits = self
            .backend
            .feed(&mut self.session, &history)
            .map_err(|e| format!("prefill on the CPU engine failed: {e}"))?;
        Ok(())
    }

    /// Why the run left the GPU, if it did.
    pub fn fell_back(&self) -> Option<&str> {
        self.fell_back.as_deref()
    }

    /// Whether the model runs on the GPU now.
    pub fn on_gpu(&self) -> bool {
        self.session.on_gpu()
    }

    /// Memory the state holds now (KV cache, SSM and conv states), measured.
    pub fn state_bytes(&self) -> StateBytes {
        self.session.bytes()
    }

    /// Number of prompt tokens.
    pub fn prompt_len(&self) -> usize {
        self.prompt.len()
    }

    /// Tokens generated so far.
    pub fn generated(&self) -> &[u32] {
        &self.generated
    }

    /// Whether `max_new_tokens` have been made.
    pub fn is_finished(&self) -> bool {
        self.generated.len() >= self.max_new_tokens
    }

    /// Samples the next token and, unless that was the last one, runs the model on it.
    /// Returns `None` once finished.
    pub async fn next_token(&mut self) -> Result<Option<u32>, String> {
        if self.is_finished() {
            return Ok(None);
        }
        if self.fed < self.prompt.len() {
            return Err("the prompt is not read yet (prefill_step first)".into());
        }
        let token = self.sampler.sample(&self.logits);
        self.generated.push(token);
        if !self.is_finished() {
            match self.backend.feed_async(&mut self.session, &[token]).await {
                Ok(l) => self.logits = l,
                Err(e) if self.session.on_gpu() => self.fall_back(e)?,
                Err(e) => return Err(format!("decode step failed: {e}")),
            }
        }
        Ok(Some(token))
    }

    /// The generated text so far (decoded as a whole, so split characters heal).
    pub fn text(&self) -> Result<String, String> {
        self.backend
            .tokenizer()
            .ok_or("this model has no tokenizer")?
            .decode(&self.generated)
            .map_err(|e| format!("could not decode the output: {e}"))
    }
}

/// The note beside a run: prefill progress while the prompt is read, and a warning when
/// the prompt is longer than the length the model was trained on.
pub fn run_note(done: usize, total: usize, training_len: Option<usize>) -> Option<String> {
    let progress = (done < total).then(|| format!("Reading the prompt: {done} of {total} tokens."));
    let too_long = training_len.filter(|&t| t > 0 && total > t).map(|t| {
        format!(
            "The prompt has {total} tokens, {:.1}\u{d7} the {t} tokens this model was trained on: \
             past {t} tokens its output is extrapolation.",
            total as f64 / t as f64
        )
    });
    match (progress, too_long) {
        (None, None) => None,
        (a, b) => Some([a, b].into_iter().flatten().collect::<Vec<_>>().join(" ")),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::GpuEngine;
    use crate::sampling::SamplingForm;

    const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

    /// Runs a future that finishes on its first poll: CPU work, and native GPU work
    /// (its readbacks block in `device.poll`).
    pub(crate) fn now<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the future did not finish on its first poll"),
        }
    }

    fn run_all(g: &mut Generation) {
        while now(g.next_token()).unwrap().is_some() {}
    }

    pub(crate) fn read(rel: &str) -> Vec<u8> {
        std::fs::read(format!("{ROOT}/{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// The page's test model: a fixture checkpoint plus the byte-level tokenizer.
    pub(crate) fn test_model() -> Rc<Backend> {
        let config = read("tests/fixtures/inter_1to3/config.json");
        let weights = read("tests/fixtures/inter_1to3/model.safetensors");
        let tokenizer = read("tests/data/byte-level-tokenizer.json");
        Rc::new(Backend::cpu_from_files("test", &config, &weights, &tokenizer).unwrap())
    }

    fn greedy(n: &str) -> Sampling {
        SamplingForm {
            max_new_tokens: n.into(),
            temperature: "0".into(),
            ..SamplingForm::default()
        }
        .parse()
        .unwrap()
    }

    #[test]
    fn generates_exactly_n_tokens_that_decode_to_the_text() {
        let model = test_model();
        let summary = model.loaded().summary();
        assert!(summary.contains("vocab 256"), "{summary}");
        let mut g = now(Generation::start(
            model.clone(),
            "Hello, hybrid",
            greedy("20"),
        ))
        .unwrap();
        assert_eq!(g.prompt_len(), "Hello, hybrid".len());
        run_all(&mut g);
        assert_eq!(g.generated().len(), 20);
        let bytes_now = g.state_bytes();
        assert!(bytes_now.kv_cache > 0 && bytes_now.ssm_state > 0);
        // Byte-level tokenizer: token id == byte value.
        let bytes: Vec<u8> = g
            .generated()
            .iter()
            .map(|&t| u8::try_from(t).unwrap())
            .collect();
        assert_eq!(g.text().unwrap(), String::from_utf8_lossy(&bytes));

        let mut again = now(Generation::start(model, "Hello, hybrid", greedy("20"))).unwrap();
        run_all(&mut again);
        assert_eq!(
            g.generated(),
            again.generated(),
            "greedy decoding is deterministic"
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let model = test_model();
        let e = now(Generation::start(model, "", greedy("4")))
            .err()
            .unwrap();
        assert!(e.contains("prompt is empty"), "{e}");

        let config = read("tests/fixtures/inter_1to3/config.json");
        let weights = read("tests/fixtures/inter_1to3/model.safetensors");
        let tokenizer = read("tests/data/byte-level-tokenizer.json");
        // (config.json, model.safetensors, tokenizer.json, the file the error must name)
        type Case<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a str);
        let cases: [Case; 4] = [
            (b"{", &weights, &tokenizer, "config.json"),
            (&config, b"not safetensors", &tokenizer, "model.safetensors"),
            (
                &config,
                &weights[..weights.len() / 2],
                &tokenizer,
                "model.safetensors",
            ),
            (&config, &weights, b"[]", "tokenizer.json"),
        ];
        for (c, w, t, expected) in cases {
            let e = Backend::cpu_from_files("bad", c, w, t).err().unwrap();
            assert!(e.contains(expected), "{e}");
        }
    }

    /// The ids `tests/browser/gpu.mjs` expects from the page: the CPU engine's greedy
    /// continuation. `HYBRID_BLESS=1 cargo test -p hybrid-app expected_ids` rewrites them.
    #[test]
    fn browser_expected_ids_are_the_native_greedy_ids() {
        let path = format!("{ROOT}/tests/browser/gpu-expected.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
        let prompt = expected["prompt"].as_str().unwrap().to_string();
        let n = expected["tokens"].as_u64().unwrap().to_string();
        let mut g = now(Generation::start(test_model(), &prompt, greedy(&n))).unwrap();
        run_all(&mut g);
        let ids = serde_json::json!(g.generated());
        if std::env::var("HYBRID_BLESS").as_deref() == Ok("1") {
            let out = format!(
                "{{\n  \"prompt\": {},\n  \"tokens\": {n},\n  \"ids\": {ids}\n}}\n",
                expected["prompt"]
            );
            std::fs::write(&path, out).unwrap();
            return;
        }
        assert_eq!(
            expected["ids"], ids,
            "{path} is stale: rerun with HYBRID_BLESS=1"
        );
    }

    /// The GPU backend (natively: Mesa lavapipe, or whatever adapter there is) makes the
    /// same greedy tokens as the CPU engine. Without an adapter it fails unless
    /// `HYBRID_SKIP_GPU=1` (the rule of gpu/tests): it never passes having checked nothing.
    #[test]
    fn gpu_backend_generates_the_cpu_tokens() {
        let gpu = match GpuEngine::open_blocking() {
            Ok(g) => g,
            Err(e) if std::env::var("HYBRID_SKIP_GPU").as_deref() == Ok("1") => {
                return eprintln!("HYBRID_SKIP_GPU=1: skipping ({e})");
            }
            Err(e) => panic!(
                "no GPU adapter: {e}. Install Mesa's lavapipe (scripts/setup.sh) or set HYBRID_SKIP_GPU=1"
            ),
        };
        let cpu = test_model();
        let on_gpu = Rc::new(now(cpu.to_gpu(&gpu)).unwrap());
        assert!(on_gpu.is_gpu());
        let prompt = "The hybrid model reads: ";
        let mut a = now(Generation::start(cpu, prompt, greedy("32"))).unwrap();
        let mut b = now(Generation::start(on_gpu, prompt, greedy("32"))).unwrap();
        assert!(b.on_gpu() && !a.on_gpu());
        run_all(&mut a);
        run_all(&mut b);
        assert!(b.on_gpu(), "fell back: {:?}", b.fell_back());
        assert_eq!(a.generated(), b.generated());
        assert!(b.state_bytes().kv_cache > 0);
    }
}
