//! Properties of the tokenizer load, and what a loaded tokenizer is asked.

use super::*;

/// Keys of `tokenizer.json` worth adding or replacing.
const TOKENIZER_KEYS: &[&str] = &[
    "type",
    "model",
    "vocab",
    "merges",
    "unk_token",
    "added_tokens",
    "id",
    "content",
    "special",
    "normalizer",
    "pre_tokenizer",
    "decoder",
    "post_processor",
    "byte_fallback",
    "dropout",
    "continuing_subword_prefix",
    "add_prefix_space",
    "use_regex",
    "truncation",
    "padding",
];

/// Text to encode: anything, and some text the tokenizers know.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        select(vec![
            "ROMEO:\nBut soft, what light",
            "<bos> k20 v130 k33 v200 <sep> k33",
            "<|endoftext|>",
            "\u{0}\u{7}\u{202e}e\u{301}\u{1f600}\u{4e2d}",
            "",
            "   \n\t",
        ])
        .prop_map(str::to_string),
    ]
}

/// Ids to decode: in the vocabulary, just past it, and anywhere.
fn ids() -> impl Strategy<Value = Vec<u32>> {
    let id = prop_oneof![6 => 0u32..2100, 1 => any::<u32>(), 1 => Just(u32::MAX)];
    prop::collection::vec(id, 0..24)
}

#[test]
fn the_bundled_tokenizers_load() {
    for t in tokenizers() {
        let tok = hybrid_core::Tokenizer::from_bytes(t).expect("bundled tokenizer");
        fuzz::tokenizer_use(
            &tok,
            "ROMEO: k20 <sep>",
            &[0, 1, 2, 255, 256, 5000, u32::MAX],
        );
    }
}

#[test]
fn a_loaded_tokenizer_never_panics() {
    let toks: Vec<_> = tokenizers()
        .iter()
        .map(|t| hybrid_core::Tokenizer::from_bytes(t).expect("bundled tokenizer"))
        .collect();
    run((any::<Index>(), text(), ids()), |(i, text, ids)| {
        fuzz::tokenizer_use(&toks[i.index(toks.len())], &text, &ids);
        true
    });
}

#[test]
fn mutated_tokenizers_never_panic() {
    let docs: Vec<Value> = tokenizers()
        .iter()
        .map(|t| serde_json::from_slice(t).expect("json"))
        .collect();
    let edit = prop_oneof![
        4 => prop::collection::vec(json_edit(TOKENIZER_KEYS), 1..3).prop_map(Ok),
        1 => prop::collection::vec(byte_edit(), 1..3).prop_map(Err),
    ];
    let (n, accepted) = run(
        (any::<Index>(), edit, text(), ids()),
        |(i, edit, text, ids)| {
            let k = i.index(docs.len());
            let bytes = match edit {
                Ok(edits) => {
                    let mut v = docs[k].clone();
                    edits.iter().for_each(|e| apply_json(&mut v, e));
                    serde_json::to_vec(&v).expect("json")
                }
                Err(edits) => {
                    let mut b = tokenizers()[k].clone();
                    edits.iter().for_each(|e| apply_bytes(&mut b, e));
                    b
                }
            };
            fuzz::tokenizer(&bytes, &text, &ids);
            hybrid_core::Tokenizer::from_bytes(&bytes).is_ok()
        },
    );
    assert!(accepted > 0 && accepted < n, "{accepted} of {n} accepted");
}

#[test]
fn arbitrary_tokenizer_bytes_never_panic() {
    let strategy = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..128),
        json_value().prop_map(|v| v.to_string().into_bytes()),
    ];
    run((strategy, text(), ids()), |(b, text, ids)| {
        fuzz::tokenizer(&b, &text, &ids);
        false
    });
}
