//! A decoding session: it owns the buffers (activations, per-block state, staging, probe
//! buffers), caches the plans the [`Planner`] builds and runs them: `prefill`, `step`,
//! `decode_greedy` (`run.rs`), `prefill_probed` (`probed.rs`), `profile_plan`; and applies
//! interventions (`set_interventions`, `intervene.rs`). Every chunk
//! of a prefill and every decode step is one command submission; plans (lists of
//! dispatches) are built once per chunk length and reused.

mod intervene;
mod probed;
mod run;
mod sample;

use std::collections::HashMap;

use hybrid_core::intervene::LayerPlan;
use hybrid_core::Error as ModelError;

use super::acts::{cache_layouts, decode_splits, Acts, Kind, LayerState, Sizes};
use super::estimate::estimate;
pub use super::estimate::SessionOptions;
use super::gpu_model::GpuModel;
use super::memory::MemoryReport;
use super::plan::Planner;
use super::probes::ProbeBufs;
use crate::dispatch::Dispatch;
use crate::ops::argmax::Argmax;
use crate::ops::topk::MAX_K;
use crate::{GpuError, Result};

/// One conversation with a [`GpuModel`].
#[derive(Debug)]
pub struct Session {
    model: GpuModel,
    opts: SessionOptions,
    /// Split-K splits per head of decode attention (grid sized for the most visible keys).
    splits: usize,
    pos: usize,
    acts: Acts,
    layers: Vec<LayerState>,
    /// Plans by (T, all logits).
    plans: HashMap<(usize, bool), Vec<Dispatch>>,
    argmax: Dispatch,
    /// Rows of logits kept (`acts::logit_rows`): `prefill_all` runs chunks of this many.
    logit_rows: usize,
    logits_staging: wgpu::Buffer,
    /// The top-k dispatches (slices, merge) for the cached k.
    topk: Option<(usize, [Dispatch; 2])>,
    /// The top-k pairs read back by sampling.
    topk_staging: wgpu::Buffer,
    /// Two 4-byte staging buffers: decode step i reads its token back through `[i % 2]`
    /// while step i + 1 runs.
    token_staging: [wgpu::Buffer; 2],
    /// `step_argmax` left its token in `tokens[0]`.
    token_on_gpu: bool,
    /// Probe buffers: `None` until the first probed call.
    probes: Option<ProbeBufs>,
    /// Probe plans by T.
    probe_plans: HashMap<usize, Vec<Dispatch>>,
    /// The interventions, one plan per block (`set_interventions`; default: none).
    iv: Vec<LayerPlan>,
}

impl GpuModel {
    /// A fresh session (position 0).
    pub fn session(&self, opts: SessionOptions) -> Result<Session> {
        let plans = vec![LayerPlan::default(); self.config.layers.len()];
        Session::build(self.clone(), opts, plans)
    }
}

impl Session {
    /// A session at position 0 with the interventions `iv` (one plan per block, checked).
    fn build(model: GpuModel, opts: SessionOptions, iv: Vec<LayerPlan>) -> Result<Self> {
        let gpu = model.gpu.clone();
        let cfg = &model.config;
        let cap = opts.chunk.max(1);
        let opts = SessionOptions {
            chunk: cap,
            max_context: opts.max_context.max(1),
        };
        // refuse a buffer over the device's limits before allocating any
        estimate(cfg, model.weights.format, opts).check(&gpu.limits, None)?;
        let layouts = cache_layouts(cfg, &iv);
        let splits = decode_splits(cfg, &layouts, opts.max_context);
        let sizes = Sizes::of(cfg, cap, splits);
        let acts = Acts::new(&gpu, &sizes)?;
        let layers = LayerState::alloc(&gpu, &model.weights, &layouts, opts.max_context)?;
        let v = cfg.vocab_size;
        let argmax = Argmax { n: v, off: 0 }.build(&gpu, "argmax", &acts.logits, &acts.tokens)?;
        let logits_staging = gpu.staging("logits staging", (sizes.logit_rows * v * 4) as u64)?;
        let topk_staging = gpu.staging("top-k staging", (MAX_K * 8) as u64)?;
        let token_staging = [
            gpu.staging("token staging 0", 4)?,
            gpu.staging("token staging 1", 4)?,
        ];
        gpu.check()?;
        Ok(Session {
            model,
            opts,
            splits,
            pos: 0,
            acts,
            layers,
            plans: HashMap::new(),
            argmax,
            logit_rows: sizes.logit_rows,
            logits_staging,
            topk: None,
            topk_staging,
            token_staging,
            token_on_gpu: false,
            probes: None,
            probe_plans: HashMap::new(),
            iv,
        })
    }

