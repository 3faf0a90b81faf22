//! The model list: `assets/models/index.json`, a JSON array of [`ModelEntry`].

use serde::Deserialize;

/// Where the page finds the model list, relative to the page.
pub const INDEX_URL: &str = "assets/models/index.json";

/// One model the page offers. Its files live in `assets/models/<path>/`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// Stable identifier (used in the picker and by tests).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// One line saying what the model is.
    #[serde(default)]
    pub description: String,
    /// Folder under `assets/models/` holding `config.json`, `model.safetensors`, `tokenizer.json`.
    pub path: String,
}

/// The three files of a model folder, in the order the page fetches them.
pub const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

impl ModelEntry {
    /// URL of one of the model's files, relative to the page.
    pub fn file_url(&self, file: &str) -> String {
        format!("assets/models/{}/{}", self.path.trim_end_matches('/'), file)
    }
}

/// Parses and checks `index.json`: ids unique, paths relative and inside `assets/models/`.
pub fn parse_index(bytes: &[u8]) -> Result<Vec<ModelEntry>, String> {
    let entries: Vec<ModelEntry> = serde_json::from_slice(bytes).map_err(|e| {
        format!("{INDEX_URL} is not a list of {{id, name, description, path}}: {e}")
    })?;
    for (i, e) in entries.iter().enumerate() {
        if e.id.trim().is_empty() {
            return Err(format!("{INDEX_URL}: entry {i} has an empty id"));
        }
        if entries[..i].iter().any(|o| o.id == e.id) {
            return Err(format!("{INDEX_URL}: id {:?} appears twice", e.id));
        }
        check_path(&e.path)
            .map_err(|why| format!("{INDEX_URL}: model {:?}: path {:?} {why}", e.id, e.path))?;
    }
    Ok(entries)
}

fn check_path(path: &str) -> Result<(), &'static str> {
    let ok_chars = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if path.is_empty() {
        Err("is empty")
    } else if !ok_chars {
        Err("may only hold letters, digits, '-', '_', '.' and '/'")
    } else if path.starts_with('/') || path.split('/').any(|seg| seg == ".." || seg == ".") {
        Err("must be a plain relative folder under assets/models/")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_list() {
        let json = br#"[{"id": "a", "name": "A", "description": "d", "path": "a"},
                        {"id": "b", "name": "B", "path": "zoo/b/"}]"#;
        let m = parse_index(json).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].description, "");
        assert_eq!(
            m[1].file_url("config.json"),
            "assets/models/zoo/b/config.json"
        );
    }

    #[test]
    fn rejects_bad_entries() {
        let cases: [&[u8]; 6] = [
            b"{}",
            br#"[{"id": "a", "name": "A"}]"#,
            br#"[{"id": "", "name": "A", "path": "a"}]"#,
            br#"[{"id": "a", "name": "A", "path": "a"}, {"id": "a", "name": "B", "path": "b"}]"#,
            br#"[{"id": "a", "name": "A", "path": "../secret"}]"#,
            br#"[{"id": "a", "name": "A", "path": "https://x/y"}]"#,
        ];
        for c in cases {
            assert!(parse_index(c).is_err(), "{}", String::from_utf8_lossy(c));
        }
    }

    #[test]
    fn bundled_index_parses() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../assets/models/index.json"
        ))
        .expect("assets/models/index.json exists");
        let entries = parse_index(&bytes).expect("index.json parses");
        // the zoo: 6 families x 2 tasks, each folder complete, ids unique
        assert!(entries.len() >= 12, "{} entries", entries.len());
        let ids: std::collections::BTreeSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), entries.len(), "duplicate ids");
        let models = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/models/");
        for e in entries.iter().filter(|e| !e.id.starts_with("test-")) {
            for f in ["config.json", "model.safetensors", "tokenizer.json"] {
                let p = std::path::Path::new(models).join(&e.path).join(f);
                assert!(p.is_file(), "{}: {} is missing", e.id, p.display());
            }
            assert!(!e.name.is_empty() && !e.description.is_empty(), "{}", e.id);
        }
    }
}
