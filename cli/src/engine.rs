//! The engine a command runs on (`-b cpu` or `-b gpu`), with the interventions applied:
//! one stateful run (`forward` consumes tokens and returns logits, `reset` starts over), so
//! `generate`, `recall` and `loss` are written once for both engines.

use std::sync::Arc;

use crate::input::AnyResult;
use hybrid_core::{ForwardOptions, Interventions, Model, State};
use hybrid_gpu::{Gpu, GpuModel, Session, SessionOptions};

/// The flags of every command that runs a model: the interventions and the engine.
#[derive(clap::Args, Debug)]
pub struct RunFlags {
    /// Interventions, JSON or short syntax (e.g. `L1.attn=0;L2.window=64`); repeatable.
    #[arg(long)]
    pub intervene: Vec<String>,
    /// Engine: cpu or gpu.
    #[arg(short, long, default_value = "cpu")]
    pub backend: String,
}

/// A run of `m` on one engine.
pub enum Engine<'a> {
    /// The CPU reference engine: the model, its state, the set.
    Cpu(&'a Model, Box<State>, &'a Interventions),
    /// The GPU engine: a session with the set applied.
    Gpu(Box<Session>),
}

impl<'a> Engine<'a> {
    /// `backend` "cpu" or "gpu"; a GPU session is sized for `max_context` tokens, fed
    /// `chunk` at a time.
    pub fn new(
        backend: &str,
        m: &'a Model,
        iv: &'a Interventions,
        max_context: usize,
        chunk: usize,
    ) -> AnyResult<Self> {
        match backend {
            "cpu" => Ok(Engine::Cpu(m, Box::new(m.new_state()), iv)),
            "gpu" => {
                let g = Arc::new(Gpu::new_blocking()?);
                eprintln!("GPU: {} [{}]", g.adapter_string(), g.caps.summary());
                let opts = SessionOptions {
                    max_context: max_context.max(1),
                    chunk: chunk.clamp(1, 1024),
                };
                let mut s = GpuModel::new(g, m)?.session(opts)?;
                s.set_interventions(iv)?;
                Ok(Engine::Gpu(Box::new(s)))
            }
            other => Err(format!("--backend: `{other}`? (cpu or gpu)").into()),
        }
    }

    /// Consume `tokens`; the logits of every row [T, V] (`all`) or of the last one [V].
    pub fn forward(&mut self, tokens: &[u32], all: bool) -> AnyResult<Vec<f32>> {
        match self {
            Engine::Cpu(m, st, iv) => {
                let opts = ForwardOptions {
                    all_logits: all,
                    ..Default::default()
                };
                Ok(m.forward_with(st, tokens, opts, iv)?.logits)
            }
            Engine::Gpu(s) if all => Ok(s.prefill_all_blocking(tokens)?),
            Engine::Gpu(s) => Ok(s.prefill_blocking(tokens)?),
        }
    }

    /// Back to position 0 with an empty state (the set stays).
    pub fn reset(&mut self) -> AnyResult<()> {
        match self {
            Engine::Cpu(m, st, _) => **st = m.new_state(),
            Engine::Gpu(s) => s.reset()?,
        }
        Ok(())
    }

    /// Bytes of the run's cache and state.
    pub fn cache_bytes(&self) -> u64 {
        match self {
            Engine::Cpu(_, st, _) => st.bytes().total() as u64,
            Engine::Gpu(s) => {
                let r = s.memory();
                r.kv_cache + r.ssm_state + r.conv_state
            }
        }
    }
}
