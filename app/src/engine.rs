//! The engine seam: every view talks to a [`Backend`], never to an engine crate directly.
//! Two engines: the CPU reference (`hybrid_core`, compiled to wasm) and the GPU engine
//! (`hybrid_gpu`, WebGPU in the browser). A GPU backend keeps its CPU model too: probes
//! (Attention and State views) and the Scaling sweep run on the CPU reference, and a
//! generation that hits a GPU error carries on there.

use std::rc::Rc;
use std::sync::Arc;

use hybrid_core::weights::Weights;
use hybrid_core::{ForwardOptions, ModelConfig, Probes, State, StateBytes, Tokenizer};
use hybrid_gpu::{Gpu, GpuModel, SessionOptions};

use crate::session::LoadedModel;

/// Largest prefill chunk of a GPU session (one submission each).
const GPU_CHUNK: usize = 256;

/// A model on an engine.
pub enum Backend {
    /// The CPU reference engine.
    Cpu(Rc<LoadedModel>),
    /// The GPU engine; `cpu` is the same model on the CPU reference engine.
    Gpu {
        cpu: Rc<LoadedModel>,
        gpu: Box<GpuModel>,
    },
}

/// The running state of one sequence on a backend (KV caches, conv and SSM states).
pub enum Session {
    Cpu(State),
    Gpu(Box<hybrid_gpu::Session>),
}

impl Session {
    /// Memory the state holds now, measured (on the GPU: the buffers allocated, the KV
    /// cache preallocated for the session's context).
    pub fn bytes(&self) -> StateBytes {
        match self {
            Session::Cpu(s) => s.bytes(),
            Session::Gpu(s) => {
                let m = s.memory();
                StateBytes {
                    kv_cache: m.kv_cache as usize,
                    ssm_state: m.ssm_state as usize,
                    conv_state: m.conv_state as usize,
                }
            }
        }
    }

    /// Tokens consumed so far.
    pub fn position(&self) -> usize {
        match self {
            Session::Cpu(s) => s.pos,
            Session::Gpu(s) => s.pos(),
        }
    }

    /// Whether this session runs on the GPU.
    pub fn on_gpu(&self) -> bool {
        matches!(self, Session::Gpu(_))
    }
}

impl Backend {
    /// A CPU model from its three files (errors name the file at fault).
    pub fn cpu_from_files(
        id: &str,
        config: &[u8],
        weights: &[u8],
        tokenizer: &[u8],
    ) -> Result<Self, String> {
        Ok(Backend::Cpu(Rc::new(LoadedModel::from_files(
            id, config, weights, tokenizer,
        )?)))
    }

    /// A designed architecture with seeded random weights (no tokenizer: timing only).
    pub fn cpu_random(id: &str, config: ModelConfig, seed: u64) -> Result<Self, String> {
        let weights = Weights::random(&config, seed).map_err(|e| e.to_string())?;
        Ok(Backend::Cpu(Rc::new(LoadedModel {
            id: id.to_string(),
            model: hybrid_core::Model::new(config, weights),
            tokenizer: None,
        })))
    }

    /// This model on the GPU: uploads the weights, then checks a short prefill against
    /// the CPU engine (a shader that compiles but computes wrong fails here, not in the
    /// middle of a generation). Errors say why, for the page's badge.
    pub async fn to_gpu(&self, gpu: Arc<Gpu>) -> Result<Self, String> {
        let cpu = self.loaded().clone();
        let model = GpuModel::new(gpu, &cpu.model).map_err(|e| e.to_string())?;
        let vocab = cpu.model.config().vocab_size as u32;
        let probe: Vec<u32> = [1u32, 2, 3].iter().map(|t| t % vocab.max(1)).collect();
        let mut session = model
            .session(SessionOptions {
                max_context: probe.len(),
                chunk: probe.len() - 1,
            })
            .map_err(|e| e.to_string())?;
        // A chunked prefill, then a decode step (their plans use different kernels).
        let (head, last) = probe.split_at(probe.len() - 1);
        let mut state = cpu.model.new_state();
        for part in [head, last] {
            let got = session.prefill(part).await.map_err(|e| e.to_string())?;
            let want = cpu
                .model
                .prefill(&mut state, part)
                .map_err(|e| e.to_string())?;
            check_close(&got, &want)?;
        }
        Ok(Backend::Gpu {
            cpu,
            gpu: Box::new(model),
        })
    }

    /// The same model on the CPU reference engine.
    pub fn cpu_only(&self) -> Self {
        Backend::Cpu(self.loaded().clone())
    }

