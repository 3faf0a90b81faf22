//! A decoding session: preallocated state and activations, `prefill`, `step`,
//! `step_argmax`. Every chunk of a prefill and every decode step is one command
//! submission; plans (lists of dispatches) are built once per chunk length and reused.

use std::collections::HashMap;

use hybrid_core::{Error as ModelError, LayerKind};

use super::memory::MemoryReport;
use super::probes::ProbeBufs;
use super::weights::MixerBufs;
use super::GpuModel;
use crate::dispatch::{encode, Dispatch};
use crate::ops::argmax::Argmax;
use crate::ops::attention::CacheLayout;
use crate::ops::attention_split::{max_keys, splits_for};
use crate::ops::ssd::Ssd;
use crate::readback::{read_bytes_after, read_f32};
use crate::{GpuError, Result};

/// Sizes a session preallocates for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Most tokens the KV cache holds (full attention); with a sliding window the cache
    /// is a ring of `sink_tokens + window - 1` rows and the context is unbounded, as it is
    /// for pure Mamba models.
    pub max_context: usize,
    /// Most tokens per prefill submission (activations are sized for this); longer
    /// prompts run in chunks.
    pub chunk: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            max_context: 4096,
            chunk: 256,
        }
    }
}

/// Activations for one chunk of `cap` tokens. Shapes are per row; widths are the largest
/// over the layers.
#[derive(Debug)]
pub(crate) struct Acts {
    /// [cap] u32 token ids (row 0 also receives `step_argmax`'s token).
    pub tokens: wgpu::Buffer,
    /// [4] u32: pos0 of the current call.
    pub pos: wgpu::Buffer,
    /// [cap, D] residual stream.
    pub x: wgpu::Buffer,
    /// [cap, D] normed residual.
    pub h: wgpu::Buffer,
    /// [cap, Hq*dh + 2 Hkv*dh] fused q|k|v.
    pub qkv: wgpu::Buffer,
    /// [cap, Hq*dh] attention heads.
    pub att: wgpu::Buffer,
    /// [cap, Hq*dh] normed attention branch (intra).
    pub att_n: wgpu::Buffer,
    /// [Hq, splits, dh + 2] split-K attention partials of a decode step (o | m | l).
    pub att_part: wgpu::Buffer,
    /// [cap, 2E + 2GN + H] in_proj output.
    pub proj: wgpu::Buffer,
    /// [cap, E + 2GN] conv output.
    pub xbc: wgpu::Buffer,
    /// [cap, E] gated scan output.
    pub y: wgpu::Buffer,
    /// [cap, E] normed scan output.
    pub yn: wgpu::Buffer,
    /// [ceil(cap / 32), H, P, N] chunked-scan scratch: per-chunk states (ops::ssd).
    pub ssd_states: wgpu::Buffer,
    /// [cap, H, 2] chunked-scan scratch: dt | within-chunk cumulative dt A (ops::ssd).
    pub ssd_dtc: wgpu::Buffer,
    /// [cap, 2F] gate|up.
    pub gu: wgpu::Buffer,
    /// [cap, F] SwiGLU activation.
    pub act: wgpu::Buffer,
    /// [cap, V] logits.
    pub logits: wgpu::Buffer,
}

/// Per-block state buffers.
#[derive(Debug)]
pub(crate) struct LayerState {
    /// K and V caches [rows, Hkv*dh] and their row count.
    pub kv: Option<(wgpu::Buffer, wgpu::Buffer, usize)>,
    /// Conv state [W-1, C] and SSM state [H, P, N].
    pub ssm: Option<(wgpu::Buffer, wgpu::Buffer)>,
}

/// One conversation with a [`GpuModel`].
#[derive(Debug)]
pub struct Session {
    pub(crate) model: GpuModel,
    pub(crate) opts: SessionOptions,
    pub(crate) layout: CacheLayout,
    /// Split-K splits per head of decode attention (grid sized for the most visible keys).
    pub(crate) splits: usize,
    pub(super) pos: usize,
    pub(crate) acts: Acts,
    pub(crate) layers: Vec<LayerState>,
    plans: HashMap<(usize, bool), Vec<Dispatch>>,
    argmax: Dispatch,
    pub(super) logits_staging: wgpu::Buffer,
    /// Two 4-byte staging buffers: decode step i reads its token back through `[i % 2]`
    /// while step i + 1 runs.
    token_staging: [wgpu::Buffer; 2],
    /// `step_argmax` left its token in `tokens[0]`.
    pub(super) token_on_gpu: bool,
    /// Probe buffers, staging and plans: `None` until the first probed call.
    pub(super) probes: Option<ProbeBufs>,
}

