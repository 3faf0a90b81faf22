//! Running the cached plans: prefill (in chunks), single steps, greedy decoding with the
//! argmax on the GPU, profiling, and the labels of the plans.

use hybrid_core::Error as ModelError;

use super::sample::Tail;
use super::Session;
use crate::dispatch::encode;
use crate::readback::{read_bytes_after, read_f32};
use crate::{GpuError, Result};

impl Session {
    /// Consume `tokens`; return the last token's logits [V].
    pub async fn prefill(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        self.forward(tokens, false).await
    }

    /// Consume `tokens`; return the logits at every position [T, V].
    pub async fn prefill_all(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        self.forward(tokens, true).await
    }

    /// Consume one token; return its logits [V].
    pub async fn step(&mut self, token: u32) -> Result<Vec<f32>> {
        self.forward(&[token], false).await
    }

    /// Consume one token and return the greedy next token, computed on the GPU: only 4
    /// bytes come back. `None` feeds the token the previous step left on the GPU.
    pub async fn step_argmax(&mut self, token: Option<u32>) -> Result<u32> {
        let out = self.decode_greedy(token, 1).await?;
        out.first()
            .copied()
            .ok_or_else(|| GpuError::Model(ModelError::Prompt("no token was decoded".into())))
    }

    /// Greedy decoding of `n` tokens with the argmax on the GPU: feeds `first` (`None`:
    /// the token the previous step left on the GPU), then each token it produces, and
    /// returns the `n` tokens produced (`n` tokens consumed; the last one stays on the GPU
    /// for the next call). One submission per step; step i + 1 is submitted before step
    /// i's 4-byte token is read back, so the GPU never waits for the host.
    pub async fn decode_greedy(&mut self, first: Option<u32>, n: usize) -> Result<Vec<u32>> {
        let gpu = self.model.gpu.clone();
        gpu.check()?;
        match first {
            Some(t) => {
                self.check_tokens(&[t])?;
                gpu.queue
                    .write_buffer(&self.acts.tokens, 0, bytemuck::bytes_of(&t));
            }
            None if self.token_on_gpu => {}
            None => {
                return Err(GpuError::Model(ModelError::Prompt(
                    "decoding from the GPU's token needs a previous decode step".into(),
                )))
            }
        }
        self.check_context(n)?;
        self.ensure_plan(1, false)?;
        let mut out = Vec::with_capacity(n);
        let mut pending = None;
        for i in 0..=n {
            // submit step i, then read step i - 1's token while it runs
            let next = if i < n {
                Some(self.submit_decode_step(i % 2))
            } else {
                None
            };
            if let Some((j, idx)) = pending.take() {
                let staging = &self.token_staging[j % 2];
                let b = read_bytes_after(&gpu, staging, 4, Some(idx)).await?;
                out.push(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            }
            pending = next.map(|idx| (i, idx));
        }
        self.token_on_gpu = true;
        Ok(out)
    }

    /// Encode and submit one decode step whose token lands in `token_staging[slot]`.
    fn submit_decode_step(&mut self, slot: usize) -> wgpu::SubmissionIndex {
        let gpu = &self.model.gpu;
        self.write_pos();
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("decode step"),
            });
        encode(&mut enc, "decode step", self.plan(1, false));
        encode(&mut enc, "argmax", std::slice::from_ref(&self.argmax));
        enc.copy_buffer_to_buffer(&self.acts.tokens, 0, &self.token_staging[slot], 0, Some(4));
        let idx = gpu.queue.submit([enc.finish()]);
        self.pos += 1;
        idx
    }

    /// GPU times of the plan for `t` tokens (1: a decode step), from timestamp queries,
    /// at the current position. The plan runs twice on whatever the activations hold, so
    /// the session's state is garbage afterwards: `reset` before using it again.
    pub async fn profile_plan(&mut self, t: usize) -> Result<crate::profile::Profile> {
        self.check_context(t)?;
        self.write_pos();
        self.ensure_plan(t, false)?;
        crate::profile::profile(&self.model.gpu, "profile", self.plan(t, false)).await
    }

    /// Labels of the dispatches of one decode step, in order (for counting and docs).
    pub fn decode_dispatches(&mut self) -> Result<Vec<String>> {
        self.prefill_dispatches(1)
    }

    /// Labels of the dispatches of a prefill of `t` tokens (last logits only), in order.
    pub fn prefill_dispatches(&mut self, t: usize) -> Result<Vec<String>> {
        self.ensure_plan(t, false)?;
        Ok(self
            .plan(t, false)
            .iter()
            .map(|d| d.label.clone())
            .collect())
    }

    async fn forward(&mut self, tokens: &[u32], all: bool) -> Result<Vec<f32>> {
        let gpu = self.model.gpu.clone();
        gpu.check()?;
        self.check_tokens(tokens)?;
        self.check_context(tokens.len())?;
        let v = self.model.config.vocab_size;
        if !all {
            self.submit_prompt(tokens, Tail::Logits(1))?;
            let out = read_f32(&gpu, &self.logits_staging, v).await?;
            gpu.check()?;
            return Ok(out);
        }
        // every row's logits: chunks no longer than the logits buffer's rows
        let mut out = Vec::with_capacity(tokens.len() * v);
        let mut rest = tokens;
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(self.chunk_len(rest.len(), self.logit_rows));
            rest = tail;
            self.submit_chunk(chunk, true, Tail::Logits(chunk.len()))?;
            out.extend(read_f32(&gpu, &self.logits_staging, chunk.len() * v).await?);
        }
        gpu.check()?;
        Ok(out)
    }

    /// Tokens of the next chunk with `left` tokens to go, at most `most` (and the
    /// session's chunk): the one place a prompt is cut.
    fn chunk_len(&self, left: usize, most: usize) -> usize {
        // cut before a reset token inside (interventions)
        self.piece(self.pos, left.min(most).min(self.opts.chunk).max(1))
    }

    /// Submit `tokens` in chunks (logits of the last row only), `tail` after the last.
    pub(super) fn submit_prompt(&mut self, tokens: &[u32], tail: Tail) -> Result<()> {
        let mut rest = tokens;
        while !rest.is_empty() {
            let (chunk, after) = rest.split_at(self.chunk_len(rest.len(), usize::MAX));
            rest = after;
            let t = if rest.is_empty() { tail } else { Tail::Nothing };
            self.submit_chunk(chunk, false, t)?;
        }
        Ok(())
    }

    /// Write `chunk`'s tokens and the position, encode its plan (logits of every row with
    /// `all`, else of the last) and `tail`, and submit; the position advances.
    pub(super) fn submit_chunk(&mut self, chunk: &[u32], all: bool, tail: Tail) -> Result<()> {
        let gpu = self.model.gpu.clone();
        let t = chunk.len();
        gpu.queue
            .write_buffer(&self.acts.tokens, 0, bytemuck::cast_slice(chunk));
        self.write_pos();
        self.ensure_plan(t, all)?;
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("forward"),
            });
        self.prepare(&mut enc);
        encode(&mut enc, "forward", self.plan(t, all));
        let v = self.model.config.vocab_size;
        match tail {
            Tail::Nothing => {}
            Tail::Logits(rows) => {
                let bytes = (rows * v * 4) as u64;
                enc.copy_buffer_to_buffer(
                    &self.acts.logits,
                    0,
                    &self.logits_staging,
                    0,
                    Some(bytes),
                );
            }
            Tail::Argmax => {
                encode(&mut enc, "argmax", std::slice::from_ref(&self.argmax));
                enc.copy_buffer_to_buffer(&self.acts.tokens, 0, &self.token_staging[0], 0, Some(4));
            }
            Tail::TopK(k) => {
                if let Some((_, d)) = &self.topk {
                    encode(&mut enc, "top-k", d);
                }
                let bytes = (k * 8) as u64;
                enc.copy_buffer_to_buffer(&self.acts.topk, 0, &self.topk_staging, 0, Some(bytes));
            }
        }
        gpu.queue.submit([enc.finish()]);
        self.pos += t;
        self.token_on_gpu = false;
        Ok(())
    }
}

/// Native blocking forms of the async calls.
#[cfg(not(target_arch = "wasm32"))]
impl Session {
    /// See [`Session::prefill`].
    pub fn prefill_blocking(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        pollster::block_on(self.prefill(tokens))
    }
    /// See [`Session::prefill_all`].
    pub fn prefill_all_blocking(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        pollster::block_on(self.prefill_all(tokens))
    }
    /// See [`Session::step`].
    pub fn step_blocking(&mut self, token: u32) -> Result<Vec<f32>> {
        pollster::block_on(self.step(token))
    }
    /// See [`Session::profile_plan`].
    pub fn profile_plan_blocking(&mut self, t: usize) -> Result<crate::profile::Profile> {
        pollster::block_on(self.profile_plan(t))
    }
    /// See [`Session::decode_greedy`].
    pub fn decode_greedy_blocking(&mut self, first: Option<u32>, n: usize) -> Result<Vec<u32>> {
        pollster::block_on(self.decode_greedy(first, n))
    }
    /// See [`Session::step_argmax`].
    pub fn step_argmax_blocking(&mut self, token: Option<u32>) -> Result<u32> {
        pollster::block_on(self.step_argmax(token))
    }
}
