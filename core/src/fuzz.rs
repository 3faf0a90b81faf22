//! The bodies of the fuzz targets (`fuzz/`, `cargo +nightly fuzz run <target>`) and of the
//! property tests (`core/tests/properties/`): one function per input a user can hand the
//! engine, each checking that the input is either accepted or refused with a typed
//! [`Error`], never a panic, and that what is accepted can be used. Both harnesses call
//! these, so a case found by one is a regression test in the other.
//!
//! Each function panics (on purpose) when a property does not hold; that panic is what
//! the fuzzer and proptest report.

use crate::config::ModelConfig;
use crate::error::Error;
use crate::tokenizer::Tokenizer;
use crate::weights::Weights;
use crate::Model;

/// Context lengths at which every derived size is computed: the edges, and up to 2^40
/// (the largest context `hybrid inspect --context` accepts), saturated to `usize` where it
/// is narrower (wasm32).
pub const CONTEXTS: [u64; 10] = [0, 1, 2, 3, 255, 4096, 1 << 20, 1 << 31, 1 << 32, 1 << 40];

/// Configs with at most this many parameters get random weights built (and a short
/// forward when their state is small too).
pub const SMALL_PARAMS: usize = 500_000;

/// Largest session state (bytes at context 4) for which a forward is run.
const SMALL_STATE_BYTES: usize = 64 << 20;

/// A safetensors file against a config: [`crate::header::check`] and
/// [`Model::from_bytes`] return, never panic; they agree (a file the header check
/// refuses is never loaded); and a loaded model has the config's parameter count.
pub fn safetensors(config_json: &[u8], weights: &[u8]) {
    let header = crate::header::check(weights);
    let _ = header.as_ref().map_err(|e| e.to_string());
    match Model::from_bytes(config_json, weights) {
        Ok(model) => {
            assert!(
                header.is_ok(),
                "loaded a file the header check refuses: {header:?}"
            );
            assert_eq!(
                weight_count(model.weights()),
                model.config().param_count(),
                "loaded weights do not hold the config's parameter count"
            );
        }
        Err(e) => {
            // the message is what a user sees: it must render
            assert!(!e.to_string().is_empty());
            if header.is_err() && ModelConfig::from_json(config_json).is_ok() {
                assert!(
                    matches!(e, Error::Safetensors(_)),
                    "the header check refused the file but loading said: {e}"
                );
            }
        }
    }
}

/// `config.json` bytes: [`ModelConfig::from_json`] returns, never panics; an accepted
/// config passes [`config_sizes`].
pub fn config(json: &[u8]) {
    match ModelConfig::from_json(json) {
        Ok(cfg) => config_sizes(&cfg),
        Err(e) => {
            assert!(
                matches!(e, Error::Config(_) | Error::ConfigSyntax(_)),
                "a config error of the wrong kind: {e}"
            );
            assert!(!e.to_string().is_empty());
        }
    }
}

