//! The safetensors header, read before the `safetensors` crate parses the file, for the
//! faults that crate reports unclearly or not at all: a truncated file (it says "not fully
//! covered"), a header longer than the file, and duplicate tensor names (a JSON object with
//! a repeated key silently keeps one of them).
//!
//! Layout: 8 bytes little-endian `n`, then `n` bytes of JSON
//! `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {..}}`,
//! then the tensor data; offsets count from the end of the header.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};

use crate::error::{Error, Result};

/// Largest header accepted (the format's own limit is 100 MB).
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// Check the header of a safetensors file: its length, the tensor names (no duplicates)
/// and that the file holds all the data the header describes.
pub fn check(bytes: &[u8]) -> Result<()> {
    let bad = |m: String| Err(Error::Safetensors(m));
    let Some(len) = bytes.get(..8) else {
        return bad(format!(
            "the file is {} bytes long, too short for a safetensors header (8-byte length first)",
            bytes.len()
        ));
    };
    let mut n = [0u8; 8];
    n.copy_from_slice(len);
    let n = u64::from_le_bytes(n);
    if n > MAX_HEADER_BYTES {
        return bad(format!(
            "the header claims {n} bytes, over the format's limit of {MAX_HEADER_BYTES}: not a safetensors file"
        ));
    }
    let body = bytes.len() as u64 - 8;
    if n > body {
        return bad(format!(
            "truncated: the header claims {n} bytes but only {body} follow the length"
        ));
    }
    let header = &bytes[8..8 + n as usize];
    let entries = read_entries(header).map_err(|e| Error::Safetensors(format!("header: {e}")))?;
    let mut names = std::collections::BTreeSet::new();
    let mut data_end = 0u64;
    for (name, value) in &entries {
        if !names.insert(name.as_str()) {
            return bad(format!("the header names tensor `{name}` twice"));
        }
        if name == "__metadata__" {
            continue;
        }
        let end = value
            .get("data_offsets")
            .and_then(|o| o.get(1))
            .and_then(|e| e.as_u64());
        if let Some(end) = end {
            data_end = data_end.max(end);
        }
    }
    let data = body - n;
    if data_end > data {
        return bad(format!(
            "truncated: the header describes {data_end} bytes of tensor data, the file holds {data}"
        ));
    }
    Ok(())
}

/// The header's top-level entries in file order, repeated keys kept.
fn read_entries(header: &[u8]) -> serde_json::Result<Vec<(String, serde_json::Value)>> {
    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<(String, serde_json::Value)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object of tensor entries")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(k) = map.next_key::<String>()? {
                out.push((k, map.next_value()?));
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(header);
    let out = (&mut de).deserialize_map(Entries)?;
    de.end()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, data: usize) -> Vec<u8> {
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b.extend(std::iter::repeat_n(0u8, data));
        b
    }

    const ONE: &str = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;

    #[test]
    fn a_whole_file_passes() {
        assert!(check(&file(ONE, 8)).is_ok());
    }

    #[test]
    fn truncation_says_how_much_is_missing() {
        let e = check(&file(ONE, 5)).expect_err("truncated").to_string();
        assert!(
            e.contains("truncated") && e.contains("8 bytes") && e.contains("holds 5"),
            "{e}"
        );
        let mut short = file(ONE, 8);
        short.truncate(20);
        let e = check(&short).expect_err("truncated header").to_string();
        assert!(e.contains("truncated") && e.contains("claims"), "{e}");
        let e = check(&[1, 2, 3]).expect_err("tiny").to_string();
        assert!(e.contains("too short"), "{e}");
    }

    #[test]
    fn duplicate_names_are_refused() {
        let h = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#;
        let e = check(&file(h, 8)).expect_err("dup").to_string();
        assert!(e.contains("`a` twice"), "{e}");
    }

    #[test]
    fn absurd_header_lengths_are_refused() {
        let mut b = u64::MAX.to_le_bytes().to_vec();
        b.extend_from_slice(b"{}");
        let e = check(&b).expect_err("huge").to_string();
        assert!(e.contains("not a safetensors file"), "{e}");
    }
}
