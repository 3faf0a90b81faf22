//! Config keys the Architecture view offers before every engine reads them: the value
//! head sizes (`attention.v_head_dim`, `intra.attn_v_head_dim`) and per-layer windows
//! (top-level `windows`, one entry per layer, `null` or a window size).
//!
//! A [`Design`] is a typed [`ModelConfig`] plus these keys as JSON. The config that counts
//! is the merge of both, parsed by the core's own `from_json`: where the core knows the
//! keys, their numbers are the core's; where it does not yet, [`supported`] says so and the
//! view disables the control instead of showing numbers that ignore it.

use serde_json::{Map, Value};

use crate::engine::{ModelConfig, ATTENTION_KEYS, INTRA_KEYS, TOP_KEYS};

/// The pending keys, as `(section or "", key)`.
pub const V_HEAD_DIM: (&str, &str) = ("attention", "v_head_dim");
pub const INTRA_V_HEAD_DIM: (&str, &str) = ("intra", "attn_v_head_dim");
pub const WINDOWS: (&str, &str) = ("", "windows");

/// Whether the core's config parser knows `key`.
pub fn supported((section, key): (&str, &str)) -> bool {
    let list: &[&str] = match section {
        "" => TOP_KEYS,
        "attention" => ATTENTION_KEYS,
        "intra" => INTRA_KEYS,
        _ => &[],
    };
    list.contains(&key)
}

/// A config being designed: the typed part and the pending keys.
#[derive(Clone, Debug, PartialEq)]
pub struct Design {
    pub config: ModelConfig,
    /// `"attention.v_head_dim"`, `"intra.attn_v_head_dim"`, `"windows"` -> value.
    pub extra: Map<String, Value>,
}

fn path((section, key): (&str, &str)) -> String {
    if section.is_empty() {
        key.to_string()
    } else {
        format!("{section}.{key}")
    }
}

impl Design {
    pub fn new(config: ModelConfig) -> Self {
        Design {
            config,
            extra: Map::new(),
        }
    }

    /// A pending key's value.
    pub fn get(&self, key: (&str, &str)) -> Option<&Value> {
        self.extra.get(&path(key))
    }

    /// Sets (`Some`, not null) or clears a pending key.
    pub fn set(&mut self, key: (&str, &str), value: Option<Value>) {
        match value.filter(|v| !v.is_null()) {
            Some(v) => self.extra.insert(path(key), v),
            None => self.extra.remove(&path(key)),
        };
    }

    /// Per-layer windows, one per layer (`None`: the section's window).
    pub fn windows(&self) -> Vec<Option<usize>> {
        let list = self.get(WINDOWS).and_then(Value::as_array);
        (0..self.config.layers.len())
            .map(|i| {
                list.and_then(|l| l.get(i))
                    .and_then(Value::as_u64)
                    .and_then(|w| usize::try_from(w).ok())
            })
            .collect()
    }

    /// Sets layer `i`'s window; the list is dropped when every entry is `None`.
    pub fn set_window(&mut self, i: usize, window: Option<usize>) {
        let mut w = self.windows();
        if let Some(slot) = w.get_mut(i) {
            *slot = window;
        }
        self.put_windows(w);
    }

    /// Keeps `windows` one entry per layer after the plan changed.
    pub fn fit_windows(&mut self) {
        if self.get(WINDOWS).is_some() {
            self.put_windows(self.windows());
        }
    }

    fn put_windows(&mut self, w: Vec<Option<usize>>) {
        let value = w
            .iter()
            .any(Option::is_some)
            .then(|| Value::from(w.iter().map(|x| x.map(Value::from)).collect::<Vec<_>>()));
        self.set(WINDOWS, value);
    }

