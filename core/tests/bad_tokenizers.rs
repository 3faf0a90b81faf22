//! A broken `tokenizer.json` is a typed error, never a panic (found by
//! core/tests/properties/: `tokenizers` 0.23 panics on a syntax error inside the
//! `"decoder"` value; `Tokenizer::from_bytes` parses the JSON first).

use std::path::PathBuf;

use hybrid_core::{Error, Tokenizer};

fn bundled(model: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/models")
        .join(model)
        .join("tokenizer.json");
    std::fs::read(p).expect("tokenizer.json")
}

fn refused(json: &[u8]) -> String {
    match Tokenizer::from_bytes(json) {
        Err(e @ Error::Tokenizer(_)) => e.to_string(),
        Err(e) => panic!("wrong error kind: {e}"),
        Ok(_) => panic!("accepted: {}", String::from_utf8_lossy(json)),
    }
}

#[test]
fn a_syntax_error_inside_the_decoder_is_an_error() {
    // each of these panicked inside `tokenizers` ("Helper")
    for json in [
        &br#"{"decoder": nul}"#[..],
        br#"{"decoder": {"type": "ByteLevel", "add_prefix_space": tru}}"#,
        br#"{"decoder": 1e999}"#,
        br#"{"decoder": [1, 2"#,
    ] {
        let e = refused(json);
        assert!(e.contains("not JSON"), "{e}");
    }
}

#[test]
fn the_first_case_proptest_found() {
    // the recall tokenizer with one bit flipped in its head (`"decoder": null` becomes
    // `"decoder": nulm`-like garbage)
    let mut json = bundled("recall-transformer");
    let at = std::str::from_utf8(&json)
        .expect("utf8")
        .find("\"decoder\": null")
        .expect("decoder entry")
        + "\"decoder\": nul".len();
    json[at] ^= 1;
    refused(&json);
}

#[test]
fn every_truncation_of_a_bundled_tokenizer_is_an_error() {
    for model in ["recall-transformer", "shakespeare-transformer"] {
        let json = bundled(model);
        // every cut in the first 2 KB (the decoder and pre-tokenizer live there), then a
        // stride through the rest
        let cuts = (0..json.len().min(2048)).chain((2048..json.len()).step_by(997));
        for cut in cuts {
            refused(&json[..cut]);
        }
        assert!(Tokenizer::from_bytes(&json).is_ok(), "{model}");
    }
}
