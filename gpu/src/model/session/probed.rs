//! The probes of one chunk run from position 0: the same plan builder with the probe
//! hooks on (`model/plan/probe.rs`), writing the probe buffers of `model/probes.rs`.

use hybrid_core::{Error as ModelError, Probes};

use super::Session;
use crate::dispatch::encode;
use crate::model::probes::ProbeBufs;
use crate::readback::read_f32;
use crate::{GpuError, Result};

impl Session {
    /// Run `tokens` from position 0 as one chunk (T <= the session's chunk) and return the
    /// last token's logits [V] and the probes of every block, as the CPU engine's
    /// `forward` with `probes: true` defines them. The session advances as a `prefill`
    /// would (same plan, same state); only this call reads the probes back.
    pub async fn prefill_probed(&mut self, tokens: &[u32]) -> Result<(Vec<f32>, Probes)> {
        let gpu = self.model.gpu.clone();
        gpu.check()?;
        self.check_tokens(tokens)?;
        let t = tokens.len();
        if self.pos != 0 {
            return Err(ModelError::Prompt(format!(
                "probes run a prompt from position 0, the session is at {}: reset it first",
                self.pos
            ))
            .into());
        }
        if t > self.opts.chunk {
            return Err(ModelError::Prompt(format!(
                "probes cover one chunk: {t} tokens > the session's chunk of {}",
                self.opts.chunk
            ))
            .into());
        }
        self.check_context(t)?;
        if let Some(at) = self.reset_inside(t) {
            return Err(ModelError::Intervention(format!(
                "the GPU probes cover one chunk, which cannot be cut at the SSM reset before \
                 token {at}: probe up to token {at}, or use the CPU engine"
            ))
            .into());
        }
        self.ensure_probes()?;
        if !self.probe_plans.contains_key(&t) {
            let plan = self.planner(true).plan(t, false)?;
            if self.probe_plans.len() >= 8 {
                self.probe_plans.clear();
            }
            self.probe_plans.insert(t, plan);
        }
        let Some(pb) = self.probes.as_ref() else {
            return Err(GpuError::Unsupported("probe buffers missing".into()));
        };
        gpu.queue
            .write_buffer(&self.acts.tokens, 0, bytemuck::cast_slice(tokens));
        self.write_pos();
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("probed prefill"),
            });
        // resets at token 0, then the state norms' recurrence starts from a copy of the
        // session's state
        self.prepare(&mut enc);
        pb.copy_states(&mut enc, &self.layers);
        if let Some(plan) = self.probe_plans.get(&t) {
            encode(&mut enc, "probed prefill", plan);
        }
        let v = self.model.config.vocab_size;
        enc.copy_buffer_to_buffer(
            &self.acts.logits,
            0,
            &self.logits_staging,
            0,
            Some((v * 4) as u64),
        );
        let (staging, floats) = pb.copy_out(&mut enc, t);
        gpu.queue.submit([enc.finish()]);
        self.pos += t;
        self.token_on_gpu = false;
        let logits = read_f32(&gpu, &self.logits_staging, v).await?;
        let all = read_f32(&gpu, staging, floats).await?;
        let probes = pb.unpack(t, &all);
        gpu.check()?;
        Ok((logits, probes))
    }

    /// See [`Session::prefill_probed`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn prefill_probed_blocking(&mut self, tokens: &[u32]) -> Result<(Vec<f32>, Probes)> {
        pollster::block_on(self.prefill_probed(tokens))
    }

    /// Labels of the dispatches of the probe plan for `t` tokens, in order (allocates the
    /// probe buffers; for tests and docs).
    pub fn probe_dispatches(&mut self, t: usize) -> Result<Vec<String>> {
        self.ensure_probes()?;
        let plan = self.planner(true).plan(t, false)?;
        Ok(plan.iter().map(|d| d.label.clone()).collect())
    }

    /// Allocate the probe buffers unless they exist.
    pub(super) fn ensure_probes(&mut self) -> Result<()> {
        if self.probes.is_none() {
            let (gpu, cfg, w) = (&self.model.gpu, &self.model.config, &self.model.weights);
            self.probes = Some(ProbeBufs::new(gpu, cfg, w, self.opts.chunk)?);
        }
        Ok(())
    }
}