    /// The whole `config.json`: the typed config with the pending keys merged in (a key
    /// whose section the plan no longer has is left out).
    pub fn to_value(&self) -> Value {
        let mut v = serde_json::to_value(&self.config).unwrap_or(Value::Null);
        if let Value::Object(top) = &mut v {
            for (p, value) in &self.extra {
                match p.split_once('.') {
                    Some((section, key)) => {
                        if let Some(Value::Object(s)) = top.get_mut(section) {
                            s.insert(key.to_string(), value.clone());
                        }
                    }
                    None => {
                        top.insert(p.clone(), value.clone());
                    }
                }
            }
        }
        v
    }

    /// Pretty `config.json` text (what "Download config.json" saves).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.to_value()).unwrap_or_default()
    }

    /// The config the core makes of it: validated, pending keys included.
    pub fn checked(&self) -> Result<ModelConfig, String> {
        if self.extra.is_empty() {
            return self
                .config
                .validate()
                .map(|_| self.config.clone())
                .map_err(|e| e.to_string());
        }
        let text = serde_json::to_vec(&self.to_value()).map_err(|e| e.to_string())?;
        ModelConfig::from_json(&text).map_err(|e| e.to_string())
    }

    /// From a `config.json` text (a link's `arch=`): pending keys the core does not know
    /// are set aside, the rest must be a valid config.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut extra = Map::new();
        for key in [V_HEAD_DIM, INTRA_V_HEAD_DIM, WINDOWS] {
            let (section, k) = key;
            let taken = if section.is_empty() {
                v.as_object_mut().and_then(|o| o.remove(k))
            } else {
                v.get_mut(section)
                    .and_then(Value::as_object_mut)
                    .and_then(|o| o.remove(k))
            };
            if let Some(t) = taken.filter(|t| !t.is_null()) {
                extra.insert(path(key), t);
            }
        }
        let bytes = serde_json::to_vec(&v).map_err(|e| e.to_string())?;
        let config = ModelConfig::from_json(&bytes).map_err(|e| e.to_string())?;
        let design = Design { config, extra };
        let layers = design.config.layers.len();
        if let Some(w) = design.get(WINDOWS) {
            let n = w.as_array().map_or(0, Vec::len);
            if n != layers {
                return Err(format!("windows has {n} entries for {layers} layers"));
            }
        }
        Ok(design)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch;

    #[test]
    fn pending_keys_round_trip() {
        let mut d = Design::new(arch::preset("playground-inter").unwrap());
        d.set_window(1, Some(64));
        d.set(V_HEAD_DIM, Some(Value::from(48)));
        let v = d.to_value();
        assert_eq!(v["windows"][1], 64);
        assert!(v["windows"][0].is_null());
        assert_eq!(
            v["windows"].as_array().unwrap().len(),
            d.config.layers.len()
        );
        assert_eq!(v["attention"]["v_head_dim"], 48);
        let back = Design::parse(&d.to_json()).unwrap();
        assert_eq!(back.windows(), d.windows());
        assert_eq!(back.to_value(), v);
        // the plan grows: one window entry per layer
        d.config.layers.push(crate::engine::LayerKind::Mamba);
        d.fit_windows();
        assert_eq!(d.windows().len(), d.config.layers.len());
        d.set_window(1, None);
        assert!(d.get(WINDOWS).is_none(), "all-null list dropped");
    }

    #[test]
    fn checked_is_the_cores_verdict() {
        let mut d = Design::new(arch::preset("playground-intra").unwrap());
        assert!(d.checked().is_ok());
        d.set(INTRA_V_HEAD_DIM, Some(Value::from(16)));
        // either the core reads the key, or it says it does not know it
        match d.checked() {
            Ok(_) => assert!(supported(INTRA_V_HEAD_DIM)),
            Err(e) => {
                assert!(!supported(INTRA_V_HEAD_DIM));
                assert!(e.contains("attn_v_head_dim"), "{e}");
            }
        }
        assert!(Design::parse("{\"layers\": 3}").is_err());
        assert!(Design::parse("not json").is_err());
    }
}