/// A Hugging Face checkpoint (`config.json` and one `model.safetensors`):
/// [`crate::hf::config`] and [`crate::hf::load`] return, never panic; a config error is of
/// the config kinds; an accepted config passes [`config_sizes`] (its mapped engine config
/// is a valid config of the project's format too); a loaded model has the config's
/// parameter count.
pub fn hf_checkpoint(config_json: &[u8], weights: &[u8]) {
    match crate::hf::config(config_json) {
        Ok(cfg) => config_sizes(&cfg),
        Err(e) => assert!(
            matches!(e, Error::Config(_) | Error::ConfigSyntax(_)),
            "a config error of the wrong kind: {e}"
        ),
    }
    let shards = [(crate::hf::WEIGHTS_FILE, weights)];
    let files = crate::hf::HfFiles {
        config: config_json,
        index: None,
        shards: &shards,
    };
    match crate::hf::load(files) {
        Ok(model) => assert_eq!(
            weight_count(model.weights()),
            model.config().param_count(),
            "loaded weights do not hold the config's parameter count"
        ),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// A validated config: every derived size computes without panic at every context in
/// [`CONTEXTS`]; it round-trips through JSON; when small, random weights are built for
/// it (they must be: it is valid) and a short prefill + decode step runs on them.
pub fn config_sizes(cfg: &ModelConfig) {
    let params = cfg.param_count();
    assert_eq!(params as u64, cfg.param_count_u64().min(usize::MAX as u64));
    let mut sum = 0u64;
    for i in 0..cfg.layers.len() {
        sum = sum.saturating_add(cfg.block_params_u64(i));
        let _ = cfg.block_params(i);
    }
    assert!(
        sum <= cfg.param_count_u64(),
        "blocks hold more than the model"
    );
    let _ = (cfg.kv_bytes_per_token(), cfg.ssm_state_bytes());
    let _ = (cfg.conv_state_bytes(), cfg.display_name());
    // the sections' sizes, used or not (an unused section is only limit-checked)
    for a in [cfg.attn_dims(), cfg.intra_attn_dims()]
        .into_iter()
        .flatten()
    {
        let _ = (a.q_dim(), a.k_dim(), a.v_dim(), a.o_dim(), a.kv_row());
    }
    for m in [cfg.mamba_dims(), cfg.intra_mamba_dims()]
        .into_iter()
        .flatten()
    {
        let _ = (m.d_inner(), m.conv_dim(), m.in_proj_dim());
        let _ = (m.ssm_state_len(), m.conv_state_len());
    }
    for t in CONTEXTS.map(|t| usize::try_from(t).unwrap_or(usize::MAX)) {
        let (kv, all) = (cfg.kv_cache_bytes(t), cfg.cache_bytes(t));
        assert!(
            all >= kv,
            "cache_bytes({t}) = {all} < kv_cache_bytes = {kv}"
        );
        for i in 0..cfg.layers.len() {
            assert!(cfg.kv_positions(i, t) <= t);
        }
        let _ = cfg.kv_and_ssm_bytes(t, 2);
        let _ = cfg.flops_per_token(t);
    }
    let again = ModelConfig::from_json(cfg.to_json().as_bytes())
        .unwrap_or_else(|e| panic!("a valid config does not re-parse from to_json: {e}"));
    assert_eq!(&again, cfg, "to_json does not round-trip");
    if params >= SMALL_PARAMS {
        return;
    }
    let weights = Weights::random(cfg, 0)
        .unwrap_or_else(|e| panic!("random weights for a valid config: {e}"));
    assert_eq!(weight_count(&weights), params);
    if cfg.cache_bytes(4) > SMALL_STATE_BYTES {
        return;
    }
    let model = Model::new(cfg.clone(), weights);
    let mut state = model.new_state();
    let vocab = cfg.vocab_size as u32;
    let prompt = [0, vocab - 1, vocab / 2];
    let logits = model
        .prefill(&mut state, &prompt)
        .unwrap_or_else(|e| panic!("prefill on a valid config: {e}"));
    assert_eq!(logits.len(), cfg.vocab_size);
    let logits = model
        .step(&mut state, vocab - 1)
        .unwrap_or_else(|e| panic!("decode step on a valid config: {e}"));
    assert_eq!(logits.len(), cfg.vocab_size);
    assert!(matches!(
        model.step(&mut state, vocab),
        Err(Error::TokenOutOfRange { .. })
    ));
}

/// `tokenizer.json` bytes: [`Tokenizer::from_bytes`] returns, never panics; an accepted
/// tokenizer passes [`tokenizer_use`] on `text` and `ids`.
pub fn tokenizer(json: &[u8], text: &str, ids: &[u32]) {
    match Tokenizer::from_bytes(json) {
        Ok(tok) => tokenizer_use(&tok, text, ids),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// A loaded tokenizer: `encode`, `decode` (ids in and out of the vocabulary), the
/// streaming decoder and `token_strings` return, never panic. The streamed pieces are
/// text the decoder produced (whole characters, no more than the ids decode to plus the
/// `<id N>` markers).
pub fn tokenizer_use(tok: &Tokenizer, text: &str, ids: &[u32]) {
    let _ = tok.vocab_size();
    if let Ok(encoded) = tok.encode(text) {
        let _ = tok.decode(&encoded);
        let _ = tok.token_strings(&encoded);
    }
    let _ = tok.decode(ids);
    let _ = tok.token_strings(ids);
    let mut stream = tok.stream();
    for &id in ids {
        if stream.push(id).is_err() {
            break;
        }
    }
}

/// Floats held by a model's weights (embedding counted once when tied).
fn weight_count(w: &Weights) -> usize {
    use crate::weights::{Mixer, Tensor};
    let n = |t: &Tensor| t.data.len();
    let o = |t: &Option<Tensor>| t.as_ref().map_or(0, n);
    let mut total = n(&w.embed_tokens) + n(&w.norm_f) + o(&w.lm_head);
    for b in &w.blocks {
        total += n(&b.mixer_norm);
        if let Some(f) = &b.ffn {
            total += n(&f.norm) + o(&f.gate_proj) + n(&f.up_proj) + n(&f.down_proj);
        }
        let attn = |a: &crate::weights::AttnWeights| {
            n(&a.q_proj) + n(&a.k_proj) + n(&a.v_proj) + o(&a.o_proj)
        };
        let mamba = |m: &crate::weights::MambaWeights| {
            n(&m.in_proj)
                + n(&m.conv_weight)
                + n(&m.conv_bias)
                + n(&m.dt_bias)
                + n(&m.a_log)
                + n(&m.d_skip)
                + o(&m.norm)
                + o(&m.out_proj)
        };
        total += match &b.mixer {
            Mixer::Attention(a) => attn(a),
            Mixer::Mamba(m) => mamba(m),
            Mixer::Intra(i) => {
                attn(&i.attn)
                    + mamba(&i.ssm)
                    + o(&i.attn_norm)
                    + o(&i.ssm_norm)
                    + usize::from(i.attn_scale.is_some())
                    + usize::from(i.ssm_scale.is_some())
                    + o(&i.out_proj)
            }
        };
    }
    total
}
