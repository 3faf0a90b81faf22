//! Prompt presets per model: a recall model gets a case from the project's recall
//! generator (`core::tasks::recall`, the same definition the zoo trained on), a
//! Shakespeare model a passage in the style of its plays. What a tokenizer can read is
//! decided by the tokenizer itself (`views::prompt_check`); this file only says what to
//! offer and why.

use crate::engine::recall;

/// Recall preset: pairs, length and seed of the case shown.
pub const RECALL_PAIRS: usize = 8;
pub const RECALL_LEN: usize = 64;
pub const RECALL_SEED: u64 = 1;

/// A Shakespeare-style passage (the zoo's golden prompts start like this).
pub const SHAKESPEARE: &str = "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n\nJULIET:\n";

/// The page's first prompt, for models with byte-level tokenizers.
pub const DEFAULT: &str = "The cat sat on the mat. The cat";

/// A prompt a model can read, and what the page says about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Preset {
    pub text: String,
    /// One line: what the prompt is and what to look for.
    pub note: String,
}

/// The family of a bundled model, from its id (`recall-*`, `shakespeare-*`).
fn family(model_id: &str) -> Option<&'static str> {
    ["recall", "shakespeare"]
        .into_iter()
        .find(|f| model_id.strip_prefix(f).is_some_and(|r| r.starts_with('-')))
}

/// The names of the recall vocabulary's token ids (`train/recall.py::token_names`).
fn recall_token(id: u32) -> String {
    match id {
        0 => "<pad>".into(),
        recall::BOS => "<bos>".into(),
        recall::SEP => "<sep>".into(),
        i if recall::FILLER.contains(&i) => format!("f{i}"),
        i if recall::KEYS.contains(&i) => format!("k{i}"),
        i => format!("v{i}"),
    }
}

/// A recall prompt: pairs, filler, `<sep>`, then the first query key; the expected next
/// token is that key's value.
pub fn recall_prompt(n_pairs: usize, len: usize, seed: u64) -> Result<Preset, String> {
    let mut rng = crate::engine::Rng::new(seed);
    let case = recall::make_case(&mut rng, n_pairs, len).map_err(|e| e.to_string())?;
    let first = *case
        .query_positions
        .first()
        .ok_or("recall case without queries")?;
    let shown = case.tokens.get(..=first).ok_or("recall case too short")?;
    let answer = case.tokens.get(first + 1).copied().ok_or("no answer")?;
    let text: Vec<String> = shown.iter().map(|&t| recall_token(t)).collect();
    let key = text.last().cloned().unwrap_or_default();
    Ok(Preset {
        text: text.join(" "),
        note: format!(
            "Recall task ({n_pairs} key-value pairs, then filler, then a query): after {key} the right answer is {}.",
            recall_token(answer)
        ),
    })
}

/// The preset for a model id, if its family has one.
pub fn for_model(model_id: &str) -> Option<Preset> {
    match family(model_id)? {
        "recall" => recall_prompt(RECALL_PAIRS, RECALL_LEN, RECALL_SEED).ok(),
        _ => Some(Preset {
            text: SHAKESPEARE.to_string(),
            note: "A passage in the style of the plays the model was trained on.".into(),
        }),
    }
}

/// What a recall tokenizer reads (for the message when it cannot read a prompt).
pub fn vocabulary_hint(model_id: &str) -> Option<&'static str> {
    (family(model_id)? == "recall").then_some(
        "its tokenizer reads only the recall task's words, separated by spaces: <bos>, <sep>, filler f3-f15, keys k16-k127, values v128-v255",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_prompt_is_a_generator_case() {
        let p = recall_prompt(RECALL_PAIRS, RECALL_LEN, RECALL_SEED).unwrap();
        let words: Vec<&str> = p.text.split(' ').collect();
        let mut rng = crate::engine::Rng::new(RECALL_SEED);
        let case = recall::make_case(&mut rng, RECALL_PAIRS, RECALL_LEN).unwrap();
        let first = case.query_positions[0];
        assert_eq!(words.len(), first + 1);
        assert_eq!(words[0], "<bos>");
        assert_eq!(words[first - 1], "<sep>");
        // the query key appeared among the pairs, followed by the answer the note names
        let key = words[first];
        let at = words.iter().position(|w| *w == key).unwrap();
        assert!(at < first && at % 2 == 1, "{key} at {at}");
        assert!(
            p.note.ends_with(&format!("is {}.", words[at + 1])),
            "{}",
            p.note
        );
        assert!(recall_prompt(40, 64, 1).is_err());
    }

    #[test]
    fn presets_by_family() {
        assert!(for_model("recall-inter")
            .unwrap()
            .text
            .starts_with("<bos> k"));
        assert!(for_model("shakespeare-intra-add")
            .unwrap()
            .text
            .starts_with("ROMEO"));
        assert_eq!(for_model("test-random"), None);
        assert_eq!(for_model("recallish"), None);
        assert!(vocabulary_hint("recall-mamba2").is_some());
        assert!(vocabulary_hint("shakespeare-mamba2").is_none());
    }

    #[test]
    fn each_bundled_tokenizer_reads_its_preset() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/models/");
        for id in ["recall-inter", "shakespeare-inter"] {
            let bytes = std::fs::read(format!("{root}{id}/tokenizer.json")).unwrap();
            let tok = crate::engine::Tokenizer::from_bytes(&bytes).unwrap();
            let p = for_model(id).unwrap();
            let ids = tok.encode(&p.text).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert!(ids.len() > 10, "{id}: {} tokens", ids.len());
        }
        // the page's old default is exactly what a recall tokenizer cannot read
        let bytes = std::fs::read(format!("{root}recall-inter/tokenizer.json")).unwrap();
        let tok = crate::engine::Tokenizer::from_bytes(&bytes).unwrap();
        assert!(tok.encode(DEFAULT).is_err());
        assert_eq!(tok.encode("<bos> k20 v130").unwrap(), vec![1, 20, 130]);
    }
}
