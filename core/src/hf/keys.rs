//! Reading a Hugging Face `config.json` without ever ignoring a key in silence: every key
//! of the file is read by the family's mapping, listed as having no effect on a forward
//! pass, or refused with an error naming it. A key absent from the file takes the
//! config class's default, as in `transformers` (`save_pretrained` writes only the keys
//! that differ from the defaults).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Keys of `PretrainedConfig` and of older generation settings that do not change the
/// logits of a forward pass (names, ids, dtypes, output switches, sampling defaults).
const NO_EFFECT: &[&str] = &[
    "_name_or_path",
    "architectures",
    "model_type",
    "transformers_version",
    "torch_dtype",
    "dtype",
    "use_cache",
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "sep_token_id",
    "decoder_start_token_id",
    "initializer_range",
    "output_attentions",
    "output_hidden_states",
    "return_dict",
    "torchscript",
    "use_return_dict",
    "is_decoder",
    "is_encoder_decoder",
    "add_cross_attention",
    "tie_encoder_decoder",
    "chunk_size_feed_forward",
    "pruned_heads",
    "problem_type",
    "id2label",
    "label2id",
    "finetuning_task",
    "task_specific_params",
    "tokenizer_class",
    "prefix",
    "max_length",
    "min_length",
    "do_sample",
    "early_stopping",
    "num_beams",
    "num_beam_groups",
    "temperature",
    "top_k",
    "top_p",
    "typical_p",
    "repetition_penalty",
    "length_penalty",
    "no_repeat_ngram_size",
    "encoder_no_repeat_ngram_size",
    "bad_words_ids",
    "num_return_sequences",
    "output_scores",
    "return_dict_in_generate",
    "forced_bos_token_id",
    "forced_eos_token_id",
    "remove_invalid_values",
    "exponential_decay_length_penalty",
    "suppress_tokens",
    "begin_suppress_tokens",
    "diversity_penalty",
    "tf_legacy_loss",
    "use_bfloat16",
    "cross_attention_hidden_size",
    "attn_implementation",
    "_attn_implementation_autoset",
    "quantization_config_ignore",
];

/// A `config.json` being mapped: the file's keys, the class defaults, the keys read.
pub(super) struct Keys {
    /// The `architectures` entry, for messages.
    arch: String,
    file: Map<String, Value>,
    defaults: Value,
    seen: BTreeSet<String>,
}

impl Keys {
    /// `file` is the parsed `config.json`; `defaults` the class defaults (a JSON object).
    pub(super) fn new(arch: &str, file: Map<String, Value>, defaults: Value) -> Self {
        Keys {
            arch: arch.to_string(),
            file,
            defaults,
            seen: BTreeSet::new(),
        }
    }

    /// The value of `key` (the file's, else the default; JSON null counts as absent).
    pub(super) fn get(&mut self, key: &str) -> Option<Value> {
        self.seen.insert(key.to_string());
        match self.file.get(key) {
            Some(Value::Null) | None => self.defaults.get(key).filter(|v| !v.is_null()).cloned(),
            Some(v) => Some(v.clone()),
        }
    }

    /// The error for `key` holding `value`, which the engine cannot run.
    pub(super) fn refuse(&self, key: &str, value: &Value, supported: &str) -> Error {
        Error::Config(format!(
            "{}: `{key}` = {value} is not supported (supported: {supported}); refused rather than run a different model",
            self.arch
        ))
    }

    /// A required non-negative integer.
    pub(super) fn usize(&mut self, key: &str) -> Result<usize> {
        self.opt_usize(key)?
            .ok_or_else(|| Error::Config(format!("{}: `{key}` is missing", self.arch)))
    }

    /// A non-negative integer, or None when absent or null.
    pub(super) fn opt_usize(&mut self, key: &str) -> Result<Option<usize>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.refuse(key, &v, "a non-negative integer")),
        }
    }

    /// A non-negative integer, or `auto` when the key is the text "auto" (the Mamba head
    /// sizes of the hybrid configs).
    pub(super) fn usize_or_auto(&mut self, key: &str, auto: usize) -> Result<usize> {
        match self.get(key) {
            Some(Value::String(s)) if s == "auto" => Ok(auto),
            _ => self.usize(key),
        }
    }

    /// A finite number as f32 (an infinite one is read only where it means something,
    /// through [`number`]).
    pub(super) fn f32(&mut self, key: &str) -> Result<f32> {
        let v = self
            .get(key)
            .ok_or_else(|| Error::Config(format!("{}: `{key}` is missing", self.arch)))?;
        number(&v)
            .filter(|x| x.is_finite())
            .ok_or_else(|| self.refuse(key, &v, "a finite number"))
    }

    /// A boolean.
    pub(super) fn bool(&mut self, key: &str) -> Result<bool> {
        let v = self.get(key).unwrap_or(Value::Bool(false));
        v.as_bool()
            .ok_or_else(|| self.refuse(key, &v, "true or false"))
    }

    /// `key` must be absent, null or one of `allowed`.
    pub(super) fn expect(&mut self, key: &str, allowed: &[Value]) -> Result<()> {
        match self.get(key) {
            Some(v) if !allowed.contains(&v) => {
                let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
                Err(self.refuse(key, &v, &list.join(" or ")))
            }
            _ => Ok(()),
        }
    }

    /// Keys with no effect on a forward pass of this family (training-only settings).
    pub(super) fn no_effect(&mut self, keys: &[&str]) {
        self.seen.extend(keys.iter().map(|k| k.to_string()));
    }

    /// Every key of the file must have been read or listed.
    pub(super) fn finish(self) -> Result<()> {
        let unknown = self
            .file
            .keys()
            .find(|k| !self.seen.contains(*k) && !NO_EFFECT.contains(&k.as_str()));
        match unknown {
            None => Ok(()),
            Some(k) => Err(Error::Config(format!(
                "{}: unknown key `{k}`: the importer does not know whether it changes the model, so it refuses the checkpoint",
                self.arch
            ))),
        }
    }
}

/// A JSON number, or the texts "Infinity" / "-Infinity" / "NaN" (bare, or as
/// transformers 5 writes them, `{"__float__": "Infinity"}`), as f32.
pub(super) fn number(v: &Value) -> Option<f32> {
    match v {
        Value::Number(n) => n.as_f64().map(|x| x as f32),
        Value::Object(o) if o.len() == 1 => o.get("__float__").and_then(number),
        Value::String(s) => match s.as_str() {
            "Infinity" => Some(f32::INFINITY),
            "-Infinity" => Some(f32::NEG_INFINITY),
            "NaN" => Some(f32::NAN),
            _ => None,
        },
        _ => None,
    }
}
