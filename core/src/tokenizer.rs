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
    pub fn from_bytes(json: &[u8]) -> Result<Self> {
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
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))
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
}
