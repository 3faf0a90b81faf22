//! A loaded model and one generation run over it: plain Rust on top of `hybrid_core`,
//! independent of the page so it can be tested natively.

use std::rc::Rc;

use hybrid_core::{Model, Sampler, Tokenizer};

use crate::engine::{Backend, Session};

use crate::params::Sampling;

/// A model and its tokenizer, ready to generate.
pub struct LoadedModel {
    pub id: String,
    pub model: Model,
    /// `None` for designed architectures with random weights (timing only).
    pub tokenizer: Option<Tokenizer>,
}

impl LoadedModel {
    /// Builds the model from the bytes of its three files; errors say which file is wrong.
    pub fn from_files(
        id: &str,
        config: &[u8],
        weights: &[u8],
        tokenizer: &[u8],
    ) -> Result<Self, String> {
        let model = Model::from_bytes(config, weights)
            .map_err(|e| format!("model files of {id:?}: {e}"))?;
        let tokenizer = Tokenizer::from_bytes(tokenizer)
            .map_err(|e| format!("tokenizer.json of {id:?}: {e}"))?;
        let (tokens, vocab) = (tokenizer.vocab_size(), model.config().vocab_size);
        if tokens > vocab {
            return Err(format!(
                "tokenizer.json of {id:?} has {tokens} tokens but the model's vocabulary has only {vocab}"
            ));
        }
        Ok(LoadedModel {
            id: id.to_string(),
            model,
            tokenizer: Some(tokenizer),
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

/// One generation: the prompt is prefilled on creation, then [`Generation::next_token`]
/// makes one token at a time.
pub struct Generation {
    backend: Rc<Backend>,
    session: Session,
    sampler: Sampler,
    logits: Vec<f32>,
    prompt_len: usize,
    generated: Vec<u32>,
    max_new_tokens: usize,
}

impl Generation {
    /// Encodes `prompt` and runs the prefill.
    pub fn start(backend: Rc<Backend>, prompt: &str, sampling: Sampling) -> Result<Self, String> {
        let tokenizer = backend
            .tokenizer()
            .ok_or("this model has no tokenizer: it can be timed, not prompted")?;
        let ids = tokenizer
            .encode(prompt)
            .map_err(|e| format!("could not tokenize the prompt: {e}"))?;
        if ids.is_empty() {
            return Err("the prompt is empty: type a few words first".into());
        }
        let mut session = backend.new_session();
        let logits = backend
            .feed(&mut session, &ids)
            .map_err(|e| format!("prefill failed: {e}"))?;
        Ok(Generation {
            sampler: Sampler::new(sampling.params),
            session,
            logits,
            prompt_len: ids.len(),
            generated: Vec::new(),
            max_new_tokens: sampling.max_new_tokens,
            backend,
        })
    }

    /// Memory the state holds now (KV cache, SSM and conv states), measured.
    pub fn state_bytes(&self) -> hybrid_core::StateBytes {
        self.session.bytes()
    }

    /// Number of prompt tokens.
    pub fn prompt_len(&self) -> usize {
        self.prompt_len
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
    pub fn next_token(&mut self) -> Result<Option<u32>, String> {
        if self.is_finished() {
            return Ok(None);
        }
        let token = self.sampler.sample(&self.logits);
        self.generated.push(token);
        if !self.is_finished() {
            self.logits = self
                .backend
                .feed(&mut self.session, &[token])
                .map_err(|e| format!("decode step failed: {e}"))?;
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::params::SamplingForm;

    const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

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
        let mut g = Generation::start(model.clone(), "Hello, hybrid", greedy("20")).unwrap();
        assert_eq!(g.prompt_len(), "Hello, hybrid".len());
        while g.next_token().unwrap().is_some() {}
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

        let mut again = Generation::start(model, "Hello, hybrid", greedy("20")).unwrap();
        while again.next_token().unwrap().is_some() {}
        assert_eq!(
            g.generated(),
            again.generated(),
            "greedy decoding is deterministic"
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let model = test_model();
        let e = Generation::start(model, "", greedy("4")).err().unwrap();
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
            let e = LoadedModel::from_files("bad", c, w, t).err().unwrap();
            assert!(e.contains(expected), "{e}");
        }
    }
}
