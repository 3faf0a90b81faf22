//! Text <-> token ids through a Hugging Face `tokenizer.json` (the `tokenizers` crate,
//! built without its native-only features so it runs in wasm too).

use crate::error::{Error, Result};

/// A loaded tokenizer.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokenizer(vocab {})", self.vocab_size())
    }
}

impl Tokenizer {
    /// Parse `tokenizer.json` bytes.
    ///
    /// The bytes are first parsed as plain JSON: `tokenizers` 0.23 panics (`expect("Helper")`
    /// in its decoder deserializer) instead of returning an error when a syntax error or an
    /// out-of-range number lies inside the `"decoder"` value, e.g. a file cut short there.
    /// In the browser that panic would kill the page; a document that parses as JSON cannot
    /// reach it.
    pub fn from_bytes(json: &[u8]) -> Result<Self> {
        serde_json::from_slice::<serde_json::Value>(json)
            .map_err(|e| Error::Tokenizer(format!("not JSON: {e}")))?;
        let inner =
            tokenizers::Tokenizer::from_bytes(json).map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(Tokenizer { inner })
    }

    /// Token ids of `text` (no special tokens added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text of `ids`; invalid UTF-8 from partial byte tokens is replaced, never an error.
    /// An id the tokenizer does not know (a model vocabulary larger than the tokenizer's)
    /// shows as `<id N>` instead of vanishing.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        let known = |id: &u32| self.inner.id_to_token(*id).is_some();
        if ids.iter().all(known) {
            return self
                .inner
                .decode(ids, false)
                .map_err(|e| Error::Tokenizer(e.to_string()));
        }
        let mut out = String::new();
        for run in ids.chunk_by(|a, b| known(a) == known(b)) {
            if run.first().is_some_and(known) {
                let text = self.inner.decode(run, false);
                out.push_str(&text.map_err(|e| Error::Tokenizer(e.to_string()))?);
            } else {
                run.iter()
                    .for_each(|id| out.push_str(&format!("<id {id}>")));
            }
        }
        Ok(out)
    }

    /// A streaming decoder: feed generated ids one at a time, print what it returns.
    pub fn stream(&self) -> TextStream<'_> {
        TextStream {
            tok: self,
            ids: Vec::new(),
            prefix: String::new(),
        }
    }

    /// The text of each token on its own (for axis labels).
    pub fn token_strings(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .map(|&id| self.decode(&[id]).unwrap_or_else(|_| format!("<{id}>")))
            .collect()
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Refuses a tokenizer that can produce ids the model has no row for (more tokens
    /// than its `vocab_size`). A smaller one is fine: ids it does not know decode as
    /// `<id N>`, visibly.
    pub fn check_fits(&self, model_vocab: usize) -> Result<()> {
        let tokens = self.vocab_size();
        if tokens > model_vocab {
            return Err(Error::Tokenizer(format!(
                "it has {tokens} tokens but the model's vocabulary has only {model_vocab} (vocab_size in config.json)"
            )));
        }
        Ok(())
    }
}

/// Incremental detokenization for streaming output, O(1) work per token (the text of
/// the whole output is never decoded again).
///
/// It keeps a short window of ids: the ids of the last emitted piece (decoders need some
/// left context, e.g. to know whether a leading space is dropped) plus the new ones. A
/// piece is emitted once it no longer ends in a partial UTF-8 character (byte-level
/// tokens may split one). Should a decoder rewrite text it already produced, only the
/// part after the common prefix is emitted: printed text is never cut mid-character.
#[derive(Debug)]
pub struct TextStream<'a> {
    tok: &'a Tokenizer,
    /// Context ids, then ids not yet emitted.
    ids: Vec<u32>,
    /// The text of the context ids.
    prefix: String,
}

impl TextStream<'_> {
    /// Feed one id; returns the text that became final (possibly empty).
    pub fn push(&mut self, id: u32) -> Result<String> {
        self.ids.push(id);
        let text = self.tok.decode(&self.ids)?;
        if text.ends_with('\u{FFFD}') && self.ids.len() < 16 {
            return Ok(String::new());
        }
        let common = common_prefix_len(&self.prefix, &text);
        let new = text[common..].to_string();
        // the window restarts at the newest id, whose text becomes the context
        let last = self.ids.len() - 1;
        self.ids.drain(..last);
        self.prefix = self.tok.decode(&self.ids)?;
        Ok(new)
    }
}

/// Length in bytes of the longest common prefix of `a` and `b`, on a char boundary.
fn common_prefix_len(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, ca), cb)| ca != cb)
        .map_or(a.len().min(b.len()), |((i, _), _)| i)
}
