//! Settings in the URL hash, so a link reproduces the page:
//! `#view=attention&models=a,b&prompt=Once%20upon&layer=2&seed=7`.
//!
//! The page's own keys (view, models, prompt, large, theme, backend) are typed fields;
//! every other `key=value` pair lands in [`HashState::fields`] and is written back as it
//! came, so a module adds a setting to the link without touching this file: it reads its
//! key at start and writes it on change through `state::Ui` (`Ui::bind`, `Ui::set_field`).

use std::collections::BTreeMap;

/// The views of the page, in nav order.
pub const VIEWS: [(&str, &str); 5] = [
    ("compare", "Compare"),
    ("attention", "Attention"),
    ("state", "State"),
    ("scaling", "Scaling"),
    ("architecture", "Architecture"),
];

/// What the hash carries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HashState {
    pub view: Option<String>,
    pub models: Vec<String>,
    pub prompt: Option<String>,
    pub large: bool,
    pub theme: Option<String>,
    /// `backend=cpu`: run on the CPU engine even where WebGPU works.
    pub cpu: bool,
    /// Every other key (a [`valid_key`]), by name: sampling, layer, sweep, plan, tour...
    pub fields: BTreeMap<String, String>,
}

/// Keys the typed fields use; [`HashState::fields`] never holds them.
const TYPED_KEYS: [&str; 6] = ["view", "models", "prompt", "large", "theme", "backend"];

/// Whether `key` can be a field: 1 to 32 of `a-z 0-9 _ -`, not a typed key.
pub fn valid_key(key: &str) -> bool {
    (1..=32).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && !TYPED_KEYS.contains(&key)
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` and `+`; bad escapes are kept as they are; invalid UTF-8 is replaced.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl HashState {
    /// Parses a hash (with or without the leading `#`); unknown keys are ignored.
    pub fn decode(hash: &str) -> Self {
        let mut s = HashState::default();
        for pair in hash.trim_start_matches('#').split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let raw = v;
            let v = percent_decode(v);
            match k {
                "view" if VIEWS.iter().any(|(id, _)| *id == v) => s.view = Some(v),
                "models" => {
                    s.models = raw
                        .split(',')
                        .map(|m| percent_decode(m).trim().to_string())
                        .filter(|m| !m.is_empty())
                        .take(4)
                        .collect()
                }
                "prompt" => s.prompt = Some(v),
                "large" => s.large = v == "1",
                "backend" => s.cpu = v == "cpu",
                "theme" if v == "light" || v == "dark" => s.theme = Some(v),
                k if valid_key(k) && s.fields.len() < 64 => {
                    s.fields.insert(k.to_string(), v);
                }
                _ => {}
            }
        }
        s
    }

    /// The hash text (with `#`), keys in a fixed order.
    pub fn encode(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = &self.view {
            parts.push(format!("view={}", percent_encode(v)));
        }
        if !self.models.is_empty() {
            let list: Vec<String> = self.models.iter().map(|m| percent_encode(m)).collect();
            parts.push(format!("models={}", list.join(",")));
        }
        if let Some(p) = &self.prompt {
            parts.push(format!("prompt={}", percent_encode(p)));
        }
        if self.large {
            parts.push("large=1".into());
        }
        if let Some(t) = &self.theme {
            parts.push(format!("theme={}", percent_encode(t)));
        }
        if self.cpu {
            parts.push("backend=cpu".into());
        }
        for (k, v) in self.fields.iter().filter(|(k, _)| valid_key(k)) {
            parts.push(format!("{k}={}", percent_encode(v)));
        }
        format!("#{}", parts.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = HashState {
            view: Some("attention".into()),
            models: vec!["test-random".into(), "a b,c".into()],
            prompt: Some("Héllo & 100% = ok?\n".into()),
            large: true,
            theme: Some("dark".into()),
            cpu: true,
            fields: [
                ("seed", "7"),
                ("arch", "{\"layers\":[\"mamba\"]}"),
                ("tour", "3"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        };
        let h = s.encode();
        assert!(!h.contains(' ') && !h.contains('\n'), "{h}");
        assert_eq!(HashState::decode(&h), s);
    }

    #[test]
    fn junk_is_ignored() {
        let s = HashState::decode("#view=nope&models=,,a,&prompt=%zz%4&x=1&theme=pink&&=");
        assert_eq!(s.view, None);
        assert_eq!(s.models, vec!["a".to_string()]);
        assert_eq!(s.prompt.as_deref(), Some("%zz%4"));
        assert_eq!(s.theme, None);
        assert_eq!(s.fields.get("x").map(String::as_str), Some("1"));
        assert_eq!(
            s.fields.len(),
            1,
            "the empty key is dropped: {:?}",
            s.fields
        );
        let bad = HashState::decode("#Seed=1&a%20b=2&layer=3");
        assert_eq!(bad.fields.keys().collect::<Vec<_>>(), vec!["layer"]);
        assert_eq!(HashState::decode(""), HashState::default());
        assert_eq!(percent_decode("a+b%20c%"), "a b c%");
        assert_eq!(percent_decode("%E2%9C%93"), "✓");
    }
}
