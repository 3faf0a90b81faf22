//! Model folders and files for the cases: copies of a zoo model with one thing broken.

use std::path::{Path, PathBuf};

use super::root;

/// A copy of a zoo model folder, with `edit` applied to its files.
pub fn model_copy(dir: &Path, name: &str, edit: impl Fn(&Path)) -> PathBuf {
    let src = root().join("assets/models/shakespeare-mamba2");
    let dst = dir.join(name);
    std::fs::create_dir_all(&dst).expect("model dir");
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(src.join(f), dst.join(f)).expect("copy");
    }
    edit(&dst);
    dst
}

pub fn edit_config(dir: &Path, f: impl Fn(&mut serde_json::Value)) {
    let p = dir.join("config.json");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
    f(&mut v);
    std::fs::write(&p, v.to_string()).expect("write");
}

pub fn edit_weights(dir: &Path, f: impl Fn(&mut Vec<u8>)) {
    let p = dir.join("model.safetensors");
    let mut b = std::fs::read(&p).expect("read");
    f(&mut b);
    std::fs::write(&p, b).expect("write");
}

pub fn half_nan() -> [u8; 2] {
    0x7e00u16.to_le_bytes()
}

/// The model's weights with the first tensor's entry written twice in the JSON header
/// (same name, same offsets): the header length and the data stay consistent.
pub fn duplicate_first_tensor(b: &mut Vec<u8>) {
    let mut len = [0u8; 8];
    len.copy_from_slice(&b[..8]);
    let n = u64::from_le_bytes(len) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&b[8..8 + n]).expect("header");
    let (name, entry) = header
        .iter()
        .find(|(k, _)| *k != "__metadata__")
        .expect("a tensor");
    let dup = format!("{{{}:{entry},", serde_json::Value::from(name.as_str()));
    let old = std::str::from_utf8(&b[8..8 + n]).expect("utf-8").trim_end();
    let new = format!("{dup}{}", old.strip_prefix('{').expect("an object"));
    let mut out = (new.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(new.as_bytes());
    out.extend_from_slice(&b[8 + n..]);
    *b = out;
}

/// A byte-level BPE tokenizer with one more token than the model's vocabulary.
pub fn one_token_more(dir: &Path) {
    let p = dir.join("tokenizer.json");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
    let vocab = v["model"]["vocab"].as_object_mut().expect("model.vocab");
    let n = vocab.len();
    vocab.insert("<one too many>".into(), n.into());
    std::fs::write(&p, v.to_string()).expect("write");
}

/// Replaces `file` in `dir` by a symbolic link to `target` (a device, a FIFO).
pub fn link(dir: &Path, file: &str, target: &Path) {
    std::fs::remove_file(dir.join(file)).expect("rm");
    std::os::unix::fs::symlink(target, dir.join(file)).expect("symlink");
}
