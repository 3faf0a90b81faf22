//! "Open from Hugging Face": the hub's URL layout, its file listing, which files a model
//! needs, and what it will cost in memory, worked out from the listing and `config.json`
//! before any weight is downloaded. The browser side (downloads with progress and
//! cancel, the browser's store) is in `hub/net.rs`.
//!
//! The hub is `https://huggingface.co` unless the page's address says `?hub=URL` (the
//! browser tests serve the fixtures in the hub's layout, `scripts/hub-server.mjs`).
//! URLs: the listing `{hub}/api/models/{repo}/tree/{revision}` (a JSON array of
//! `{"type": "file", "path", "size", "lfs": {"size"}}`), a file
//! `{hub}/{repo}/resolve/{revision}/{path}`.

pub mod net;

use serde::{Deserialize, Serialize};

use crate::engine::{
    hf_architecture, read_config, LayerKind, ModelConfig, INDEX_FILE, WEIGHTS_FILE,
};

/// The public hub.
pub const DEFAULT_HUB: &str = "https://huggingface.co";

/// A repository at a revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRef {
    /// The hub's base URL, without a trailing slash.
    pub hub: String,
    /// `owner/name` (or a bare `name`).
    pub repo: String,
    pub revision: String,
}

/// Characters a repository name part may hold on the hub.
fn name_ok(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 96
        && part != "."
        && part != ".."
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Percent-encodes a revision (`refs/pr/1` becomes `refs%2Fpr%2F1`) or a file path part.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl RepoRef {
    /// Reads what the user typed: `owner/name`, or a hub URL of the repository (its
    /// `/tree/REV`, `/blob/REV/..` or `/resolve/REV/..` names the revision, unless
    /// `revision` was typed).
    pub fn parse(hub: &str, input: &str, revision: &str) -> Result<Self, String> {
        let input = input.trim().trim_end_matches('/');
        let path = ["https://", "http://"]
            .iter()
            .find_map(|s| input.strip_prefix(s))
            .map(|rest| rest.split_once('/').map_or("", |(_, p)| p))
            .unwrap_or(input);
        let parts: Vec<&str> = path.split('/').collect();
        let (repo, url_rev) = match parts.as_slice() {
            [name] => (name.to_string(), None),
            [owner, name] => (format!("{owner}/{name}"), None),
            [owner, name, "tree" | "blob" | "resolve", rev, ..] => {
                (format!("{owner}/{name}"), Some(rev.to_string()))
            }
            _ => (String::new(), None),
        };
        if repo.is_empty() || !repo.split('/').all(name_ok) {
            return Err(format!(
                "{input:?} is not a model repository: type owner/name (e.g. HuggingFaceTB/SmolLM2-135M) or its huggingface.co address"
            ));
        }
        let revision = match revision.trim() {
            "" => url_rev.unwrap_or_else(|| "main".into()),
            r => r.to_string(),
        };
        let hub = hub.trim().trim_end_matches('/');
        if !(hub.starts_with("https://") || hub.starts_with("http://")) {
            return Err(format!("the hub address {hub:?} must start with https://"));
        }
        Ok(RepoRef {
            hub: hub.to_string(),
            repo,
            revision,
        })
    }

    /// The listing of the repository's files at the revision.
    pub fn tree_url(&self) -> String {
        format!(
            "{}/api/models/{}/tree/{}",
            self.hub,
            self.repo,
            encode(&self.revision)
        )
    }

    /// The download address of one file.
    pub fn file_url(&self, path: &str) -> String {
        let path: Vec<String> = path.split('/').map(encode).collect();
        format!(
            "{}/{}/resolve/{}/{}",
            self.hub,
            self.repo,
            encode(&self.revision),
            path.join("/")
        )
    }

    /// `owner/name@revision`, for the page.
    pub fn label(&self) -> String {
        format!("{}@{}", self.repo, self.revision)
    }
}

/// One file of a repository listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubFile {
    pub path: String,
    /// Bytes (of the real file for LFS files, not of their pointer).
    pub size: u64,
}

