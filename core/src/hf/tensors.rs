//! The tensors of a Hugging Face checkpoint: one `model.safetensors`, or the shards that
//! `model.safetensors.index.json` lists. Each tensor is taken once by name, checked like
//! the project's own format (shape, dtype, finite values); leftovers are an error.

use std::collections::{BTreeMap, BTreeSet};

use safetensors::SafeTensors;

use crate::error::{Error, Result};
use crate::weights::{checked_tensor, Tensor};

/// The distinct shard file names of a `model.safetensors.index.json`, sorted.
pub fn shard_files(index_json: &[u8]) -> Result<Vec<String>> {
    Ok(weight_map(index_json)?
        .into_values()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect())
}

/// The index's `weight_map`: tensor name -> shard file.
fn weight_map(index_json: &[u8]) -> Result<BTreeMap<String, String>> {
    let bad = |m: String| Error::Safetensors(format!("model.safetensors.index.json: {m}"));
    let v: serde_json::Value =
        serde_json::from_slice(index_json).map_err(|e| bad(e.to_string()))?;
    let map = v
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| bad("no `weight_map` object".into()))?;
    map.iter()
        .map(|(name, file)| match file.as_str() {
            // a shard is a file beside the index, never a path elsewhere
            Some(f) if !f.contains(['/', '\\']) && f != ".." && !f.is_empty() => {
                Ok((name.clone(), f.to_string()))
            }
            _ => Err(bad(format!("`{name}` maps to {file}, not a file name"))),
        })
        .collect()
}

/// The tensors of every shard, by name.
pub(super) struct Checkpoint<'a> {
    /// Tensor name -> the index of its shard in `shards`.
    by_name: BTreeMap<String, usize>,
    shards: Vec<(String, SafeTensors<'a>)>,
    taken: BTreeSet<String>,
}

impl<'a> Checkpoint<'a> {
    /// `shards`: (file name, bytes); with an index, every tensor must be in the shard the
    /// index names, and every tensor of a shard in the index.
    pub(super) fn new(shards: &[(&str, &'a [u8])], index_json: Option<&[u8]>) -> Result<Self> {
        let mut by_name = BTreeMap::new();
        let mut files = Vec::with_capacity(shards.len());
        for (i, (file, bytes)) in shards.iter().enumerate() {
            let named = |e: Error| Error::Safetensors(format!("{file}: {e}"));
            crate::header::check(bytes).map_err(named)?;
            let st = SafeTensors::deserialize(bytes)
                .map_err(|e| Error::Safetensors(format!("{file}: {e}")))?;
            for name in st.names() {
                if let Some(j) = by_name.insert(name.to_string(), i) {
                    return Err(Error::Safetensors(format!(
                        "tensor `{name}` is in both {} and {file}",
                        shards[j].0
                    )));
                }
            }
            files.push((file.to_string(), st));
        }
        if let Some(index) = index_json {
            let map = weight_map(index)?;
            for (name, &i) in &by_name {
                match map.get(name) {
                    Some(f) if *f == files[i].0 => {}
                    other => {
                        return Err(Error::Safetensors(format!(
                        "model.safetensors.index.json puts `{name}` in {other:?}, but it is in {}",
                        files[i].0
                    )))
                    }
                }
            }
            if let Some(name) = map.keys().find(|n| !by_name.contains_key(*n)) {
                return Err(Error::Safetensors(format!(
                    "model.safetensors.index.json lists `{name}`, which no shard holds"
                )));
            }
        }
        Ok(Checkpoint {
            by_name,
            shards: files,
            taken: BTreeSet::new(),
        })
    }

    /// The tensor `name`, which must have shape `expected`.
    pub(super) fn take(&mut self, name: &str, expected: &[usize]) -> Result<Tensor> {
        let missing = || Error::MissingTensor {
            name: name.to_string(),
            expected: expected.to_vec(),
        };
        let &i = self.by_name.get(name).ok_or_else(missing)?;
        let view = self.shards[i].1.tensor(name).map_err(|_| missing())?;
        let t = checked_tensor(name, &view, expected)?;
        self.taken.insert(name.to_string());
        Ok(t)
    }

    /// Mark `name` as read without using it (a tied head's copy of the embedding).
    pub(super) fn skip(&mut self, name: &str) {
        self.taken.insert(name.to_string());
    }

    /// Mark every tensor whose name starts with `prefix` as read (modules a forward pass
    /// does not run, such as Nemotron-H's multi-token-prediction layers `mtp.*`).
    pub(super) fn skip_prefix(&mut self, prefix: &str) {
        let names = self.by_name.keys().filter(|n| n.starts_with(prefix));
        self.taken.extend(names.cloned());
    }

    /// Every tensor must have been taken: a leftover means the mapping does not explain
    /// the checkpoint (an option the config does not show).
    pub(super) fn finish(self) -> Result<()> {
        let mut extra = self.by_name.keys().filter(|n| !self.taken.contains(*n));
        match extra.next() {
            None => Ok(()),
            Some(first) => Err(Error::UnexpectedTensors {
                count: 1 + extra.count(),
                example: first.clone(),
            }),
        }
    }
}