    /// Tokens consumed so far (the next token's position).
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The options this session was sized for.
    pub fn options(&self) -> SessionOptions {
        self.opts
    }

    /// Back to position 0 with zero state (the KV cache needs no clearing: rows are
    /// written before they are read).
    pub fn reset(&mut self) -> Result<()> {
        let gpu = &self.model.gpu;
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("reset"),
            });
        for l in &self.layers {
            l.clear(&mut enc);
        }
        gpu.queue.submit([enc.finish()]);
        self.pos = 0;
        self.token_on_gpu = false;
        gpu.check()
    }

    /// Exact bytes on the GPU: weights, KV cache, SSM and conv state, activations, other.
    pub fn memory(&self) -> MemoryReport {
        let mut r = MemoryReport {
            weights: self.model.weights.bytes,
            activations: self.acts.bytes(Kind::Activation),
            probes: self
                .probes
                .as_ref()
                .map_or(0, |p| p.bytes() + params_bytes(self.probe_plans.values())),
            ..Default::default()
        };
        for l in &self.layers {
            if let Some((k, v, _)) = &l.kv {
                r.kv_cache += k.size() + v.size();
            }
            if let Some((conv, ssm)) = &l.ssm {
                r.conv_state += conv.size();
                r.ssm_state += ssm.size();
            }
            r.other += l.dt_edit.as_ref().map_or(0, |b| b.size());
        }
        r.other += self.acts.bytes(Kind::Input)
            + self.logits_staging.size()
            + self.topk_staging.size()
            + self
                .topk
                .iter()
                .flat_map(|t| &t.1)
                .map(|d| d.params_bytes())
                .sum::<u64>()
            + self.token_staging.iter().map(|b| b.size()).sum::<u64>()
            + params_bytes(self.plans.values())
            + self.argmax.params_bytes();
        r
    }

    /// The plan builder over this session's buffers, with the probe hooks if `probes`.
    fn planner(&self, probes: bool) -> Planner<'_> {
        Planner {
            gpu: &self.model.gpu,
            config: &self.model.config,
            weights: &self.model.weights,
            acts: &self.acts,
            layers: &self.layers,
            splits: self.splits,
            probes: if probes { self.probes.as_ref() } else { None },
            iv: &self.iv,
        }
    }

    /// Build the plan for (T, all logits) unless it is cached.
    fn ensure_plan(&mut self, t: usize, all: bool) -> Result<()> {
        if !self.plans.contains_key(&(t, all)) {
            if self.plans.len() >= 16 {
                self.plans.retain(|&(pt, pa), _| pt == 1 && !pa);
            }
            let plan = self.planner(false).plan(t, all)?;
            self.plans.insert((t, all), plan);
        }
        Ok(())
    }

    /// The cached plan for (T, all logits) (empty if not built).
    fn plan(&self, t: usize, all: bool) -> &[Dispatch] {
        self.plans.get(&(t, all)).map_or(&[][..], |p| &p[..])
    }

    fn check_tokens(&self, tokens: &[u32]) -> Result<()> {
        let v = self.model.config.vocab_size;
        if tokens.is_empty() {
            return Err(ModelError::Prompt("the prompt is empty: nothing to run".into()).into());
        }
        if let Some(&id) = tokens.iter().find(|&&id| id as usize >= v) {
            return Err(ModelError::TokenOutOfRange { id, vocab: v }.into());
        }
        Ok(())
    }

    /// Full attention keeps every position: the cache must have room.
    fn check_context(&self, tokens: usize) -> Result<()> {
        // a layer with full attention keeps every position
        let full_attn = self
            .layers
            .iter()
            .any(|l| l.kv.is_some() && l.layout.window.is_none());
        let max = self.opts.max_context;
        if full_attn && self.pos + tokens > max {
            return Err(GpuError::ContextFull {
                pos: self.pos,
                tokens,
                max,
            });
        }
        if self.pos + tokens > u32::MAX as usize / 2 {
            return Err(GpuError::ContextFull {
                pos: self.pos,
                tokens,
                max: u32::MAX as usize / 2,
            });
        }
        Ok(())
    }

    fn write_pos(&self) {
        let p = [self.pos as u32, 0, 0, 0];
        self.model
            .gpu
            .queue
            .write_buffer(&self.acts.pos, 0, bytemuck::cast_slice(&p));
    }
}

/// Bytes of the params uniforms of `plans`.
fn params_bytes<'a>(plans: impl Iterator<Item = &'a Vec<Dispatch>>) -> u64 {
    plans.flatten().map(|d| d.params_bytes()).sum()
}
