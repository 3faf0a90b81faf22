//! RoPE's settings in both spellings of `transformers`: `rope_theta`,
//! `partial_rotary_factor` and `rope_scaling` at the top level (version 4), or one
//! `rope_parameters` object (version 5). Only plain RoPE (`rope_type` "default") maps.

use serde_json::Value;

use super::keys::{number, Keys};
use crate::error::{Error, Result};

/// (theta, the fraction of each head rotated) of a config; a scaled RoPE is refused.
pub(super) fn rope(k: &mut Keys) -> Result<(f32, f32)> {
    let mut theta = None;
    let mut partial = None;
    for key in ["rope_scaling", "rope_parameters"] {
        let Some(v) = k.get(key) else { continue };
        let Some(obj) = v.as_object() else {
            return Err(k.refuse(key, &v, "null or an object"));
        };
        // the type first: its name says more than the fields it brings
        let mut fields: Vec<_> = obj.iter().collect();
        fields.sort_by_key(|(f, _)| !matches!(f.as_str(), "rope_type" | "type"));
        for (field, value) in fields {
            let ok = match field.as_str() {
                "rope_type" | "type" => value == "default",
                "rope_theta" => {
                    theta = number(value);
                    theta.is_some()
                }
                "partial_rotary_factor" => {
                    partial = number(value);
                    partial.is_some()
                }
                _ => false,
            };
            if !ok {
                return Err(k.refuse(
                    &format!("{key}.{field}"),
                    value,
                    "plain RoPE: rope_type \"default\", rope_theta, partial_rotary_factor",
                ));
            }
        }
    }
    let theta = match theta {
        Some(t) => {
            k.no_effect(&["rope_theta"]);
            t
        }
        None => k.f32("rope_theta")?,
    };
    let top = match k.get("partial_rotary_factor") {
        Some(v) => {
            Some(number(&v).ok_or_else(|| k.refuse("partial_rotary_factor", &v, "a number"))?)
        }
        None => None,
    };
    let partial = match (partial, top) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::Config(format!(
                "`partial_rotary_factor` = {b} differs from `rope_parameters.partial_rotary_factor` = {a}"
            )))
        }
        (Some(p), _) | (None, Some(p)) => p,
        (None, None) => 1.0,
    };
    if !(theta.is_finite() && theta > 0.0) {
        return Err(k.refuse("rope_theta", &Value::from(theta), "a positive number"));
    }
    if !(partial > 0.0 && partial <= 1.0) {
        return Err(k.refuse(
            "partial_rotary_factor",
            &Value::from(partial),
            "a fraction in (0, 1]",
        ));
    }
    Ok((theta, partial))
}
