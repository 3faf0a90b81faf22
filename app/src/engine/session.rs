//! Running a model: a [`Session`] (one sequence's KV caches, conv and SSM states) on the
//! CPU or the GPU engine, fed prompt chunks and decode steps, and probed runs for the
//! Attention and State views.

use hybrid_core::{ForwardOptions, Probes, State, StateBytes};
use hybrid_gpu::SessionOptions;

use super::backend::{Backend, GPU_CHUNK};

/// Checks for a lost device after a failed GPU call, 10 ms apart in the browser.
const LOST_POLLS: usize = 5;
#[cfg(target_arch = "wasm32")]
const LOST_POLL_MS: u32 = 10;

/// Lets the browser run its pending tasks (the device-lost callback among them).
#[cfg(target_arch = "wasm32")]
async fn settle() {
    gloo_timers::future::TimeoutFuture::new(LOST_POLL_MS).await;
}

/// Natively a lost device is reported synchronously: nothing to wait for.
#[cfg(not(target_arch = "wasm32"))]
async fn settle() {}

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
    /// An empty session on the CPU reference engine (any backend; [`Backend::feed`]).
    pub fn new_session(&self) -> Session {
        Session::Cpu(self.loaded().model.new_state())
    }

    /// An empty session on this backend's engine, for up to `max_context` tokens fed at
    /// most `chunk` at a time (run it with [`Backend::feed_async`]). Its KV caches are
    /// allocated now, on either engine: the run's memory then grows by nothing else, and
    /// a cache too large is refused here with its bytes rather than failing half-way.
    pub fn open_session(&self, max_context: usize, chunk: usize) -> Result<Session, String> {
        match self {
            Backend::Cpu(_) => (self.loaded().model)
                .new_state_for(max_context, chunk)
                .map(Session::Cpu)
                .map_err(|e| e.to_string()),
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
            Session::Gpu(s) => match s.prefill(tokens).await {
                Ok(logits) => Ok(logits),
                Err(e) => Err(self.gpu_failure(e).await),
            },
        }
    }

    /// Why a GPU call failed, for the badge: a lost device is named as such (the call
    /// itself only sees its buffer mapping fail; the device-lost callback arrives a task
    /// later, so it is waited for, at most [`LOST_POLLS`] x 10 ms), with the
    /// call's own error after it.
    async fn gpu_failure(&self, e: hybrid_gpu::GpuError) -> String {
        if let Backend::Gpu { gpu, .. } = self {
            for _ in 0..LOST_POLLS {
                if let Err(lost @ hybrid_gpu::GpuError::DeviceLost(_)) = gpu.gpu().check() {
                    return format!("GPU: {lost} ({e})");
                }
                settle().await;
            }
        }
        format!("GPU: {e}")
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