    /// The engine's name for the page.
    pub fn engine_name(&self) -> &'static str {
        match self {
            Backend::Cpu(_) => "CPU (wasm)",
            Backend::Gpu { .. } => "WebGPU",
        }
    }

    /// Whether generation runs on the GPU.
    pub fn is_gpu(&self) -> bool {
        matches!(self, Backend::Gpu { .. })
    }

    /// The loaded model (the CPU side of a GPU backend).
    pub fn loaded(&self) -> &Rc<LoadedModel> {
        match self {
            Backend::Cpu(m) | Backend::Gpu { cpu: m, .. } => m,
        }
    }

    pub fn config(&self) -> &ModelConfig {
        self.loaded().model.config()
    }

    pub fn tokenizer(&self) -> Option<&Tokenizer> {
        self.loaded().tokenizer.as_ref()
    }

    /// An empty session on the CPU reference engine (any backend; [`Backend::feed`]).
    pub fn new_session(&self) -> Session {
        Session::Cpu(self.loaded().model.new_state())
    }

    /// An empty session on this backend's engine, for up to `max_context` tokens
    /// (run it with [`Backend::feed_async`]).
    pub fn open_session(&self, max_context: usize) -> Result<Session, String> {
        match self {
            Backend::Cpu(_) => Ok(self.new_session()),
            Backend::Gpu { gpu, .. } => gpu
                .session(SessionOptions {
                    max_context: max_context.max(1),
                    chunk: max_context.clamp(1, GPU_CHUNK),
                })
                .map(|s| Session::Gpu(Box::new(s)))
                .map_err(|e| format!("GPU session: {e}")),
        }
    }

    /// Runs `tokens` through the model from a CPU `session`; returns the last token's
    /// logits. A GPU session needs [`Backend::feed_async`].
    pub fn feed(&self, session: &mut Session, tokens: &[u32]) -> Result<Vec<f32>, String> {
        match session {
            Session::Cpu(s) => self
                .loaded()
                .model
                .prefill(s, tokens)
                .map_err(|e| e.to_string()),
            Session::Gpu(_) => Err("a GPU session runs asynchronously (feed_async)".into()),
        }
    }

    /// Runs `tokens` through the model from `session` on its engine; returns the last
    /// token's logits.
    pub async fn feed_async(
        &self,
        session: &mut Session,
        tokens: &[u32],
    ) -> Result<Vec<f32>, String> {
        match session {
            Session::Cpu(_) => self.feed(session, tokens),
            Session::Gpu(s) => s.prefill(tokens).await.map_err(|e| format!("GPU: {e}")),
        }
    }

    /// Runs `tokens` from an empty state with probes on, on this backend's engine (a GPU
    /// probe that fails falls back to the CPU engine); returns the probes, the memory the
    /// state holds afterwards and the engine that computed them.
    pub async fn probe_async(
        &self,
        tokens: &[u32],
    ) -> Result<(Probes, StateBytes, &'static str), String> {
        if let Backend::Gpu { gpu, .. } = self {
            let opts = SessionOptions {
                max_context: tokens.len().max(1),
                chunk: tokens.len().max(1),
            };
            let probed = match gpu.session(opts) {
                Ok(mut s) => match s.prefill_probed(tokens).await {
                    Ok((_, probes)) => {
                        let m = s.memory();
                        let bytes = StateBytes {
                            kv_cache: m.kv_cache as usize,
                            ssm_state: m.ssm_state as usize,
                            conv_state: m.conv_state as usize,
                        };
                        Some((probes, bytes))
                    }
                    Err(_) => None,
                },
                Err(_) => None,
            };
            if let Some((probes, bytes)) = probed {
                return Ok((probes, bytes, "WebGPU"));
            }
        }
        let (probes, bytes) = self.probe(tokens)?;
        Ok((probes, bytes, "CPU"))
    }

    /// Runs `tokens` from an empty state with probes on (on the CPU reference engine);
    /// returns the probes and the memory the state holds afterwards.
    pub fn probe(&self, tokens: &[u32]) -> Result<(Probes, StateBytes), String> {
        let m = self.loaded();
        let mut state = m.model.new_state();
        let out = m
            .model
            .forward(
                &mut state,
                tokens,
                ForwardOptions {
                    probes: true,
                    ..ForwardOptions::default()
                },
            )
            .map_err(|e| e.to_string())?;
        let probes = out.probes.ok_or("the engine returned no probes")?;
        Ok((probes, state.bytes()))
    }
}

/// GPU logits against CPU logits: same length, finite, within 1e-2 of the largest.
fn check_close(got: &[f32], want: &[f32]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!(
            "the GPU returned {} logits, the CPU engine {}",
            got.len(),
            want.len()
        ));
    }
    let scale = want.iter().fold(1e-6f32, |m, x| m.max(x.abs()));
    let worst = got
        .iter()
        .zip(want)
        .map(|(a, b)| {
            if a.is_finite() {
                (a - b).abs()
            } else {
                f32::INFINITY
            }
        })
        .fold(0f32, f32::max);
    if worst > 1e-2 * scale {
        return Err(format!(
            "the GPU's logits differ from the CPU engine's (max error {worst:.3e}, scale {scale:.3e})"
        ));
    }
    Ok(())
}