impl Session {
    pub(crate) fn new(model: GpuModel, opts: SessionOptions) -> Result<Self> {
        let gpu = model.gpu.clone();
        let cfg = &model.config;
        let cap = opts.chunk.max(1);
        let opts = SessionOptions {
            chunk: cap,
            max_context: opts.max_context.max(1),
        };
        let (d, f, v) = (cfg.d_model, cfg.d_ffn, cfg.vocab_size);
        let a_cfg = cfg.attention.as_ref();
        let layout = CacheLayout {
            window: a_cfg.and_then(|a| a.window),
            sinks: a_cfg.map_or(0, |a| a.sink_tokens),
        };
        let splits = splits_for(max_keys(&layout, opts.max_context));
        let mut qkv_w = 0;
        let mut qa_w = 0;
        let mut part_w = 0;
        let (mut ipd_w, mut conv_w, mut e_w) = (0, 0, 0);
        for b in &model.weights.blocks {
            let (a, m) = match &b.mixer {
                MixerBufs::Attention(a) => (Some(a.dims), None),
                MixerBufs::Mamba(m) => (None, Some(m.dims)),
                MixerBufs::Intra(i) => (Some(i.attn.dims), Some(i.ssm.dims)),
            };
            if let Some(a) = a {
                qkv_w = qkv_w.max(a.q_dim() + 2 * a.kv_dim());
                qa_w = qa_w.max(a.q_dim());
                part_w = part_w.max(a.n_heads * (a.head_dim + 2));
            }
            if let Some(m) = m {
                ipd_w = ipd_w.max(m.in_proj_dim());
                conv_w = conv_w.max(m.conv_dim());
                e_w = e_w.max(m.d_inner());
            }
        }
        let buf = |label: &str, floats: usize| {
            gpu.storage(label, (floats * 4) as u64, wgpu::BufferUsages::COPY_SRC)
        };
        // chunked-scan scratch, the largest over the Mamba layers
        let ssd = model
            .weights
            .blocks
            .iter()
            .filter_map(|b| match &b.mixer {
                MixerBufs::Attention(_) => None,
                MixerBufs::Mamba(m) => Some(m.dims),
                MixerBufs::Intra(i) => Some(i.ssm.dims),
            })
            .map(|dims| Ssd { t: cap, dims }.scratch())
            .fold((0, 0), |(s, c), x| (s.max(x.states), c.max(x.dtc)));
        let acts = Acts {
            tokens: buf("tokens", cap)?,
            pos: buf("pos", 4)?,
            x: buf("x (residual)", cap * d)?,
            h: buf("h (normed)", cap * d)?,
            qkv: buf("qkv", cap * qkv_w)?,
            att: buf("attention heads", cap * qa_w)?,
            att_n: buf("attention heads normed", cap * qa_w)?,
            att_part: buf("attention split partials", (splits * part_w).max(1))?,
            proj: buf("in_proj out", cap * ipd_w)?,
            xbc: buf("conv out", cap * conv_w)?,
            y: buf("scan out", cap * e_w)?,
            yn: buf("scan out normed", cap * e_w)?,
            ssd_states: buf("chunked scan states", ssd.0)?,
            ssd_dtc: buf("chunked scan dt | cum", ssd.1)?,
            gu: buf("gate|up", cap * 2 * f)?,
            act: buf("swiglu", cap * f)?,
            logits: buf("logits", cap * v)?,
        };
        let mut layers = Vec::new();
        for (i, b) in model.weights.blocks.iter().enumerate() {
            let (a, m) = match &b.mixer {
                MixerBufs::Attention(a) => (Some(a.dims), None),
                MixerBufs::Mamba(m) => (None, Some(m.dims)),
                MixerBufs::Intra(ib) => (Some(ib.attn.dims), Some(ib.ssm.dims)),
            };
            let kv = match a {
                Some(a) => {
                    let rows = layout.rows(opts.max_context).max(1);
                    let bytes = (rows * a.kv_dim() * 4) as u64;
                    let k = gpu.storage(
                        &format!("layers.{i} k cache"),
                        bytes,
                        wgpu::BufferUsages::empty(),
                    )?;
                    let v = gpu.storage(
                        &format!("layers.{i} v cache"),
                        bytes,
                        wgpu::BufferUsages::empty(),
                    )?;
                    Some((k, v, rows))
                }
                None => None,
            };
            let ssm = match m {
                Some(m) => Some((
                    gpu.storage(
                        &format!("layers.{i} conv state"),
                        (m.conv_state_len() * 4) as u64,
                        wgpu::BufferUsages::empty(),
                    )?,
                    // COPY_SRC: probes run the recurrence on a copy of it
                    gpu.storage(
                        &format!("layers.{i} ssm state"),
                        (m.ssm_state_len() * 4) as u64,
                        wgpu::BufferUsages::COPY_SRC,
                    )?,
                )),
                None => None,
            };
            layers.push(LayerState { kv, ssm });
        }
        let argmax = Argmax { n: v, off: 0 }.build(&gpu, "argmax", &acts.logits, &acts.tokens)?;
        let logits_staging = gpu.staging("logits staging", (cap * v * 4) as u64)?;
        let token_staging = [
            gpu.staging("token staging 0", 4)?,
            gpu.staging("token staging 1", 4)?,
        ];
        gpu.check()?;
        Ok(Session {
            model,
            opts,
            layout,
            splits,
            pos: 0,
            acts,
            layers,
            plans: HashMap::new(),
            argmax,
            logits_staging,
            token_staging,
            token_on_gpu: false,
            probes: None,
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
            if let Some((conv, ssm)) = &l.ssm {
                enc.clear_buffer(conv, 0, None);
                enc.clear_buffer(ssm, 0, None);
            }
        }
        gpu.queue.submit([enc.finish()]);
        self.pos = 0;
        self.token_on_gpu = false;
        gpu.check()
    }

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
                Some(self.submit_decode_step(i % 2)?)
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
    fn submit_decode_step(&mut self, slot: usize) -> Result<wgpu::SubmissionIndex> {
        let gpu = &self.model.gpu;
        self.write_pos()?;
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("decode step"),
            });
        if let Some(plan) = self.plans.get(&(1, false)) {
            encode(&mut enc, "decode step", plan);
        }
        encode(&mut enc, "argmax", std::slice::from_ref(&self.argmax));
        enc.copy_buffer_to_buffer(&self.acts.tokens, 0, &self.token_staging[slot], 0, Some(4));
        let idx = gpu.queue.submit([enc.finish()]);
        self.pos += 1;
        Ok(idx)
    }

    /// Native blocking forms of the async calls.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn prefill_blocking(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        pollster::block_on(self.prefill(tokens))
    }
    /// See [`Session::prefill_all`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn prefill_all_blocking(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        pollster::block_on(self.prefill_all(tokens))
    }
    /// See [`Session::step`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn step_blocking(&mut self, token: u32) -> Result<Vec<f32>> {
        pollster::block_on(self.step(token))
    }
    /// See [`Session::profile_plan`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn profile_plan_blocking(&mut self, t: usize) -> Result<crate::profile::Profile> {
        pollster::block_on(self.profile_plan(t))
    }
    /// See [`Session::decode_greedy`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn decode_greedy_blocking(&mut self, first: Option<u32>, n: usize) -> Result<Vec<u32>> {
        pollster::block_on(self.decode_greedy(first, n))
    }
    /// See [`Session::step_argmax`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn step_argmax_blocking(&mut self, token: Option<u32>) -> Result<u32> {
        pollster::block_on(self.step_argmax(token))
    }

    /// GPU times of the plan for `t` tokens (1: a decode step), from timestamp queries,
    /// at the current position. The plan runs twice on whatever the activations hold, so
    /// the session's state is garbage afterwards: `reset` before using it again.
    pub async fn profile_plan(&mut self, t: usize) -> Result<crate::profile::Profile> {
        self.check_context(t)?;
        self.write_pos()?;
        self.ensure_plan(t, false)?;
        let plan = self.plans.get(&(t, false)).map_or(&[][..], |p| &p[..]);
        crate::profile::profile(&self.model.gpu, "profile", plan).await
    }

    /// Labels of the dispatches of one decode step, in order (for counting and docs).
    pub fn decode_dispatches(&mut self) -> Result<Vec<String>> {
        self.ensure_plan(1, false)?;
        let plan = self
            .plans
            .get(&(1, false))
            .map(|p| p.iter().map(|d| d.label.clone()).collect());
        Ok(plan.unwrap_or_default())
    }

    /// Labels of the dispatches of a prefill of `t` tokens (last logits only), in order.
    pub fn prefill_dispatches(&mut self, t: usize) -> Result<Vec<String>> {
        self.ensure_plan(t, false)?;
        let plan = self
            .plans
            .get(&(t, false))
            .map(|p| p.iter().map(|d| d.label.clone()).collect());
        Ok(plan.unwrap_or_default())
    }

    /// Exact bytes on the GPU: weights, KV cache, SSM and conv state, activations, other.
    pub fn memory(&self) -> MemoryReport {
        let a = &self.acts;
        let activations = [
            &a.x,
            &a.h,
            &a.qkv,
            &a.att,
            &a.att_n,
            &a.att_part,
            &a.proj,
            &a.xbc,
            &a.y,
            &a.yn,
            &a.ssd_states,
            &a.ssd_dtc,
            &a.gu,
            &a.act,
            &a.logits,
        ]
        .iter()
        .map(|b| b.size())
        .sum();
        let mut r = MemoryReport {
            weights: self.model.weights.bytes,
            activations,
            probes: self.probes.as_ref().map_or(0, |p| p.bytes()),
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
        }
        let params: u64 = self
            .plans
            .values()
            .flatten()
            .chain([&self.argmax])
            .map(|d| d.params_bytes())
            .sum();
        r.other = a.tokens.size()
            + a.pos.size()
            + self.logits_staging.size()
            + self.token_staging.iter().map(|b| b.size()).sum::<u64>()
            + params;
        r
    }

    pub(super) fn check_tokens(&self, tokens: &[u32]) -> Result<()> {
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
    pub(super) fn check_context(&self, tokens: usize) -> Result<()> {
        let cfg = &self.model.config;
        let full_attn = self.layout.window.is_none()
            && cfg
                .layers
                .iter()
                .any(|k| matches!(k, LayerKind::Attention | LayerKind::Intra));
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

    pub(super) fn write_pos(&self) -> Result<()> {
        let p = [self.pos as u32, 0, 0, 0];
        self.model
            .gpu
            .queue
            .write_buffer(&self.acts.pos, 0, bytemuck::cast_slice(&p));
        Ok(())
    }

    fn ensure_plan(&mut self, t: usize, all: bool) -> Result<()> {
        if !self.plans.contains_key(&(t, all)) {
            if self.plans.len() >= 16 {
                self.plans.retain(|&(pt, pa), _| pt == 1 && !pa);
            }
            let plan = self.build_plan(t, all, false)?;
            self.plans.insert((t, all), plan);
        }
        Ok(())
    }

    async fn forward(&mut self, tokens: &[u32], all: bool) -> Result<Vec<f32>> {
        let gpu = self.model.gpu.clone();
        gpu.check()?;
        self.check_tokens(tokens)?;
        self.check_context(tokens.len())?;
        let v = self.model.config.vocab_size;
        let mut out = Vec::with_capacity(if all { tokens.len() * v } else { v });
        let n_chunks = tokens.len().div_ceil(self.opts.chunk);
        for (ci, chunk) in tokens.chunks(self.opts.chunk).enumerate() {
            let t = chunk.len();
            let last = ci + 1 == n_chunks;
            gpu.queue
                .write_buffer(&self.acts.tokens, 0, bytemuck::cast_slice(chunk));
            self.write_pos()?;
            self.ensure_plan(t, all)?;
            let mut enc = gpu
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("forward"),
                });
            if let Some(plan) = self.plans.get(&(t, all)) {
                encode(&mut enc, "forward", plan);
            }
            let rows = if all { t } else { 1 };
            if all || last {
                enc.copy_buffer_to_buffer(
                    &self.acts.logits,
                    0,
                    &self.logits_staging,
                    0,
                    Some((rows * v * 4) as u64),
                );
            }
            gpu.queue.submit([enc.finish()]);
            self.pos += t;
            self.token_on_gpu = false;
            if all || last {
                out.extend(read_f32(&gpu, &self.logits_staging, rows * v).await?);
            }
        }
        gpu.check()?;
        Ok(out)
    }
}
