//! Unknown keys in `config.json` are errors, not silently ignored: a typo like `windw`
//! would otherwise run the model with full attention. The error names the key's path
//! and suggests the nearest known key.

use crate::error::{Error, Result};

/// Keys of the top level of `config.json` (the fields of `ModelConfig`).
pub const TOP: &[&str] = &[
    "name",
    "vocab_size",
    "d_model",
    "d_ffn",
    "ffn_act",
    "ffn_layers",
    "norm_eps",
    "tie_embeddings",
    "max_seq_len",
    "layers",
    "attention",
    "mamba",
    "intra",
    "windows",
    "embed_scale",
    "residual_scale",
    "logit_scale",
    "notes",
];
/// Keys of the `attention` section (`AttentionConfig`).
pub const ATTENTION: &[&str] = &[
    "n_heads",
    "n_kv_heads",
    "head_dim",
    "v_head_dim",
    "rope_theta",
    "window",
    "sink_tokens",
    "rope_dim",
    "scale",
];
/// Keys of the `mamba` section (`MambaConfig`).
pub const MAMBA: &[&str] = &[
    "d_state",
    "head_dim",
    "expand",
    "n_groups",
    "conv_width",
    "norm_groups",
];
/// Keys of the `intra` section (`IntraConfig`).
pub const INTRA: &[&str] = &[
    "attn_heads",
    "attn_kv_heads",
    "ssm_heads",
    "attn_v_head_dim",
    "fusion",
    "branch_norm",
    "out_proj",
    "branch_scalars",
];

/// Refuse any key of `value` (a parsed `config.json`) that the format does not define.
pub(super) fn check_known(value: &serde_json::Value) -> Result<()> {
    let Some(top) = value.as_object() else {
        return Err(Error::ConfigSyntax("the file is not a JSON object".into()));
    };
    check_object("", top, TOP)?;
    for (section, known) in [("attention", ATTENTION), ("mamba", MAMBA), ("intra", INTRA)] {
        if let Some(obj) = top.get(section).and_then(|v| v.as_object()) {
            check_object(&format!("{section}."), obj, known)?;
        }
    }
    Ok(())
}

fn check_object(
    prefix: &str,
    obj: &serde_json::Map<String, serde_json::Value>,
    known: &[&str],
) -> Result<()> {
    for key in obj.keys() {
        if known.contains(&key.as_str()) {
            continue;
        }
        let hint = match nearest(key, known) {
            Some(k) => format!(" (did you mean `{prefix}{k}`?)"),
            None => format!(" (known keys here: {})", known.join(", ")),
        };
        return Err(Error::Config(format!(
            "unknown key `{prefix}{key}`{hint}; unknown keys are refused so that a typo cannot silently change the model"
        )));
    }
    Ok(())
}

/// The known key closest to `key` by edit distance, if it is close enough to be a typo.
fn nearest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let key = key.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AttentionConfig, IntraConfig, MambaConfig, ModelConfig};
    use crate::{Fusion, LayerKind, OutProj};

    /// The key lists are the serialized field names: they cannot drift from the structs.
    #[test]
    fn key_lists_are_the_struct_fields() {
        let cfg = ModelConfig {
            name: Some("x".into()),
            vocab_size: 8,
            d_model: 8,
            d_ffn: 8,
            ffn_act: crate::config::FfnAct::Relu2,
            ffn_layers: Some(vec![true]),
            norm_eps: 1e-5,
            tie_embeddings: true,
            max_seq_len: Some(8),
            layers: vec![LayerKind::Intra],
            attention: Some(AttentionConfig {
                n_heads: 2,
                n_kv_heads: 1,
                head_dim: 4,
                v_head_dim: Some(8),
                rope_theta: 1e4,
                window: None,
                sink_tokens: 0,
                rope_dim: Some(2),
                scale: Some(0.5),
            }),
            mamba: Some(MambaConfig {
                d_state: 4,
                head_dim: 4,
                expand: 2,
                n_groups: 1,
                conv_width: 4,
                norm_groups: Some(1),
            }),
            intra: Some(IntraConfig {
                attn_heads: 1,
                attn_kv_heads: 1,
                ssm_heads: 1,
                attn_v_head_dim: Some(8),
                fusion: Fusion::Add,
                branch_norm: true,
                out_proj: OutProj::Separate,
                branch_scalars: false,
            }),
            windows: Some(vec![Some(4)]),
            embed_scale: Some(2.0),
            residual_scale: Some(0.5),
            logit_scale: Some(0.25),
            notes: Some([("x".to_string(), "y".to_string())].into()),
        };
        let v = serde_json::to_value(&cfg).expect("serialize");
        let keys = |v: &serde_json::Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
            k.sort();
            k
        };
        let sorted = |l: &[&str]| {
            let mut k: Vec<String> = l.iter().map(|s| s.to_string()).collect();
            k.sort();
            k
        };
        assert_eq!(keys(&v), sorted(TOP));
        assert_eq!(keys(&v["attention"]), sorted(ATTENTION));
        assert_eq!(keys(&v["mamba"]), sorted(MAMBA));
        assert_eq!(keys(&v["intra"]), sorted(INTRA));
    }

    #[test]
    fn a_typo_is_refused_with_the_nearest_key() {
        let v = serde_json::json!({"vocab_size": 8, "attention": {"windw": 4}});
        let e = check_known(&v).expect_err("typo").to_string();
        assert!(
            e.contains("`attention.windw`") && e.contains("did you mean `attention.window`"),
            "{e}"
        );
        let v = serde_json::json!({"d_modle": 8});
        let e = check_known(&v).expect_err("typo").to_string();
        assert!(e.contains("did you mean `d_model`"), "{e}");
        let v = serde_json::json!({"completely_else": 1});
        let e = check_known(&v).expect_err("unknown").to_string();
        assert!(e.contains("known keys here"), "{e}");
    }
}
