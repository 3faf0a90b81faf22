//! Hugging Face checkpoints: a model folder's `config.json` (with `architectures`),
//! `model.safetensors` (or the shards of `model.safetensors.index.json`) and
//! `tokenizer.json`, mapped onto the engine's [`ModelConfig`] and [`Weights`]; no Python
//! at run time. One file per family maps its config keys and tensor names
//! (docs/FORMAT.md, "Hugging Face checkpoints"); an option the engine does not run is an
//! error naming the key, never a silently different model.

mod bamba;
mod blocks;
mod common;
mod falcon_h1;
mod granite;
mod hybrid;
mod keys;
mod llama;
mod mamba2;
mod nemotron_h;
mod rope;
mod tensors;

use serde_json::Value;

pub use tensors::shard_files;

use crate::config::ModelConfig;
use crate::cpu::Model;
use crate::error::{Error, Result};
use keys::Keys;
use tensors::Checkpoint;

/// The file that lists the shards of a sharded checkpoint.
pub const INDEX_FILE: &str = "model.safetensors.index.json";
/// The weights of an unsharded checkpoint.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// The model classes the importer maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `LlamaForCausalLM`.
    Llama,
    /// `Mamba2ForCausalLM`.
    Mamba2,
    /// `BambaForCausalLM`.
    Bamba,
    /// `GraniteMoeHybridForCausalLM` without experts (Granite-4.0-H).
    GraniteMoeHybrid,
    /// `FalconH1ForCausalLM`.
    FalconH1,
    /// `NemotronHForCausalLM` without mixture-of-experts layers.
    NemotronH,
}

impl Family {
    /// Every family, in the order of docs/FORMAT.md.
    pub const ALL: [Family; 6] = [
        Family::Llama,
        Family::Mamba2,
        Family::Bamba,
        Family::GraniteMoeHybrid,
        Family::FalconH1,
        Family::NemotronH,
    ];

    /// The `architectures` entry of its `config.json`.
    pub fn architecture(self) -> &'static str {
        match self {
            Family::Llama => "LlamaForCausalLM",
            Family::Mamba2 => "Mamba2ForCausalLM",
            Family::Bamba => "BambaForCausalLM",
            Family::GraniteMoeHybrid => "GraniteMoeHybridForCausalLM",
            Family::FalconH1 => "FalconH1ForCausalLM",
            Family::NemotronH => "NemotronHForCausalLM",
        }
    }

    /// The family of an `architectures` entry, or an error listing the supported ones.
    pub fn from_architecture(arch: &str) -> Result<Family> {
        Family::ALL
            .into_iter()
            .find(|f| f.architecture() == arch)
            .ok_or_else(|| {
                let known: Vec<&str> = Family::ALL.iter().map(|f| f.architecture()).collect();
                Error::Config(format!(
                    "architecture `{arch}` is not supported (supported: {})",
                    known.join(", ")
                ))
            })
    }
}

/// The files of a Hugging Face model folder, as bytes.
#[derive(Debug, Clone, Copy)]
pub struct HfFiles<'a> {
    /// `config.json`.
    pub config: &'a [u8],
    /// `model.safetensors.index.json`, for a sharded checkpoint.
    pub index: Option<&'a [u8]>,
    /// (file name, bytes) of `model.safetensors` or of every shard.
    pub shards: &'a [(&'a str, &'a [u8])],
}

/// Parse a `config.json` as `transformers` writes it: Python's `json` spells infinite
/// floats `Infinity` (Mamba-2's `time_step_limit`), which JSON lacks; outside strings
/// they are read as the texts "Infinity", "-Infinity" and "NaN".
pub fn parse_json(bytes: &[u8]) -> Result<Value> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| Error::ConfigSyntax(format!("not UTF-8: {e}")))?;
    let mut out = String::with_capacity(text.len() + 16);
    let (mut in_str, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_str {
            (in_str, escaped) = (escaped || c != '"', !escaped && c == '\\');
        } else if c == '"' {
            in_str = true;
        } else if let Some(word) = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|w| rest.starts_with(w))
        {
            out.push_str(&format!("\"{word}\""));
            rest = &rest[word.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    serde_json::from_str(&out).map_err(|e| Error::ConfigSyntax(e.to_string()))
}

/// True when `config_json` is a Hugging Face config (it names `architectures`), not the
/// project's own format.
pub fn is_hf_config(config_json: &[u8]) -> bool {
    parse_json(config_json).is_ok_and(|v| v.get("architectures").is_some())
}

/// The family a Hugging Face `config.json` names in `architectures` (exactly one).
pub fn family(config: &Value) -> Result<Family> {
    let archs = config
        .get("architectures")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Error::Config("`architectures` is missing: not a Hugging Face config".into())
        })?;
    match archs.as_slice() {
        [Value::String(a)] => Family::from_architecture(a),
        _ => Err(Error::Config(format!(
            "`architectures` = {} must name exactly one model class",
            Value::Array(archs.clone())
        ))),
    }
}

/// The engine's config for a Hugging Face `config.json`, every key checked.
pub fn config(config_json: &[u8]) -> Result<ModelConfig> {
    match mapped(config_json)? {
        Mapped::Llama(c)
        | Mapped::Mamba2(c, _)
        | Mapped::Hybrid(c, _, _)
        | Mapped::FalconH1(c, _)
        | Mapped::NemotronH(c, _) => Ok(c),
    }
}

