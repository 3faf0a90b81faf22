//! Streaming detokenization: the pieces add up to the whole decode, nothing panics on
//! ids that split characters or that the tokenizer does not know.

use std::path::PathBuf;

use hybrid_core::sample::Rng;
use hybrid_core::Tokenizer;

fn tokenizer(model: &str) -> Tokenizer {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/models")
        .join(model)
        .join("tokenizer.json");
    Tokenizer::from_bytes(&std::fs::read(&p).expect("tokenizer.json")).expect("parses")
}

fn streamed(tok: &Tokenizer, ids: &[u32]) -> String {
    let mut s = tok.stream();
    ids.iter()
        .map(|&id| s.push(id).expect("push"))
        .collect::<String>()
}

#[test]
fn pieces_add_up_to_the_whole_text() {
    let text = "O Romeo, Romeo! wherefore art thou Romeo?\nDeny thy father — and refuse thy name; «ça» 日本 🎭.";
    let tok = tokenizer("shakespeare-transformer");
    let ids = tok.encode(text).expect("encode");
    assert!(ids.len() > 20);
    assert_eq!(streamed(&tok, &ids), tok.decode(&ids).expect("decode"));
    assert_eq!(tok.decode(&ids).expect("decode"), text);
    // the recall models' word-level tokenizer (it cannot encode free text)
    let tok = tokenizer("recall-transformer");
    let ids: Vec<u32> = (0..tok.vocab_size() as u32).rev().collect();
    assert_eq!(streamed(&tok, &ids), tok.decode(&ids).expect("decode"));
}

#[test]
fn random_ids_stream_without_panics_and_unknown_ids_are_visible() {
    let tok = tokenizer("shakespeare-transformer");
    let v = tok.vocab_size() as u64;
    let mut rng = Rng::new(7);
    for _ in 0..20 {
        let ids: Vec<u32> = (0..200).map(|_| (rng.next_u64() % v) as u32).collect();
        let whole = tok.decode(&ids).expect("decode");
        let s = streamed(&tok, &ids);
        if !whole.contains('\u{FFFD}') {
            assert_eq!(s, whole);
        }
    }
    let unknown = v as u32 + 5;
    let text = tok.decode(&[unknown]).expect("decode");
    assert_eq!(text, format!("<id {unknown}>"));
    let ids = tok.encode("to be").expect("encode");
    let mut with = ids.clone();
    with.push(unknown);
    assert!(streamed(&tok, &with).ends_with(&format!("<id {unknown}>")));
}

/// The case of issue #14: a valid tokenizer whose decoder rewrites text already printed
/// (here Fuse then Replace "ab" -> "日": "a" is printed, then "a" + "b" decode to "日").
/// Slicing the new text at the byte length printed so far cut "日" mid-character and
/// panicked; the stream emits what follows the common prefix instead.
#[test]
fn a_decoder_that_rewrites_earlier_text_does_not_cut_a_character() {
    let json = r#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],
        "normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,
        "decoder":{"type":"Sequence","decoders":[{"type":"Fuse"},
            {"type":"Replace","pattern":{"String":"ab"},"content":"日"}]},
        "model":{"type":"WordLevel","vocab":{"a":0,"b":1,"c":2,"[UNK]":3},"unk_token":"[UNK]"}}"#;
    let tok = Tokenizer::from_bytes(json.as_bytes()).expect("a valid tokenizer");
    let ids = tok.encode("a b c").expect("encode");
    assert_eq!(ids, [0, 1, 2]);
    assert_eq!(tok.decode(&ids).expect("decode"), "日c");
    let mut s = tok.stream();
    let pieces: Vec<String> = ids.iter().map(|&id| s.push(id).expect("push")).collect();
    assert_eq!(pieces, ["a", "日", "c"]);
}

/// "Slow for no reason" (issue #14): the CLI re-decoded the whole output at every token.
/// The stream keeps a window of a few ids whatever the length: its state (shown by its
/// `Debug`: the window's ids and their text) stays small after 5,000 tokens.
#[test]
fn the_stream_keeps_a_bounded_window() {
    let tok = tokenizer("shakespeare-transformer");
    let ids = tok
        .encode("To be, or not to be, that is the question. ")
        .expect("encode");
    let mut s = tok.stream();
    let mut longest = 0;
    for &id in ids.iter().cycle().take(5000) {
        s.push(id).expect("push");
        longest = longest.max(format!("{s:?}").len());
    }
    assert!(
        longest < 400,
        "the stream's state grew to {longest} characters"
    );
}
