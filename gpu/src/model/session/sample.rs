//! Sampling with the logits kept on the GPU: the session runs the tokens, then reads back
//! only what the [`Sampler`] needs of the last row ([`Needs`]): the greedy token (4
//! bytes), or the `top_k` best (id, logit) pairs (8 bytes each, at most
//! [`MAX_K`](crate::ops::topk::MAX_K)), and the sampler draws from those: the same token
//! as `Sampler::sample` on the whole row, for the same seed, on every backend. Only
//! temperature sampling without top-k (`top_k` 0, or over `MAX_K`) reads the whole row
//! (4 V bytes: 1 MiB at a 256K vocabulary).

use hybrid_core::sample::{Needs, Sampler};
use hybrid_core::Error as ModelError;

use super::Session;
use crate::ops::topk::{TopK, MAX_K};
use crate::readback::{read_bytes, read_f32};
use crate::Result;

/// What a submitted chunk copies into a staging buffer after its plan.
#[derive(Debug, Clone, Copy)]
pub(super) enum Tail {
    Nothing,
    /// The logits of this many rows.
    Logits(usize),
    /// The last row's argmax (into `tokens[0]`, then `token_staging[0]`).
    Argmax,
    /// The last row's top k (id, logit) pairs.
    TopK(usize),
}

/// The (id, logit) pairs of the top-k readback, until the first empty slot.
fn pairs(bytes: &[u8]) -> Vec<(u32, f32)> {
    bytes
        .chunks_exact(8)
        .map(|c| {
            let id = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            (id, f32::from_le_bytes([c[4], c[5], c[6], c[7]]))
        })
        .take_while(|&(id, _)| id != u32::MAX)
        .collect()
}

impl Session {
    /// Consume `tokens` (a prompt, or the last sampled token) and return the next token
    /// drawn by `sampler` from the last row's logits, reading back only what it needs
    /// (see the module doc).
    pub async fn sample_next(&mut self, tokens: &[u32], sampler: &mut Sampler) -> Result<u32> {
        let gpu = self.model.gpu.clone();
        gpu.check()?;
        self.check_tokens(tokens)?;
        self.check_context(tokens.len())?;
        let tail = match sampler.needs() {
            Needs::Argmax => Tail::Argmax,
            Needs::Top(k) if k <= MAX_K => {
                self.ensure_topk(k)?;
                Tail::TopK(k)
            }
            Needs::Top(_) | Needs::All => Tail::Logits(1),
        };
        self.submit_prompt(tokens, tail)?;
        let v = self.model.config.vocab_size;
        let next = match tail {
            Tail::Argmax => {
                let b = read_bytes(&gpu, &self.token_staging[0], 4).await?;
                self.token_on_gpu = true;
                u32::from_le_bytes([b[0], b[1], b[2], b[3]])
            }
            Tail::TopK(k) => {
                let b = read_bytes(&gpu, &self.topk_staging, (k * 8) as u64).await?;
                sampler.sample_top(&pairs(&b))
            }
            Tail::Logits(_) | Tail::Nothing => {
                sampler.sample(&read_f32(&gpu, &self.logits_staging, v).await?)
            }
        };
        gpu.check()?;
        Ok(next)
    }

    /// The top-k (id, logit) pairs of the last row of `tokens`, by logit descending, ties
    /// to the lowest id, non-finite logits left out (`k` <= [`MAX_K`]).
    pub async fn prefill_top_k(&mut self, tokens: &[u32], k: usize) -> Result<Vec<(u32, f32)>> {
        if !(1..=MAX_K).contains(&k) {
            return Err(ModelError::Prompt(format!("top-k: k = {k} must be 1..={MAX_K}")).into());
        }
        let gpu = self.model.gpu.clone();
        self.check_tokens(tokens)?;
        self.check_context(tokens.len())?;
        self.ensure_topk(k)?;
        self.submit_prompt(tokens, Tail::TopK(k))?;
        let b = read_bytes(&gpu, &self.topk_staging, (k * 8) as u64).await?;
        gpu.check()?;
        Ok(pairs(&b))
    }

    /// Build the top-k dispatches for `k` unless they are cached.
    fn ensure_topk(&mut self, k: usize) -> Result<()> {
        if self.topk.as_ref().is_some_and(|(have, _)| *have == k) {
            return Ok(());
        }
        let top = TopK {
            n: self.model.config.vocab_size,
            off: 0,
            k,
        };
        let a = &self.acts;
        let d = top.build(&self.model.gpu, "top-k", &a.logits, &a.topk_slices, &a.topk)?;
        self.topk = Some((k, d));
        Ok(())
    }
}

/// Native blocking forms of the async calls.
#[cfg(not(target_arch = "wasm32"))]
impl Session {
    /// See [`Session::sample_next`].
    pub fn sample_next_blocking(&mut self, tokens: &[u32], sampler: &mut Sampler) -> Result<u32> {
        pollster::block_on(self.sample_next(tokens, sampler))
    }
    /// See [`Session::prefill_top_k`].
    pub fn prefill_top_k_blocking(&mut self, tokens: &[u32], k: usize) -> Result<Vec<(u32, f32)>> {
        pollster::block_on(self.prefill_top_k(tokens, k))
    }
}