/// A config mapped: the engine's config, and what its family's weights need beyond it.
enum Mapped {
    Llama(ModelConfig),
    Mamba2(ModelConfig, mamba2::Options),
    /// A sequential hybrid, its tensor names and whether its conv has a bias.
    Hybrid(ModelConfig, &'static hybrid::Names, bool),
    FalconH1(ModelConfig, falcon_h1::Mup),
    NemotronH(ModelConfig, nemotron_h::Plan),
}

impl Mapped {
    fn config(&self) -> &ModelConfig {
        match self {
            Mapped::Llama(c)
            | Mapped::Mamba2(c, _)
            | Mapped::Hybrid(c, _, _)
            | Mapped::FalconH1(c, _)
            | Mapped::NemotronH(c, _) => c,
        }
    }
}

fn mapped(config_json: &[u8]) -> Result<Mapped> {
    let value = parse_json(config_json)?;
    let fam = family(&value)?;
    let Value::Object(map) = value else {
        return Err(Error::ConfigSyntax("the file is not a JSON object".into()));
    };
    let name = map
        .get("_name_or_path")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(fam.architecture())
        .to_string();
    let mapped = match fam {
        Family::Llama => {
            let mut k = Keys::new(fam.architecture(), map, llama::defaults());
            let cfg = llama::config(&mut k, Some(name))?;
            k.finish()?;
            Mapped::Llama(cfg)
        }
        Family::Mamba2 => {
            let mut k = Keys::new(fam.architecture(), map, mamba2::defaults());
            let (cfg, opts) = mamba2::config(&mut k, Some(name))?;
            k.finish()?;
            Mapped::Mamba2(cfg, opts)
        }
        Family::Bamba => {
            let mut k = Keys::new(fam.architecture(), map, bamba::defaults());
            let (cfg, conv_bias) = bamba::config(&mut k, Some(name))?;
            k.finish()?;
            Mapped::Hybrid(cfg, &bamba::NAMES, conv_bias)
        }
        Family::GraniteMoeHybrid => {
            let mut k = Keys::new(fam.architecture(), map, granite::defaults());
            let (cfg, conv_bias) = granite::config(&mut k, Some(name))?;
            k.finish()?;
            Mapped::Hybrid(cfg, &granite::NAMES, conv_bias)
        }
        Family::FalconH1 => {
            let mut k = Keys::new(fam.architecture(), map, falcon_h1::defaults());
            let (cfg, mup) = falcon_h1::config(&mut k, Some(name))?;
            k.finish()?;
            Mapped::FalconH1(cfg, mup)
        }
        Family::NemotronH => {
            let mut k = Keys::new(fam.architecture(), map, nemotron_h::defaults());
            let (cfg, plan) = nemotron_h::config(&mut k, Some(name))?;
            k.finish()?;
            Mapped::NemotronH(cfg, plan)
        }
    };
    mapped.config().validate()?;
    Ok(mapped)
}

/// Load a Hugging Face checkpoint onto the CPU engine.
pub fn load(files: HfFiles) -> Result<Model> {
    let mapped = mapped(files.config)?;
    if files.shards.is_empty() {
        return Err(Error::Safetensors(format!(
            "no weights: {WEIGHTS_FILE} or the shards of {INDEX_FILE}"
        )));
    }
    let mut ck = Checkpoint::new(files.shards, files.index)?;
    let (cfg, weights) = match mapped {
        Mapped::Llama(cfg) => {
            let w = llama::weights(&cfg, &mut ck)?;
            (cfg, w)
        }
        Mapped::Mamba2(cfg, opts) => {
            let w = mamba2::weights(&cfg, &opts, &mut ck)?;
            (cfg, w)
        }
        Mapped::Hybrid(cfg, names, conv_bias) => {
            let w = hybrid::weights(&cfg, conv_bias, names, &mut ck)?;
            (cfg, w)
        }
        Mapped::FalconH1(cfg, mup) => {
            let w = falcon_h1::weights(&cfg, &mup, &mut ck)?;
            (cfg, w)
        }
        Mapped::NemotronH(cfg, plan) => {
            let w = nemotron_h::weights(&cfg, &plan, &mut ck)?;
            (cfg, w)
        }
    };
    ck.finish()?;
    Ok(Model::new(cfg, weights))
}

/// Load a model folder through `read(file name)`, which returns a file's bytes or None
/// when the folder lacks it: `config.json`, then `model.safetensors.index.json` and its
/// shards, else `model.safetensors`. The caller decides how files are read (size caps,
/// which paths are allowed).
pub fn load_folder<E: From<Error>>(
    mut read: impl FnMut(&str) -> Result<Option<Vec<u8>>, E>,
) -> Result<Model, E> {
    let missing = |f: &str| Error::Safetensors(format!("{f} is missing from the model folder"));
    let config = read("config.json")?.ok_or_else(|| missing("config.json"))?;
    let index = read(INDEX_FILE)?;
    let names = match &index {
        Some(ix) => shard_files(ix)?,
        None => vec![WEIGHTS_FILE.to_string()],
    };
    let mut bytes = Vec::with_capacity(names.len());
    for n in &names {
        bytes.push(read(n)?.ok_or_else(|| missing(n))?);
    }
    let shards: Vec<(&str, &[u8])> = names
        .iter()
        .map(String::as_str)
        .zip(bytes.iter().map(Vec::as_slice))
        .collect();
    Ok(load(HfFiles {
        config: &config,
        index: index.as_deref(),
        shards: &shards,
    })?)
}