/// Reads the hub's listing: files with their sizes (folders are left out).
pub fn parse_tree(bytes: &[u8]) -> Result<Vec<HubFile>, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("the hub's file list is not JSON: {e}"))?;
    let entries = value
        .as_array()
        .ok_or("the hub's file list is not a JSON array")?;
    let mut files = Vec::new();
    for e in entries {
        if e.get("type").and_then(|t| t.as_str()) != Some("file") {
            continue;
        }
        let path = e.get("path").and_then(|p| p.as_str());
        let size = e
            .pointer("/lfs/size")
            .or_else(|| e.get("size"))
            .and_then(|s| s.as_u64());
        match (path, size) {
            (Some(path), Some(size)) => files.push(HubFile {
                path: path.to_string(),
                size,
            }),
            _ => {
                return Err(format!(
                    "the hub's file list has an entry without path or size: {e}"
                ))
            }
        }
    }
    Ok(files)
}

/// The files a model needs that are not weights, in download order.
pub const SIDE_FILES: [&str; 2] = ["config.json", "tokenizer.json"];

/// Checks that the listing holds what a model needs; returns the weights' entry point:
/// the index of a sharded checkpoint, else `model.safetensors`.
pub fn weights_entry(files: &[HubFile]) -> Result<&'static str, String> {
    let has = |name: &str| files.iter().any(|f| f.path == name);
    let missing: Vec<&str> = SIDE_FILES.into_iter().filter(|n| !has(n)).collect();
    if !missing.is_empty() {
        return Err(format!(
            "the repository has no {} at this revision (the page needs config.json, tokenizer.json and safetensors weights)",
            missing.join(" and ")
        ));
    }
    if has(INDEX_FILE) {
        Ok(INDEX_FILE)
    } else if has(WEIGHTS_FILE) {
        Ok(WEIGHTS_FILE)
    } else {
        Err(format!(
            "the repository has neither {WEIGHTS_FILE} nor {INDEX_FILE} (only safetensors weights are read)"
        ))
    }
}

/// Total bytes of the listed files among `names` (unlisted ones count 0).
pub fn listed_bytes(files: &[HubFile], names: &[String]) -> u64 {
    files
        .iter()
        .filter(|f| names.contains(&f.path))
        .map(|f| f.size)
        .sum()
}

/// Bytes of the listed safetensors files (the weights as downloaded, at their dtype).
pub fn weights_bytes(files: &[HubFile]) -> u64 {
    files
        .iter()
        .filter(|f| f.path.ends_with(".safetensors"))
        .map(|f| f.size)
        .sum()
}

/// What `config.json` says before the weights are fetched.
#[derive(Clone, Debug, PartialEq)]
pub struct Preview {
    pub config: ModelConfig,
    /// The `architectures` entry of a Hugging Face config; `None` for the project's format.
    pub architecture: Option<String>,
}

impl Preview {
    /// Reads `config.json` with the importer (an unsupported family or key is its error).
    pub fn read(id: &str, config: &[u8]) -> Result<Self, String> {
        Ok(Preview {
            config: read_config(id, config)?,
            architecture: hf_architecture(config),
        })
    }

    /// The layer plan in one line: "A" attention, "M" Mamba-2, "I" intra (both), with
    /// "+F" after a block that has an FFN.
    pub fn plan(&self) -> String {
        let cfg = &self.config;
        cfg.layers
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let kind = match k {
                    LayerKind::Attention => "A",
                    LayerKind::Mamba => "M",
                    LayerKind::Intra => "I",
                };
                if cfg.has_ffn(i) {
                    format!("{kind}+F")
                } else {
                    kind.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The memory a model will take, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// The weight files as downloaded (their dtype: bf16 = 2 bytes a parameter).
    pub download: u64,
    /// The weights as f32 in the engine.
    pub f32_weights: u64,
    /// KV cache + SSM and conv state of one sequence at `context` tokens (f32).
    pub state: u64,
    pub context: usize,
    /// What the page needs while it builds the model (file + f32 weights), against the
    /// 4 GiB a WebAssembly page can address.
    pub page: u64,
}

impl Estimate {
    pub fn new(cfg: &ModelConfig, download: u64, context: usize) -> Self {
        Estimate {
            download,
            f32_weights: cfg.param_count_u64().saturating_mul(4),
            state: cfg.cache_bytes(context) as u64,
            context,
            page: crate::engine::page_bytes(cfg, Some(download)),
        }
    }

    /// Whether the page can hold it.
    pub fn fits(&self) -> bool {
        self.page <= crate::engine::WASM_MEMORY_BYTES
    }
}

#[cfg(test)]
mod tests;
